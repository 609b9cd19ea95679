"""Snapshots of a rollup: its measures over the whole stored history before each boundary.

A rollup that declares ``snapshot: 1d`` has a companion table ``<rollup>__snapshot`` in
the rollup schema, with the rollup table's columns and primary key. Its rows at
``bucket = D`` hold, per dimension values, the rollup's measures aggregated (sum, min or
max, as declared) over every stored bucket in ``[origin, D)``, for each boundary ``D``
(a multiple of the period since the epoch, UTC) with ``origin < D <= watermark``. Rows
whose sums are zero are kept: the planner must see what the stored rows would give.

The refresher keeps them in the transaction of each chunk it rewrites
(``refresh_snapshots``: every boundary after the chunk's start, in ascending order, each
from the previous snapshot and one period of stored rows), and the planner reads the
latest one at or before the grain bucket holding ``from`` instead of the whole stored
history before it (``collapsed_before``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from grafana_scf.sources.mysql.rollups import (
    EPOCH,
    MEASURE_AGGREGATE,
    SNAPSHOT_SUFFIX,
    Rollup,
    from_epoch,
    quote_identifier,
    state_table,
)


def snapshot_table(rollup: Rollup | str, schema: str) -> str:
    """The snapshot table, schema-qualified and quoted."""
    name = rollup if isinstance(rollup, str) else rollup.name
    return f"{quote_identifier(schema)}.{quote_identifier(name + SNAPSHOT_SUFFIX)}"


def boundaries(rollup: Rollup, after: dt.datetime, upto: dt.datetime) -> list[dt.datetime]:
    """The snapshot boundaries ``D`` with ``after < D <= upto``, ascending."""
    period = rollup.snapshot_s
    first = _epoch_s(after) // period * period + period
    return [from_epoch(second) for second in range(first, _epoch_s(upto) + 1, period)]


def latest_boundary(rollup: Rollup, after: dt.datetime, upto: dt.datetime) -> dt.datetime | None:
    """The largest boundary ``D`` with ``after < D <= upto``, if any."""
    period = rollup.snapshot_s
    at = _epoch_s(upto) // period * period
    return from_epoch(at) if from_epoch(at) > after else None


# -- the writer: created with the rollup table, kept in each chunk's transaction ----------


def create_statements(rollup: Rollup, schema: str) -> list[str]:
    """Drop the snapshot table, and create it empty (like the rollup table) when declared."""
    drop = f"DROP TABLE IF EXISTS {snapshot_table(rollup, schema)}"
    if not rollup.snapshot_ms:
        return [drop]
    return [drop, f"CREATE TABLE {snapshot_table(rollup, schema)} LIKE {rollup.table(schema)}"]


def refresh_snapshots(
    cursor: Any, rollup: Rollup, schema: str, origin: dt.datetime, since: dt.datetime, watermark: dt.datetime
) -> int:
    """Recompute every snapshot ``D`` with ``max(since, origin) < D <= watermark``, ascending,
    and delete those outside ``(origin, watermark]``; the rows written.

    ``since`` is the start of the buckets just rewritten (the origin when it moved: every
    snapshot covers ``[origin, D)``). Runs on the caller's cursor, in its transaction.
    """
    if not rollup.snapshot_ms:
        return 0
    snapshots = snapshot_table(rollup, schema)
    cursor.execute(f"DELETE FROM {snapshots} WHERE bucket <= %s OR bucket > %s", (origin, watermark))
    written = 0
    for at in boundaries(rollup, max(since, origin), watermark):
        written += _recompute(cursor, rollup, schema, origin, at)
    return written


def _recompute(cursor: Any, rollup: Rollup, schema: str, origin: dt.datetime, at: dt.datetime) -> int:
    """snapshot(D) = aggregate(snapshot(D - period) UNION ALL stored rows in [D - period, D))."""
    snapshots, table = snapshot_table(rollup, schema), rollup.table(schema)
    previous = at - dt.timedelta(seconds=rollup.snapshot_s)
    names = _names((*rollup.dimensions, *rollup.measures))
    parts = [f"SELECT {names} FROM {table} WHERE bucket >= %s AND bucket < %s"]
    params: list[Any] = [max(previous, origin), at]
    if previous > origin:
        parts.insert(0, f"SELECT {names} FROM {snapshots} WHERE bucket = %s")
        params.insert(0, previous)
    dimensions = _names(rollup.dimensions)
    cursor.execute(f"DELETE FROM {snapshots} WHERE bucket = %s", (at,))
    cursor.execute(
        f"INSERT INTO {snapshots} ({_names(rollup.columns)}) "
        f"SELECT CAST(%s AS DATETIME), {dimensions}, {_aggregates(rollup)} "
        f"FROM ({' UNION ALL '.join(parts)}) AS history GROUP BY {dimensions}",
        (at, *params),
    )
    return int(cursor.rowcount)


def snapshot_summary(cursor: Any, rollup: Rollup, schema: str) -> tuple[int, dt.datetime | None]:
    """(snapshots held, the latest boundary): for ``rollup status``."""
    cursor.execute(f"SELECT COUNT(DISTINCT bucket), MAX(bucket) FROM {snapshot_table(rollup, schema)}")
    count, last = cursor.fetchone()
    return int(count), last


# -- the planner: the stored history before ``from`` ---------------------------------------


def collapsed_before(
    rollup: Rollup,
    schema: str,
    span: tuple[dt.datetime, dt.datetime],
    origin: dt.datetime,
    index: int,
    params: dict[str, Any],
) -> str | None:
    """The stored buckets in ``span`` = ``[origin, start)``, one row per dimension values
    (dated the origin or their first bucket, before ``from``), read as the snapshot at the
    latest boundary ``D <= start`` plus the stored rows in ``[D, start)``.

    None when the rollup keeps no snapshot there (none declared, no known origin, a span
    not starting at the origin, or no boundary after the origin): the caller then reads
    the stored buckets themselves. Should
    a backfill have moved the origin since the planner read it, the snapshot (which then
    covers more) is skipped and the stored rows in ``[origin, D)`` read instead: the state
    row is read in the same statement, so the answer stays exact.
    """
    low, start = span
    usable = rollup.snapshot_ms and low == origin > EPOCH
    at = latest_boundary(rollup, origin, start) if usable else None
    if at is None:
        return None
    key = f"__snapshot{index}_"
    params.update({f"{key}rollup": rollup.name, f"{key}origin": origin, f"{key}at": at, f"{key}to": start})
    rollup_name, origin_, at_, to = (f"%({key}{name})s" for name in ("rollup", "origin", "at", "to"))
    state = state_table(schema)
    names = _names((*rollup.dimensions, *rollup.measures))
    dimensions = _names(rollup.dimensions)
    return (
        f"SELECT MIN(bucket) AS bucket, {dimensions}, {_aggregates(rollup)} FROM (\n"
        f"  SELECT CAST({origin_} AS DATETIME) AS bucket, {_names(rollup.columns[1:], 's.')} "
        f"FROM {snapshot_table(rollup, schema)} AS s\n"
        f"    JOIN {state} AS st ON st.rollup = {rollup_name} AND st.origin = {origin_} "
        f"WHERE s.bucket = {at_}\n"
        f"  UNION ALL SELECT {_names(rollup.columns, 'r.')} FROM {rollup.table(schema)} AS r\n"
        f"    JOIN {state} AS st ON st.rollup = {rollup_name} AND NOT st.origin <=> {origin_} "
        f"WHERE r.bucket >= {origin_} AND r.bucket < {at_}\n"
        f"  UNION ALL SELECT bucket, {names} FROM {rollup.table(schema)} "
        f"WHERE bucket >= {at_} AND bucket < {to}\n"
        f") AS before_from GROUP BY {dimensions}"
    )


SPAN_MIN_PERIODS = 7
"""A span is read as a difference of two snapshots when it holds this many snapshot periods
or more: two snapshots hold every dimension value ever seen, a few periods of stored rows
only those seen then, so shorter spans are cheaper read as they are."""


def collapsed_span(
    rollup: Rollup,
    schema: str,
    span: tuple[dt.datetime, dt.datetime],
    origin: dt.datetime,
    index: int,
    params: dict[str, Any],
) -> str | None:
    """The stored buckets in ``span`` = ``[low, high)`` as the snapshot at the last boundary
    ``b <= high`` minus the one at the first boundary ``a >= low`` (one row, dated ``low``,
    per dimension values whose count measure grew: those with rows in ``[a, b)``), plus
    the stored rows in ``[low, a)`` and ``[b, high)`` as they are.

    The difference is a join of the two snapshots on their key, not a grouping of both:
    every value at ``a`` is also at ``b`` (a snapshot holds each value seen since the
    origin), and a sum or a count at ``b`` is never below its value at ``a`` when the
    column cannot hold a negative (unsigned), so the subtraction is safe in every type.

    None when that is not exact or not cheaper: snapshots that cannot be subtracted (see
    ``Rollup.subtractable_snapshots``), no known origin, or fewer than
    ``SPAN_MIN_PERIODS`` periods between the boundaries. Should a backfill have moved the
    origin since the planner read it, the stored rows in ``[a, b)`` are read instead (the
    state row is read in the same statement).
    """
    low, high = span
    if not rollup.subtractable_snapshots or origin <= EPOCH or low < origin:
        return None
    period = rollup.snapshot_s
    first = from_epoch(-(-_epoch_s(low) // period) * period)
    last = from_epoch(_epoch_s(high) // period * period)
    if (last - first).total_seconds() < SPAN_MIN_PERIODS * period:
        return None
    key = f"__span{index}_"
    params.update({f"{key}{name}": value for name, value in
                   (("rollup", rollup.name), ("origin", origin), ("low", low), ("first", first),
                    ("last", last), ("high", high))})  # fmt: skip
    rollup_, origin_, low_, first_, last_, high_ = (
        f"%({key}{name})s" for name in ("rollup", "origin", "low", "first", "last", "high")
    )
    state = state_table(schema)
    snapshot, table = snapshot_table(rollup, schema), rollup.table(schema)
    columns = _names(rollup.columns)
    return "\n  UNION ALL ".join(
        [
            _difference(rollup, snapshot, state, (rollup_, origin_, low_, first_, last_), first > origin),
            f"SELECT {_names(rollup.columns, 'r.')} FROM {table} AS r JOIN {state} AS st "
            f"ON st.rollup = {rollup_} AND NOT st.origin <=> {origin_} "
            f"WHERE r.bucket >= {first_} AND r.bucket < {last_}",
            f"SELECT {columns} FROM {table} WHERE bucket >= {low_} AND bucket < {first_}",
            f"SELECT {columns} FROM {table} WHERE bucket >= {last_} AND bucket < {high_}",
        ]
    )


def _difference(rollup: Rollup, snapshot: str, state: str, marks: tuple[str, ...], subtract: bool) -> str:
    """snapshot(b) minus snapshot(a) per dimension values whose count grew, when the origin is
    still the one the planner read; ``subtract`` False: the snapshot at ``a`` is the empty
    one at the origin."""
    rollup_, origin_, low_, first_, last_ = marks
    count = quote_identifier(rollup.count_measure or "")
    if subtract:
        on = " AND ".join(f"a.{quote_identifier(d)} = b.{quote_identifier(d)}" for d in rollup.dimensions)
        earlier = f"\n    LEFT JOIN {snapshot} AS a ON a.bucket = {first_} AND {on}"
        measures = ", ".join(f"b.{quote_identifier(m)} - COALESCE(a.{quote_identifier(m)}, 0) AS "
                             f"{quote_identifier(m)}" for m in rollup.measures)  # fmt: skip
        grew = f"b.{count} - COALESCE(a.{count}, 0) > 0"
    else:
        earlier, measures, grew = "", _names(tuple(rollup.measures), "b."), f"b.{count} > 0"
    return (
        f"SELECT CAST({low_} AS DATETIME) AS bucket, {_names(rollup.dimensions, 'b.')}, {measures}\n"
        f"    FROM {snapshot} AS b JOIN {state} AS st ON st.rollup = {rollup_} AND st.origin = {origin_}"
        f"{earlier}\n    WHERE b.bucket = {last_} AND {grew}"
    )


def _aggregates(rollup: Rollup) -> str:
    return ", ".join(
        f"{MEASURE_AGGREGATE[kind]}({quote_identifier(name)}) AS {quote_identifier(name)}"
        for name, kind in rollup.measures.items()
    )


def _names(names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + quote_identifier(name) for name in names)


def _epoch_s(value: dt.datetime) -> int:
    return int((value - EPOCH).total_seconds())
