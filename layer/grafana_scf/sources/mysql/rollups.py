"""Rollups: pre-aggregated tables the catalog declares, and the entries they serve.

A top-level ``rollups:`` section declares rollup tables (grain, lateness, time column,
dimensions, measures and the aggregation SQL at the grain); an entry opts in with a
``rollup:`` block naming one (``from``), mapping its parameters and ad hoc keys onto
the rollup's dimensions, and giving the SQL that answers it from ``$__rollupTable``.

Everything is checked at cold start (``CatalogError`` naming the place and the
reason): names distinct, mappings onto declared parameters, ad hoc keys and
dimensions, both SQL texts compiled dry with the macros they may use, and the grain
dividing the entry's ``min_interval``. The refresher (``refresh.py``) and the query
planner read the frozen ``Rollup`` and ``EntryRollup`` objects built here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grafana_scf.catalog_file import CatalogError
from grafana_scf.timerange import TimeFormatError, TimeRange, parse_duration_ms

if TYPE_CHECKING:
    from grafana_scf.sources.mysql.catalog import Entry
    from grafana_scf.sources.mysql.compiler import BoundSql, ColumnFilter

ROLLUP_NAME = "^[a-z][a-z0-9_]*$"
MEASURE_KINDS = ("sum", "count", "min", "max", "distinct")
"""``count``: a sum that counts source rows, at least 1 on every stored row (the refresher
checks it). With one, and sums only, a rollup's snapshots can be subtracted: the stored
rows of a span are the snapshot at its end minus the one at its start, and a dimension
value whose counts differ by nothing had no rows in between (``snapshots.py``).

``distinct``: a distinct count at the grain (``COUNT(DISTINCT key)`` per bucket and
dimension values). Summed across dimension values that split the counted keys (each
key has one value), never across buckets: such a rollup answers only at its grain."""
ROLLUP_SQL_MACROS = frozenset({"bucket", "bucketRange"})
"""The only macros a rollup's aggregation SQL may use."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,63}")
_TIME_GROUP = re.compile(r"\$__(?:timeGroup|timeGroupAlias)\(\s*bucket\s*,\s*\$__interval(?:_ms)?\s*[,)]")
DRY_SCHEMA = "labelhub_rollup"
STATE_TABLE = "rollup_state"
"""The table in the rollup schema that keeps each rollup's hash, origin and watermark."""
SNAPSHOT_SUFFIX = "__snapshot"
"""A rollup's snapshot table is ``<rollup>__snapshot`` (``snapshots.py``)."""

_IDENT_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": ROLLUP_NAME}}
ROLLUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["grain", "time_column", "dimensions", "measures", "sql"],
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "grain": {"type": "string"},
        "lateness": {"type": "integer", "minimum": 0},
        "time_column": {"type": "string", "minLength": 1},
        "dimensions": _IDENT_LIST,
        "measures": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": ROLLUP_NAME},
            "additionalProperties": {"enum": list(MEASURE_KINDS)},
        },
        "sql": {"type": "string", "minLength": 1},
        "snapshot": {"type": "string"},
    },
}
"""One rollup under the top-level ``rollups:`` section."""

_MAPPING = {"type": "object", "additionalProperties": {"type": "string", "pattern": ROLLUP_NAME}}
ENTRY_ROLLUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["from", "sql"],
    "additionalProperties": False,
    "properties": {
        "from": {"type": "string", "pattern": ROLLUP_NAME},
        "params": _MAPPING,
        "passthrough": {
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": ROLLUP_NAME},
        },
        "adhoc": _MAPPING,
        "sql": {"type": "string", "minLength": 1},
    },
}
"""An entry's ``rollup:`` block."""

ROLLUPS_SECTION: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": ROLLUP_NAME, "maxLength": 60},
    "additionalProperties": ROLLUP_SCHEMA,
}


