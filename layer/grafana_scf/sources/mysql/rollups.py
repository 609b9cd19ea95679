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

import dataclasses
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
MEASURE_AGGREGATE: Mapping[str, str] = MappingProxyType(
    {"sum": "SUM", "count": "SUM", "min": "MIN", "max": "MAX"}
)
"""How stored rows of a measure combine across buckets or dimension values (a ``distinct``
never does)."""
ROLLUP_SQL_MACROS = frozenset({"bucket", "bucketRange"})
"""The only macros a rollup's aggregation SQL may use."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,63}")
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
        "coarser": {
            "type": "object",
            "propertyNames": {"pattern": ROLLUP_NAME, "maxLength": 60},
            "additionalProperties": {**_IDENT_LIST, "uniqueItems": True},
        },
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
    parent: str = ""
    """For a rollup declared under another's ``coarser:``, that rollup: same grain, time
    column, measures and snapshots, fewer dimensions, its SQL the parent's regrouped."""

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
    coarser: tuple[str, ...] = ()
    """The ``coarser:`` rollups of ``rollup`` whose dimensions this entry's rollup SQL can do
    without, fewest dimensions first (set at load, ``coarser_choices``): a request that
    filters on none of the dimensions one lacks is answered from it."""


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


def state_table(schema: str) -> str:
    """The rollup schema's ``rollup_state`` table, schema-qualified and quoted."""
    return f"{quote_identifier(schema)}.{quote_identifier(STATE_TABLE)}"


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier (letters, digits, _ and $)")
    return f"`{name}`"


EPOCH = datetime(1970, 1, 1)
"""The epoch as a naive UTC datetime: where a rollup without an origin starts."""


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
    rollups: dict[str, Rollup] = {}
    for name, raw in (section or {}).items():
        rollup = _rollup(name, raw, f"rollups.{name}")
        _check_rollup_sql(rollup, f"rollups.{name}")
        rollups[name] = rollup
    for name, raw in (section or {}).items():
        for child, dimensions in (raw.get("coarser") or {}).items():
            where = f"rollups.{name}.coarser.{child}"
            if child in rollups:
                raise CatalogError(f"{where}: the name is already used by a rollup")
            rollups[child] = _coarser(rollups[name], child, tuple(dimensions), where)
    return MappingProxyType(rollups)


def _coarser(parent: Rollup, name: str, dimensions: tuple[str, ...], where: str) -> Rollup:
    """A rollup of ``parent`` with fewer dimensions: its SQL regroups the parent's."""
    extra = [d for d in dimensions if d not in parent.dimensions]
    if extra:
        raise CatalogError(f"{where}: {extra[0]!r} is not a dimension of {parent.name}")
    if len(dimensions) == len(parent.dimensions):
        raise CatalogError(f"{where}: keeps every dimension of {parent.name}; a coarser rollup drops some")
    if parent.at_grain_only:
        raise CatalogError(f"{where}: {parent.name} has a distinct measure, which cannot be summed "
                           "across the dimensions a coarser rollup drops")  # fmt: skip
    kept = ", ".join(f"src.{quote_identifier(d)}" for d in dimensions)
    measures = ", ".join(
        f"{MEASURE_AGGREGATE[kind]}(src.{quote_identifier(m)}) AS {quote_identifier(m)}"
        for m, kind in parent.measures.items()
    )
    if parent.snapshot_ms:  # the copy keeps the parent's snapshots, in a table of its own
        _check_snapshot_name(name, where)
    return dataclasses.replace(
        parent,
        name=name,
        dimensions=dimensions,
        sql=f"SELECT src.bucket, {kept}, {measures}\nFROM (\n{parent.sql.strip()}\n) AS src\n"
        f"GROUP BY src.bucket, {kept}",
        description=f"{parent.name} by {', '.join(dimensions)} only",
        parent=parent.name,
    )


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
    _check_snapshot_name(name, f"{where}.snapshot")
    return period_ms


def _check_snapshot_name(name: str, where: str) -> None:
    """Refuse a rollup name too long for its snapshot table's name to fit an identifier."""
    longest = 64 - len(SNAPSHOT_SUFFIX)
    if len(name) > longest:
        raise CatalogError(
            f"{where}: the snapshot table {name}{SNAPSHOT_SUFFIX} needs a rollup name of at "
            f"most {longest} characters"
        )


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
