"""``$__rollupTable`` for the real-time plan: a derived table of stored and live rows.

The rollup's stored buckets before its watermark, collapsed as far as the entry can tell
no difference (or read from its latest snapshot), ``UNION ALL`` the rollup's own SQL run
live at one-second buckets over what the table does not hold exactly: the history
before its origin, the grain buckets holding the range's edges, and everything from the
watermark on. ``planner.py`` compiles the entry's rollup SQL over it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from grafana_scf.sources.mysql.compiler import BoundSql
from grafana_scf.sources.mysql.rollups import (
    EPOCH,
    MEASURE_AGGREGATE,
    Rollup,
    compile_rollup_sql,
    from_epoch,
    quote_identifier,
)
from grafana_scf.sources.mysql.snapshots import collapsed_before, collapsed_span
from grafana_scf.timerange import TimeRange

WHOLE_SPAN = 2**31
"""``width_s`` of a table: its stored rows are one interval, dated the span's start."""
_FOREVER = dt.datetime(9999, 12, 31)


def real_time_table(
    rollup: Rollup,
    schema: str,
    watermark: dt.datetime,
    tr: TimeRange,
    width_s: int | None,
    origin: dt.datetime = EPOCH,
    since: dt.datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """``$__rollupTable`` as a derived table: stored buckets, live edges and tail
    (from ``since`` on when given, else from the beginning).

    Stored rows are collapsed as the entry can tell no difference: those before the
    grain bucket holding ``from`` into one row per dimension values (dated their
    first bucket, which is before ``from``; read from the rollup's latest snapshot
    there and the stored rows after it, when it keeps snapshots), the others into one
    row per interval (``width_s``; for a table, the whole span) dated no earlier than
    their span; a table's span of many snapshot periods as the difference of two
    snapshots, when the rollup's can be subtracted.
    """
    columns = ", ".join(rollup.columns)
    table = rollup.table(schema)
    from_bucket = from_epoch(tr.from_s - tr.from_s % rollup.grain_s)
    parts: list[str] = []
    params: dict[str, Any] = {}
    stored_from = since or EPOCH
    for index, (start, end) in enumerate(_live_ranges(rollup, watermark, tr, origin, since)):
        if start > stored_from:
            before = start <= from_bucket
            span = (stored_from, start)
            if before:
                snapshot = collapsed_before(rollup, schema, span, origin, index, params)
            elif width_s is not None and width_s >= WHOLE_SPAN:
                snapshot = collapsed_span(rollup, schema, span, origin, index, params)
            else:
                snapshot = None
            parts.append(snapshot or _stored(rollup, table, span, None if before else width_s, index, params))
        live = compile_rollup_sql(dataclasses.replace(rollup, grain_ms=1000), start, end)
        renamed = _prefix_params(live, f"__live{index}")
        params.update(renamed.params)
        parts.append(f"SELECT {columns} FROM ({renamed.text}) AS live{index}")
        stored_from = end
    # Aliased as the table itself, so ``task_events.bucket`` reads the same either way.
    return "(" + "\nUNION ALL ".join(parts) + f") AS {quote_identifier(rollup.name)}", params


def _live_ranges(
    rollup: Rollup,
    watermark: dt.datetime,
    tr: TimeRange,
    origin: dt.datetime = EPOCH,
    since: dt.datetime | None = None,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Everything before the rollup's origin (not in the table), the grain buckets holding
    ``from`` and ``to`` (when inside ``[origin, watermark)``), then the watermark on; with
    ``since``, only from there (the bucket holding it read from ``since``, not its start)."""
    grain = rollup.grain_s
    low = since or EPOCH
    edges = [(low, origin)] if origin > low else []
    for second in (tr.from_ms // 1000, tr.to_ms // 1000):
        start = from_epoch(second - second % grain)
        end = from_epoch(second - second % grain + grain)
        if start >= origin and end <= watermark and (not edges or edges[-1][1] <= start):
            edges.append((max(start, low), end))
    edges.append((max(watermark, low), _FOREVER))
    return edges


def _stored(
    rollup: Rollup,
    table: str,
    span: tuple[dt.datetime, dt.datetime],
    width_s: int | None,
    index: int,
    params: dict[str, Any],
) -> str:
    """Stored buckets in ``span``, collapsed: per interval (``width_s``), or wholly (None)."""
    low, high = f"__stored{index}_from", f"__stored{index}_to"
    params[low], params[high] = span
    if width_s is None:
        bucket = "MIN(bucket)"
    elif width_s >= WHOLE_SPAN:  # one interval: the span's start, as the floor below would give
        bucket = f"CAST(%({low})s AS DATETIME)"
    else:
        width = f"__stored{index}_width"
        params[width] = width_s
        floor = f"FROM_UNIXTIME(UNIX_TIMESTAMP(bucket) DIV %({width})s * %({width})s)"
        bucket = f"GREATEST({floor}, CAST(%({low})s AS DATETIME))"
    measures = ", ".join(
        f"{MEASURE_AGGREGATE[kind]}({name}) AS {name}" for name, kind in rollup.measures.items()
    )
    dimensions = ", ".join(rollup.dimensions)
    per_interval = width_s is not None and width_s < WHOLE_SPAN
    group = f"GROUP BY 1, {dimensions}" if per_interval else f"GROUP BY {dimensions}"
    return (
        f"SELECT {bucket} AS bucket, {dimensions}, {measures} FROM {table} "
        f"WHERE bucket >= %({low})s AND bucket < %({high})s {group}"
    )


def _prefix_params(bound: BoundSql, prefix: str) -> BoundSql:
    """Rename a statement's placeholders so several statements can share one parameter dict."""
    text = bound.text
    params = {}
    for name in sorted(bound.params, key=len, reverse=True):
        text = text.replace(f"%({name})s", f"%({prefix}{name})s")
        params[f"{prefix}{name}"] = bound.params[name]
    return BoundSql(text, params)