@dataclass(frozen=True)
class Rollup:
    """A rollup table: one row per grain bucket and dimension values, one column per measure."""

    name: str
    grain_ms: int
    time_column: str
    dimensions: tuple[str, ...]
    measures: Mapping[str, str]  # measure column -> kind (sum, count, min, max, distinct)
    sql: str
    lateness: int = 0
    description: str = ""
    snapshot_ms: int = 0
    """The snapshot period (``snapshot:``), a whole multiple of the grain; 0: no snapshots."""

    @property
    def grain_s(self) -> int:
        return self.grain_ms // 1000

    @property
    def snapshot_s(self) -> int:
        return self.snapshot_ms // 1000

    @property
    def at_grain_only(self) -> bool:
        """A rollup with a ``distinct`` measure: exact only for intervals equal to the grain."""
        return "distinct" in self.measures.values()

    @property
    def count_measure(self) -> str | None:
        """The first ``count`` measure, if any."""
        return next((name for name, kind in self.measures.items() if kind == "count"), None)

    @property
    def subtractable_snapshots(self) -> bool:
        """Snapshots whose difference is the stored rows between them: kept, with a count
        measure and nothing but sums and counts."""
        kinds = set(self.measures.values())
        return bool(self.snapshot_ms) and "count" in kinds and kinds <= {"sum", "count"}

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns in order: ``bucket``, the dimensions, the measures."""
        return ("bucket", *self.dimensions, *self.measures)

    @property
    def definition_hash(self) -> str:
        """SHA-256 of what decides the tables' content (not ``lateness`` nor the description)."""
        definition: dict[str, Any] = {
            "grain_ms": self.grain_ms,
            "time_column": self.time_column,
            "dimensions": list(self.dimensions),
            "measures": dict(self.measures),
            "sql": self.sql,
        }
        if self.snapshot_ms:  # absent when not declared: rollups without snapshots keep their hash
            definition["snapshot_ms"] = self.snapshot_ms
        text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def table(self, schema: str) -> str:
        """The table, schema-qualified and quoted: ``$__rollupTable``."""
        return f"{quote_identifier(schema)}.{quote_identifier(self.name)}"

    def floor(self, when: datetime) -> datetime:
        """``when`` (naive UTC) floored to the grain, epoch-aligned."""
        seconds = int(when.replace(tzinfo=timezone.utc).timestamp())
        return from_epoch(seconds - seconds % self.grain_s)


@dataclass(frozen=True)
class EntryRollup:
    """An entry's ``rollup:`` block: which rollup answers it and how."""

    rollup: str  # the rollup's name (``from``)
    sql: str
    params: Mapping[str, str] = field(default_factory=dict)  # entry parameter -> dimension
    adhoc: Mapping[str, str] = field(default_factory=dict)  # ad hoc key -> dimension
    passthrough: frozenset[str] = frozenset()
    """Parameters the rollup SQL uses as the raw SQL does, not as a filter (e.g. a row limit)."""


@dataclass(frozen=True)
class RollupContext:
    """What the rollup macros read, beside the usual range, interval and ad hoc filters.

    ``rollup`` and ``bucket_range`` are set when compiling a rollup's aggregation SQL
    (``$__bucket``, ``$__bucketRange``); ``rollup_table`` when compiling an entry's
    rollup SQL (``$__rollupTable``).
    """

    time_range: TimeRange = TimeRange(0, 3_600_000)
    interval_ms: int = 60_000
    adhoc: tuple[ColumnFilter, ...] = ()
    rollup: Rollup | None = None
    bucket_range: tuple[datetime, datetime] | None = None
    rollup_table: str | None = None


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier (letters, digits, _ and $)")
    return f"`{name}`"


def from_epoch(seconds: int) -> datetime:
    """Epoch seconds as a naive UTC datetime."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def compile_rollup_sql(rollup: Rollup, start: datetime, end: datetime) -> BoundSql:
    """The rollup's aggregation SQL for the buckets in ``[start, end)``."""
    from grafana_scf.sources.mysql.compiler import Compiler
    from grafana_scf.sources.mysql.macros import MACROS

    context = RollupContext(rollup=rollup, bucket_range=(start, end))
    return Compiler(context, MACROS, {}).compile(rollup.sql)


