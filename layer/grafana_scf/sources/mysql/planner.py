"""Transparent rollup planning: answer an entry from its rollup when that is exact.

An entry with a ``rollup:`` block is *eligible* when planning is on, the rollup is
fresh (``rollup_state`` holds the catalog's definition hash and a watermark; read for
every rollup at once and shared for ``ROLLUP_STATE_TTL_S``, ``rollup_states.py``), every
parameter given and every ad hoc filter maps to a dimension, and (time series) the
interval is a whole multiple of the grain. Otherwise it is answered raw, with the
reason in ``meta.custom.reason``.

Two plans, chosen by the rollup's measures:

- **split** (a rollup with a distinct measure, whose stored buckets cannot be added
  together, for an entry whose raw SQL reads the range only through ``$__timeFilter``,
  at the grain): three pieces
  with interval-aligned cuts, so no output bucket mixes sources. Head
  ``[from, h)`` raw, middle ``[h, m)`` from the rollup table, tail ``[m, to]`` raw,
  where ``h`` is the first interval boundary at or after ``from`` and ``m`` the last
  one at or before ``min(watermark, to + 1 s)``. The rows are concatenated in time
  order and shaped once (fill over the whole range).
- **real time** (every other rollup: time series over their range, state over time whose
  raw SQL reads the whole history, e.g. ``$__timeFrom()`` as a base, or no range at all,
  and tables): one statement, the entry's
  rollup SQL, where ``$__rollupTable`` is the rollup table's complete buckets before
  the watermark united with the rollup's own SQL run live over the rest, at
  one-second buckets. The grain buckets holding ``from`` and ``to`` are also read
  live at one-second buckets, so the range edges are exact to the second. The stored
  history before ``from`` is read from the rollup's latest snapshot before it, when
  the rollup keeps snapshots (``snapshots.py``), plus the stored buckets after that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from grafana_scf.errors import QueryError, ServiceError
from grafana_scf.sources.mysql.compiler import BoundSql, Compiler, SqlCompileError
from grafana_scf.sources.mysql.database import QueryResult
from grafana_scf.sources.mysql.macros import MACROS
from grafana_scf.sources.mysql.realtime_table import WHOLE_SPAN, real_time_table
from grafana_scf.sources.mysql.rollup_states import RollupState, RollupStates
from grafana_scf.sources.mysql.rollups import EPOCH, Rollup, from_epoch
from grafana_scf.timerange import TimeRange

if TYPE_CHECKING:
    from grafana_scf.sources.mysql.catalog import Entry
    from grafana_scf.sources.mysql.compiler import ColumnFilter

# Macros that read the range other than through $__timeFilter: a split plan would change them.
_WHOLE_RANGE_MACROS = frozenset({"timeFrom", "timeTo", "unixEpochFrom", "unixEpochTo", "unixEpochFilter"})
# Every macro that reads the range: an entry using none answers the state now, whatever the range.
_RANGE_MACROS = _WHOLE_RANGE_MACROS | {"timeFilter", "timeGroup", "timeGroupAlias", "unixEpochGroup",
                                       "unixEpochGroupAlias"}  # fmt: skip
_NATIVE_INT_TYPES = {1, 2, 3, 8, 9, 13}
_DECIMAL_TYPES = {0, 246}

Runner = Callable[[BoundSql], QueryResult]


@dataclass(frozen=True)
class PlannedAnswer:
    """The merged result and what ``meta.custom`` says about it."""

    result: QueryResult
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Context:
    """A macro context: the usual range, interval and ad hoc filters, plus ``$__rollupTable``."""

    time_range: TimeRange
    interval_ms: int
    adhoc: tuple[ColumnFilter, ...] = ()
    rollup_table: str | None = None


class RollupPlanner:
    """Plans and runs the queries of entries that declare a ``rollup:`` block."""

    def __init__(self, rollups: dict[str, Rollup], states: RollupStates, enabled: bool) -> None:
        """``states`` reads the rollup schema's ``rollup_state``; the tables are in its schema."""
        self.rollups = rollups
        self.states = states
        self.schema = states.schema
        self.enabled = enabled

    def answer(
        self,
        entry: Entry,
        raw: BoundSql,
        values: dict[str, Any],
        context: Any,
        filter_keys: Sequence[str],
        run: Runner,
        fallback: Runner | None = None,
    ) -> PlannedAnswer:
        """The entry's answer, planned when eligible; raw (with the reason) otherwise, through
        ``fallback`` when given (the shared results cache), else ``run``."""
        spec = entry.rollup
        assert spec is not None
        rollup = self.rollups[spec.rollup]
        reason, state_sql = self._ineligible(entry, rollup, values, context, filter_keys)
        state: RollupState | None = None
        if reason is None:
            rollup, state, reason, state_sql = self._choose(entry, values, filter_keys)
        if reason is not None or state is None or state.watermark is None:
            return _raw((fallback or run)(raw), reason or "no watermark", state_sql)
        adhoc = _dimension_filters(context.adhoc, entry, spec.adhoc)
        range_only = "timeFilter" in raw.used_macros and not raw.used_macros & _WHOLE_RANGE_MACROS
        if rollup.at_grain_only:  # the real-time plan sums stored buckets together
            if range_only and entry.format == "timeseries":
                return self._split(entry, rollup, state, raw, values, context, adhoc, run, state_sql)
            reason = f"{rollup.name}'s distinct counts serve only time series over their range"
            return _raw((fallback or run)(raw), reason, state_sql)
        # One statement, whose live edges are a grain bucket each (a split plan's raw head
        # and tail are an interval each, and its pieces two or three statements).
        since = from_epoch(context.time_range.from_ms // 1000) if range_only else None
        reads = bool(raw.used_macros & _RANGE_MACROS)
        return self._real_time(entry, rollup, state, values, context, adhoc, run, state_sql, since, reads)

    # -- eligibility -------------------------------------------------------------

    def _ineligible(
        self, entry: Entry, rollup: Rollup, values: dict[str, Any], context: Any, keys: Sequence[str]
    ) -> tuple[str | None, str]:
        spec = entry.rollup
        assert spec is not None
        if not self.enabled:
            return "rollup planning is off (ROLLUP_PLANNING=false)", ""
        if rollup.at_grain_only and context.interval_ms != rollup.grain_ms:
            return (
                f"interval {context.interval_ms // 1000} s is not {rollup.name}'s grain "
                f"({rollup.grain_s} s): its distinct counts add up only within one bucket",
                "",
            )
        if entry.format == "timeseries" and context.interval_ms % rollup.grain_ms:
            return (
                f"interval {context.interval_ms // 1000} s is not a whole multiple of "
                f"{rollup.name}'s grain ({rollup.grain_s} s)",
                "",
            )
        for name, value in values.items():
            if name not in spec.params and name not in spec.passthrough and value not in (None, "", [], ()):
                return f"parameter {name!r} does not map to a dimension of {rollup.name}", ""
        for key in keys:
            if key not in spec.adhoc:
                return f"ad hoc filter {key!r} does not map to a dimension of {rollup.name}", ""
        return None, ""

    def _choose(
        self, entry: Entry, values: dict[str, Any], keys: Sequence[str]
    ) -> tuple[Rollup, RollupState | None, str | None, str]:
        """The coarsest rollup that keeps every dimension the request filters on and is
        fresh, else the entry's own: (rollup, its state, why none is usable, the state read)."""
        spec = entry.rollup
        assert spec is not None
        candidates = [self.rollups[name] for name in spec.coarser]
        candidates = [r for r in candidates if _keeps_filtered(r, spec, values, keys)]
        candidates.append(self.rollups[spec.rollup])
        try:
            read = self.states.read()
        except ServiceError as exc:
            return candidates[-1], None, f"rollup state unavailable: {exc.message}", ""
        for rollup in candidates:
            state, reason = _usable(rollup, read.states.get(rollup.name))
            if reason is None:
                break
        return rollup, state, reason, read.statement

    # -- split plan: head raw, middle rollup, tail raw ------------------------------

    def _split(
        self,
        entry: Entry,
        rollup: Rollup,
        state: RollupState,
        raw: BoundSql,
        values: dict[str, Any],
        context: Any,
        adhoc: tuple[ColumnFilter, ...],
        run: Runner,
        state_sql: str,
    ) -> PlannedAnswer:
        tr, width = context.time_range, context.interval_ms
        assert state.watermark is not None
        # The head is raw up to the first interval boundary at or after both the range start
        # and the rollup's origin (rows before the origin are not in the table).
        head_end = -(-max(tr.from_ms, _epoch_ms(state.origin)) // width) * width
        limit = min(_epoch_ms(state.watermark), (tr.to_ms // 1000 + 1) * 1000)
        middle_end = limit // width * width
        if middle_end <= head_end:
            return _raw(
                run(raw), "no whole interval lies between the range start and the watermark", state_sql
            )
        pieces: list[tuple[str, QueryResult]] = []
        if head_end > tr.from_ms:
            pieces.append(("raw", run(self._raw_piece(entry, context, values, tr.from_ms, head_end - 1000))))
        middle = TimeRange(head_end, middle_end - 1000)
        rollup_ctx = _Context(middle, width, adhoc, rollup.table(self.schema))
        pieces.append(("rollup", run(_compile(entry.rollup.sql, rollup_ctx, values))))  # type: ignore[union-attr]
        if middle_end <= tr.to_ms:
            pieces.append(("raw", run(self._raw_piece(entry, context, values, middle_end, tr.to_ms))))
        return _merge(pieces, state_sql)

    @staticmethod
    def _raw_piece(
        entry: Entry, context: Any, values: dict[str, Any], start_ms: int, end_ms: int
    ) -> BoundSql:
        piece = _Context(TimeRange(start_ms, end_ms), context.interval_ms, context.adhoc)
        return _compile(entry.sql, piece, values)

    # -- real-time plan: rollup before the watermark, live after --------------------

    def _real_time(
        self,
        entry: Entry,
        rollup: Rollup,
        state: RollupState,
        values: dict[str, Any],
        context: Any,
        adhoc: tuple[ColumnFilter, ...],
        run: Runner,
        state_sql: str,
        since: dt.datetime | None = None,
        reads_range: bool = True,
    ) -> PlannedAnswer:
        """``since``: the range start, for an entry that reads nothing before it (a table
        over the range): the derived table then holds nothing earlier either. An entry that
        reads no range at all (the state now) gets the derived table of an empty range at
        the watermark: the latest snapshot, the stored rows after it, and the live rows
        from the watermark on, with no live edges."""
        assert state.watermark is not None
        width_s = context.interval_ms // 1000 if entry.format == "timeseries" else None
        if width_s is None:
            # A table compares ``bucket`` with the range only: the whole span is one interval.
            width_s = WHOLE_SPAN
        tr = context.time_range
        if not reads_range:
            tr = TimeRange(_epoch_ms(state.watermark), _epoch_ms(state.watermark))
        table, params = real_time_table(
            rollup, self.schema, state.watermark, tr, width_s, state.origin, since
        )
        ctx = _Context(context.time_range, context.interval_ms, adhoc, table)
        bound = _compile(entry.rollup.sql, ctx, values)  # type: ignore[union-attr]
        bound.params.update(params)
        result = run(bound)
        return PlannedAnswer(result, {"rollup": "mixed", "statements": _statements(state_sql, [result])})


# -- helpers ----------------------------------------------------------------------


def _usable(rollup: Rollup, state: RollupState | None) -> tuple[RollupState | None, str | None]:
    """``(state, None)`` when the planner can read ``rollup``'s table, else ``(None, why not)``."""
    if state is None:
        return None, f"{rollup.name} has not been built"
    if state.definition_hash != rollup.definition_hash:
        return None, f"{rollup.name} is stale (its definition changed; rebuild it)"
    if state.watermark is None:
        return None, f"{rollup.name} has no watermark (being built, or withdrawn for a rebuild)"
    return state, None


def _compile(sql: str, context: _Context, values: dict[str, Any]) -> BoundSql:
    try:
        return Compiler(context, MACROS, values).compile(sql)
    except SqlCompileError as exc:
        raise QueryError(f"rollup plan: {exc}", HTTPStatus.INTERNAL_SERVER_ERROR, "plugin") from None


def _keeps_filtered(rollup: Rollup, spec: Any, values: dict[str, Any], keys: Sequence[str]) -> bool:
    """Whether ``rollup`` has every dimension the request's parameters and ad hoc filters set."""
    dimensions = set(rollup.dimensions)
    for name, value in values.items():
        if name in spec.params and value not in (None, "", [], ()) and spec.params[name] not in dimensions:
            return False
    return all(spec.adhoc[key] in dimensions for key in keys)


def _dimension_filters(
    filters: tuple[ColumnFilter, ...], entry: Entry, mapping: Any
) -> tuple[ColumnFilter, ...]:
    """The request's resolved ad hoc filters, moved from the entry's columns onto dimensions."""
    by_column = {column: key for key, column in entry.adhoc.items()}
    return tuple(dataclasses.replace(f, column_sql=mapping[by_column[f.column_sql]]) for f in filters)


def _raw(result: QueryResult, reason: str, state_sql: str) -> PlannedAnswer:
    statements = _statements(state_sql, [result])
    return PlannedAnswer(result, {"rollup": "raw", "reason": reason, "statements": statements})


def _statements(state_sql: str, results: Sequence[QueryResult]) -> list[str]:
    return ([state_sql] if state_sql else []) + [r.executed for r in results]


def _merge(pieces: list[tuple[str, QueryResult]], state_sql: str) -> PlannedAnswer:
    """Concatenate the pieces (disjoint, in time order), values typed as the raw SQL types them."""
    reference = next((r for kind, r in pieces if kind == "raw"), pieces[0][1])
    names = [c[0] for c in reference.columns]
    rows: list[tuple[Any, ...]] = []
    for _, result in pieces:
        if [c[0] for c in result.columns] != names:
            got = [c[0] for c in result.columns]
            message = f"rollup plan: the rollup SQL answers columns {got}, the raw SQL {names}"
            raise QueryError(message, HTTPStatus.INTERNAL_SERVER_ERROR, "plugin")
        rows.extend(_conform(result.rows, result.columns, reference.columns))
    kinds = {kind for kind, _ in pieces}
    merged = QueryResult(
        reference.columns,
        rows,
        any(r.truncated for _, r in pieces),
        ";\n".join(r.executed for _, r in pieces),
    )
    mode = "rollup" if kinds == {"rollup"} else "mixed"
    return PlannedAnswer(
        merged, {"rollup": mode, "statements": _statements(state_sql, [r for _, r in pieces])}
    )


def _conform(
    rows: list[tuple[Any, ...]], columns: list[tuple[str, int]], reference: list[tuple[str, int]]
) -> list[tuple[Any, ...]]:
    """Rows of one piece with numbers in the Python types the reference piece's columns give."""
    fixes = []
    for index, ((_, code), (_, wanted)) in enumerate(zip(columns, reference)):
        if code == wanted:
            continue
        if wanted in _NATIVE_INT_TYPES:
            fixes.append((index, _to_int))
        elif wanted in _DECIMAL_TYPES:
            fixes.append((index, _to_decimal))
    if not fixes:
        return rows
    fixed = []
    for row in rows:
        values = list(row)
        for index, convert in fixes:
            values[index] = convert(values[index])
        fixed.append(tuple(values))
    return fixed


def _to_int(value: Any) -> Any:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _to_decimal(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int) else value


def _epoch_ms(value: dt.datetime) -> int:
    return (value - EPOCH) // dt.timedelta(milliseconds=1)
