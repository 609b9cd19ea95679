"""The MySQL catalog: metrics, annotation sources, variables and ad hoc filter keys.

Loaded once at cold start into frozen dataclasses. The document is checked
against ``CATALOG_SCHEMA``, then every entry's SQL is compiled once with dry
values so an unknown macro, a bad macro argument, an undeclared ``:name`` or
a declared-but-unused parameter fails the cold start with the entry named.

Parameters used by several entries are defined once under the top-level
``params`` and named from an entry: ``params: [project]``, or
``params: {limit: {use: limit, default: 20}}`` to override some keys. A name
that is not defined there, or a definition no entry uses, is a ``CatalogError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from grafana_scf.catalog_file import CatalogError, SharedDefinitions, catalog_schema
from grafana_scf.protocol import schema_message
from grafana_scf.sources.mysql.compiler import ColumnFilter, Compiler, SqlCompileError
from grafana_scf.sources.mysql.entry_rollups import check_entry_rollup, coarser_choices, entry_rollup
from grafana_scf.sources.mysql.macros import MACROS
from grafana_scf.sources.mysql.params import Param
from grafana_scf.sources.mysql.rollups import (
    ENTRY_ROLLUP_SCHEMA,
    ROLLUPS_SECTION,
    EntryRollup,
    Rollup,
    load_rollups,
)
from grafana_scf.timerange import TimeFormatError, TimeRange, parse_duration_ms

_NAME = "^[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*$"
_PARAM_NAME = "^[a-z][a-z0-9_]*$"
_PARAM_KEYS = {
    "type": {"enum": ["string", "integer", "number", "boolean"]},
    "multi": {"type": "boolean"},
    "required": {"type": "boolean"},
    "default": {},
    "enum": {"type": "array", "minItems": 1},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"type": "integer", "minimum": 1},
    "label": {"type": "string"},
    "description": {"type": "string"},
    "options_from": {"type": "string"},
}
_PARAM = {"type": "object", "additionalProperties": False, "properties": _PARAM_KEYS}
# In an entry: a declaration, or ``use: <shared name>`` plus keys that override it.
_ENTRY_PARAM = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"use": {"type": "string", "pattern": _PARAM_NAME}, **_PARAM_KEYS},
}


def _params_by_name(param: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "propertyNames": {"pattern": _PARAM_NAME}, "additionalProperties": param}


# An entry's ``params``: a list of shared names, or a mapping of declarations.
_ENTRY_PARAMS = {
    "if": {"type": "array"},
    "then": {"type": "array", "uniqueItems": True, "items": {"type": "string", "pattern": _PARAM_NAME}},
    "else": _params_by_name(_ENTRY_PARAM),
}
_SHARED_PARAMS = _params_by_name(_PARAM)
_COMMON = {
    "title": {"type": "string"},
    "description": {"type": "string"},
    "sql": {"type": "string", "minLength": 1},
    "params": _ENTRY_PARAMS,
    "adhoc": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
    "timeout_ms": {"type": "integer", "minimum": 1},
    "max_rows": {"type": "integer", "minimum": 1},
}  # fmt: skip
_ENTRY = {
    "type": "object",
    "required": ["sql"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "format": {"enum": ["timeseries", "table"]},
        "unit": {"type": "string"},
        "min_interval": {"type": "string"},
        "rollup": ENTRY_ROLLUP_SCHEMA,
    },
}
_SIMPLE_ENTRY = {"type": "object", "required": ["sql"], "additionalProperties": False,
                 "properties": _COMMON}  # fmt: skip
_ADHOC_KEY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "label": {"type": "string"},
        "type": {"enum": ["string", "number"]},
        "values_sql": {"type": "string"},
        "values": {"type": "array", "items": {"type": ["string", "number"]}},
    },
}


CATALOG_SCHEMA: dict[str, Any] = catalog_schema(
    "mysql",
    {
        "metrics": _ENTRY,
        "annotations": _SIMPLE_ENTRY,
        "variables": _SIMPLE_ENTRY,
        "adhoc_filters": _ADHOC_KEY,
    },
    _NAME,
    shared={"params": _SHARED_PARAMS, "rollups": ROLLUPS_SECTION},
)


@dataclass(frozen=True)
class AdhocKey:
    """A key ad hoc filters may use; its values come from SQL or a fixed list."""

    name: str
    label: str
    type: str = "string"
    values_sql: str | None = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One servable catalog entry (kind: metric, annotation or variable)."""

    name: str
    kind: str
    sql: str
    title: str
    description: str = ""
    format: str = "timeseries"
    unit: str | None = None
    min_interval_ms: int = 1000
    params: Mapping[str, Param] = field(default_factory=dict)
    adhoc: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int | None = None
    max_rows: int | None = None
    rollup: EntryRollup | None = None


@dataclass(frozen=True)
class Catalog:
    """Every entry by name, plus the ad hoc keys and the rollups."""

    entries: Mapping[str, Entry]
    adhoc_keys: Mapping[str, AdhocKey]
    rollups: Mapping[str, Rollup] = field(default_factory=lambda: MappingProxyType({}))

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.kind == kind]


@dataclass(frozen=True)
class DryContext:
    """Stand-in values used to compile every entry once at load time."""

    time_range: TimeRange = TimeRange(0, 3_600_000)
    interval_ms: int = 60_000
    adhoc: tuple[ColumnFilter, ...] = ()


_KINDS = (("metrics", "metric"), ("annotations", "annotation"), ("variables", "variable"))