# -- loading and cold-start checks ------------------------------------------------


def load_rollups(section: Mapping[str, Any] | None) -> Mapping[str, Rollup]:
    """The ``rollups:`` section as frozen rollups, each checked and compiled dry."""
    rollups = {}
    for name, raw in (section or {}).items():
        rollup = _rollup(name, raw, f"rollups.{name}")
        _check_rollup_sql(rollup, f"rollups.{name}")
        rollups[name] = rollup
    return MappingProxyType(rollups)


def _rollup(name: str, raw: Mapping[str, Any], where: str) -> Rollup:
    try:
        grain_ms = parse_duration_ms(raw["grain"])
    except TimeFormatError as exc:
        raise CatalogError(f"{where}.grain: {exc}") from None
    if grain_ms < 1000 or grain_ms % 1000 or (86_400_000 % grain_ms and grain_ms % 86_400_000):
        raise CatalogError(
            f"{where}.grain: {raw['grain']!r} must be whole seconds that divide a day, or whole days"
        )
    dimensions, measures = tuple(raw["dimensions"]), dict(raw["measures"])
    _distinct(("bucket", *dimensions, *measures), where)
    if "distinct" in measures.values() and raw.get("snapshot") is not None:
        raise CatalogError(f"{where}.snapshot: a rollup with a distinct measure cannot keep snapshots "
                           "(a distinct count is not summed across buckets)")  # fmt: skip
    return Rollup(
        name=name,
        grain_ms=grain_ms,
        time_column=raw["time_column"],
        dimensions=dimensions,
        measures=MappingProxyType(measures),
        sql=raw["sql"],
        lateness=raw.get("lateness", 0),
        description=raw.get("description", ""),
        snapshot_ms=_snapshot_ms(name, raw.get("snapshot"), grain_ms, where),
    )


def _snapshot_ms(name: str, text: str | None, grain_ms: int, where: str) -> int:
    if text is None:
        return 0
    try:
        period_ms = parse_duration_ms(text)
    except TimeFormatError as exc:
        raise CatalogError(f"{where}.snapshot: {exc}") from None
    if period_ms % grain_ms:
        raise CatalogError(
            f"{where}.snapshot: {text!r} is not a whole multiple of {name}'s grain ({grain_ms // 1000} s)"
        )
    longest = 64 - len(SNAPSHOT_SUFFIX)
    if len(name) > longest:
        raise CatalogError(
            f"{where}.snapshot: the snapshot table {name}{SNAPSHOT_SUFFIX} needs a rollup name of at "
            f"most {longest} characters"
        )
    return period_ms


def _distinct(names: tuple[str, ...], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            what = "is reserved for the bucket column" if name == "bucket" else "is used twice"
            raise CatalogError(f"{where}: column name {name!r} {what} (dimensions and measures)")
        seen.add(name)


def _check_rollup_sql(rollup: Rollup, where: str) -> None:
    from grafana_scf.sources.mysql.compiler import SqlCompileError

    try:
        bound = compile_rollup_sql(rollup, from_epoch(0), from_epoch(rollup.grain_s))
    except SqlCompileError as exc:
        raise CatalogError(f"{where}.sql: {exc}") from None
    extra = sorted(bound.used_macros - ROLLUP_SQL_MACROS)
    if extra:
        raise CatalogError(
            f"{where}.sql: uses $__{extra[0]}; a rollup's SQL may use only $__bucket and $__bucketRange"
        )
    for needed in sorted(ROLLUP_SQL_MACROS - bound.used_macros):
        raise CatalogError(f"{where}.sql: never uses $__{needed}")


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


def _code_only(sql: str) -> str:
    """``sql`` without comments, so a commented-out group clause does not count."""
    return re.sub(r"(--[ \t][^\n]*|#[^\n]*|/\*.*?\*/)", " ", sql, flags=re.S)
