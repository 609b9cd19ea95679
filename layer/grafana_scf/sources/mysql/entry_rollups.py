"""An entry's ``rollup:`` block: read, checked against the rollup it names, and the
``coarser:`` rollups of that rollup its SQL can read.

Checked once at cold start (``catalog.load_catalog``): the mappings name parameters and
ad hoc keys of the entry and dimensions of the rollup, the rollup SQL compiles against
``$__rollupTable`` and uses what it maps, and a time series groups by the interval.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grafana_scf.catalog_file import CatalogError
from grafana_scf.sources.mysql.rollups import (
    DRY_SCHEMA,
    ROLLUP_SQL_MACROS,
    EntryRollup,
    Rollup,
    RollupContext,
)

if TYPE_CHECKING:
    from grafana_scf.sources.mysql.catalog import Entry

_TIME_GROUP = re.compile(r"\$__(?:timeGroup|timeGroupAlias)\(\s*bucket\s*,\s*\$__interval(?:_ms)?\s*[,)]")


def entry_rollup(raw: Mapping[str, Any] | None) -> EntryRollup | None:
    """An entry's ``rollup:`` block as read (checked later by ``check_entry_rollup``)."""
    if raw is None:
        return None
    return EntryRollup(
        rollup=raw["from"],
        sql=raw["sql"],
        params=MappingProxyType(dict(raw.get("params") or {})),
        adhoc=MappingProxyType(dict(raw.get("adhoc") or {})),
        passthrough=frozenset(raw.get("passthrough") or ()),
    )


def check_entry_rollup(entry: Entry, rollups: Mapping[str, Rollup], where: str) -> None:
    """Refuse an entry's ``rollup:`` block that the rollup it names cannot answer."""
    spec = entry.rollup
    if spec is None:
        return
    where = f"{where}.rollup"
    rollup = rollups.get(spec.rollup)
    if rollup is None:
        known = ", ".join(sorted(rollups)) or "none"
        raise CatalogError(f"{where}.from: no rollup named {spec.rollup!r} (rollups: {known})")
    _check_mapping(spec.params, entry.params, rollup, f"{where}.params", "not a parameter of the entry")
    _check_mapping(spec.adhoc, entry.adhoc, rollup, f"{where}.adhoc", "not an ad hoc key of the entry")
    for name in sorted(spec.passthrough):
        if name not in entry.params:
            raise CatalogError(f"{where}.passthrough: {name!r} is not a parameter of the entry")
        if name in spec.params:
            raise CatalogError(f"{where}.passthrough: {name!r} is also mapped to a dimension in params")
    if rollup.at_grain_only and entry.format != "timeseries":
        raise CatalogError(
            f"{where}.from: {rollup.name} has a distinct measure, exact only at its grain: "
            "it can answer time series only"
        )
    if entry.format == "timeseries":
        if entry.min_interval_ms % rollup.grain_ms:
            raise CatalogError(
                f"{where}: min_interval ({entry.min_interval_ms // 1000} s) is not a multiple of "
                f"{rollup.name}'s grain ({rollup.grain_s} s)"
            )
        if not _TIME_GROUP.search(_code_only(spec.sql)):
            raise CatalogError(f"{where}.sql: must group by $__timeGroupAlias(bucket, $__interval)")
    _dry_compile_entry_sql(entry, spec, rollup, where)


def coarser_choices(entry: Entry, rollups: Mapping[str, Rollup]) -> tuple[str, ...]:
    """The ``coarser:`` rollups of the entry's rollup that its rollup SQL can read, fewest
    dimensions first: those whose missing dimensions the SQL names only through filters
    (``$__inFilter`` of a mapped parameter, ``$__adhocFilters()``), which compile to
    ``TRUE`` when the request sets none of them, as the planner then requires."""
    from grafana_scf.sources.mysql.catalog import sample_value
    from grafana_scf.sources.mysql.compiler import Compiler
    from grafana_scf.sources.mysql.macros import MACROS

    spec = entry.rollup
    if spec is None:
        return ()
    parent = rollups[spec.rollup]
    values = {
        name: None if name in spec.params else sample_value(param) for name, param in entry.params.items()
    }
    unfiltered = Compiler(RollupContext(rollup_table=parent.table(DRY_SCHEMA)), MACROS, values).compile(
        spec.sql
    )
    # Column names are not case-sensitive in MySQL: compare them lowercased.
    code = _code_only(unfiltered.text, strings=True).lower()
    words = set(re.findall(r"[a-z_][a-z0-9_$]*", code))
    children = [r for r in rollups.values() if r.parent == parent.name]
    every = {d.lower() for d in parent.dimensions}
    usable = [r for r in children if not (every - {d.lower() for d in r.dimensions}) & words]
    return tuple(r.name for r in sorted(usable, key=lambda r: (len(r.dimensions), r.name)))


def _check_mapping(
    mapping: Mapping[str, str], declared: Mapping[str, Any], rollup: Rollup, where: str, missing: str
) -> None:
    for key, dimension in mapping.items():
        if key not in declared:
            raise CatalogError(f"{where}.{key}: {missing}")
        if dimension not in rollup.dimensions:
            dims = ", ".join(rollup.dimensions)
            raise CatalogError(f"{where}.{key}: {dimension!r} is not a dimension of {rollup.name} ({dims})")


def _dry_compile_entry_sql(entry: Entry, spec: EntryRollup, rollup: Rollup, where: str) -> None:
    from grafana_scf.sources.mysql.catalog import sample_value
    from grafana_scf.sources.mysql.compiler import ColumnFilter, Compiler, SqlCompileError
    from grafana_scf.sources.mysql.macros import MACROS

    values = {name: sample_value(entry.params[name]) for name in entry.params}
    adhoc = tuple(ColumnFilter(dimension, "=", ("x",)) for dimension in spec.adhoc.values())
    context = RollupContext(adhoc=adhoc, rollup_table=rollup.table(DRY_SCHEMA))
    try:
        bound = Compiler(context, MACROS, values).compile(spec.sql)
    except SqlCompileError as exc:
        raise CatalogError(f"{where}.sql: {exc}") from None
    if "rollupTable" not in bound.used_macros:
        raise CatalogError(f"{where}.sql: never reads $__rollupTable")
    used_unmapped = sorted((bound.used_params - set(spec.params) - spec.passthrough) & set(entry.params))
    if used_unmapped:
        raise CatalogError(
            f"{where}.sql: uses parameter {used_unmapped[0]!r}, neither mapped by rollup.params "
            "nor listed in rollup.passthrough"
        )
    unused = sorted(set(spec.params) - bound.used_params)
    if unused:
        raise CatalogError(f"{where}.params.{unused[0]}: mapped but the rollup SQL never uses it")
    unused = sorted(spec.passthrough - bound.used_params)
    if unused:
        raise CatalogError(f"{where}.passthrough: {unused[0]!r} is listed but the rollup SQL never uses it")
    if spec.adhoc and "adhocFilters" not in bound.used_macros:
        raise CatalogError(f"{where}: maps ad hoc keys but the SQL has no $__adhocFilters()")
    if ROLLUP_SQL_MACROS & bound.used_macros:
        raise CatalogError(f"{where}.sql: $__bucket and $__bucketRange belong in the rollup's own SQL")


def _code_only(sql: str, strings: bool = False) -> str:
    """``sql`` without comments, so a commented-out group clause does not count (and with
    ``strings``, without quoted strings, so a value is not taken for a column)."""
    code = re.sub(r"(--[ \t][^\n]*|#[^\n]*|/\*.*?\*/)", " ", sql, flags=re.S)
    return re.sub(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"", " ", code) if strings else code