def load_catalog(document: Mapping[str, Any]) -> Catalog:
    """Validate a parsed catalog document and build the frozen catalog."""
    _check_schema(document)
    adhoc_keys = {
        name: AdhocKey(
            name=name,
            label=raw.get("label", name),
            type=raw.get("type", "string"),
            values_sql=raw.get("values_sql"),
            values=tuple(raw.get("values", ())),
        )
        for name, raw in (document.get("adhoc_filters") or {}).items()
    }
    shared = SharedDefinitions("params", document.get("params"))
    entries: dict[str, Entry] = {}
    for section, kind in _KINDS:
        for name, raw in (document.get(section) or {}).items():
            if name in entries:
                raise CatalogError(f"{section}.{name}: the name is already used by a {entries[name].kind}")
            entries[name] = _entry(name, kind, raw, f"{section}.{name}", shared)
    shared.check_all_used()
    rollups = load_rollups(document.get("rollups"))
    _cross_check(Catalog(MappingProxyType(entries), MappingProxyType(adhoc_keys), rollups))
    for name, entry in entries.items():
        if entry.rollup is not None:
            spec = dataclasses.replace(entry.rollup, coarser=coarser_choices(entry, rollups))
            entries[name] = dataclasses.replace(entry, rollup=spec)
    return Catalog(MappingProxyType(entries), MappingProxyType(adhoc_keys), rollups)


def _check_schema(document: Mapping[str, Any]) -> None:
    import fastjsonschema

    from grafana_scf.validators import validator

    try:
        validator("catalog_mysql")(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise CatalogError(schema_message(exc, "catalog")) from None


def _entry(name: str, kind: str, raw: Mapping[str, Any], where: str, shared: SharedDefinitions) -> Entry:
    try:
        min_interval = parse_duration_ms(raw.get("min_interval", "1s"))
    except TimeFormatError as exc:
        raise CatalogError(f"{where}.min_interval: {exc}") from None
    params = _params(raw.get("params") or {}, f"{where}.params", shared)
    fmt = raw.get("format", "timeseries") if kind == "metric" else kind
    return Entry(
        name=name,
        kind=kind,
        sql=raw["sql"],
        title=raw.get("title", name),
        description=raw.get("description", ""),
        format=fmt,
        unit=raw.get("unit"),
        min_interval_ms=min_interval,
        params=MappingProxyType(params),
        adhoc=MappingProxyType(dict(raw.get("adhoc") or {})),
        timeout_ms=raw.get("timeout_ms"),
        max_rows=raw.get("max_rows"),
        rollup=entry_rollup(raw.get("rollup")),
    )


def _params(raw: list[str] | Mapping[str, Any], where: str, shared: SharedDefinitions) -> dict[str, Param]:
    """An entry's parameters: shared names (a list), or declarations that may ``use`` one."""
    if isinstance(raw, list):
        return {p: Param.from_dict(p, shared.use(p, f"{where}.{p}")) for p in raw}
    params = {}
    for p, spec in raw.items():
        if "use" in spec:
            overrides = {k: v for k, v in spec.items() if k != "use"}
            spec = {**shared.use(spec["use"], f"{where}.{p}.use"), **overrides}
        params[p] = Param.from_dict(p, spec)
    return params


def _cross_check(catalog: Catalog) -> None:
    variables = {e.name for e in catalog.of_kind("variable")}
    for entry in catalog.entries.values():
        where = f"{entry.kind}s.{entry.name}" if entry.kind != "annotation" else f"annotations.{entry.name}"
        for key in entry.adhoc:
            if key not in catalog.adhoc_keys:
                raise CatalogError(f"{where}.adhoc.{key}: not declared in adhoc_filters")
        for param in entry.params.values():
            if param.options_from and param.options_from not in variables:
                raise CatalogError(
                    f"{where}.params.{param.name}.options_from: no variable named {param.options_from!r}"
                )
            if param.default is not None:
                try:
                    param.resolve({param.name: param.default})
                except ValueError as exc:
                    raise CatalogError(f"{where}.params.{param.name}.default {exc}") from None
        _dry_compile(entry, where)
        check_entry_rollup(entry, catalog.rollups, where)
    for adhoc_key in catalog.adhoc_keys.values():
        if adhoc_key.values_sql:
            lister = Entry(adhoc_key.name, "adhoc", adhoc_key.values_sql, adhoc_key.label)
            _dry_compile(lister, f"adhoc_filters.{adhoc_key.name}")


def _dry_compile(entry: Entry, where: str) -> None:
    values = {name: sample_value(param) for name, param in entry.params.items()}
    adhoc = tuple(ColumnFilter(column, "=", ("x",)) for column in entry.adhoc.values())
    try:
        bound = Compiler(DryContext(adhoc=adhoc), MACROS, values).compile(entry.sql)
    except SqlCompileError as exc:
        raise CatalogError(f"{where}.sql: {exc}") from None
    unused = sorted(set(entry.params) - bound.used_params)
    if unused:
        raise CatalogError(f"{where}: declares parameter {unused[0]!r} but the SQL never uses it")
    if entry.adhoc and "adhocFilters" not in bound.used_macros:
        raise CatalogError(f"{where}: declares adhoc columns but the SQL has no $__adhocFilters()")


def sample_value(param: Param) -> Any:
    value = {"string": "x", "integer": 1, "number": 1.0, "boolean": True}[param.type]
    return [value] if param.multi else value
