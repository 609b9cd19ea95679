"""A span of a table read as the difference of two snapshots (``snapshots.collapsed_span``).

``events_5m`` declared here with a ``count`` and a ``sum`` measure and ``snapshot: 3h``:
the stored rows of a span of 7 periods or more are the snapshot at its last boundary
minus the one at its first, plus the stored rows between the span's ends and those
boundaries; a kind with no rows in the span is left out, as grouping the rows would.
Grouped per kind (as an entry's SQL groups them), they equal the stored rows grouped.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from grafana_scf.sources.mysql.catalog import load_catalog
from grafana_scf.sources.mysql.snapshots import SPAN_MIN_PERIODS, collapsed_span
from rollups.conftest import CATALOG, NOW

COUNTING_SQL = (
    "SELECT $__bucket AS bucket, e.kind, COUNT(*) AS n, SUM(e.amount) AS amount "
    "FROM events e WHERE $__bucketRange GROUP BY 1, 2"
)


def rollups(measures: dict, sql: str = COUNTING_SQL, snapshot: str | None = "3h"):
    catalog = copy.deepcopy(CATALOG)
    declared = catalog["rollups"]["events_5m"]
    declared.update(measures=measures, sql=sql)
    if snapshot:
        declared["snapshot"] = snapshot
    return load_catalog(catalog).rollups


ROLLUPS = rollups({"n": "count", "amount": "sum"})
ROLLUP = ROLLUPS["events_5m"]
EARLY = NOW - timedelta(hours=40)  # a kind seen only here: in the snapshots, not in late spans


def build(world, **limits):
    world.execute("INSERT INTO events VALUES (99001, %s, 'early', 7)", (EARLY,))
    outcome = world.refresher(rollups=ROLLUPS, **limits).tick(now=NOW, bounded=False).rollups[0]
    assert outcome.error is None, outcome.error
    return world.origin()


def span_rows(world, span, origin):
    params: dict = {}
    sql = collapsed_span(ROLLUP, world.schema, span, origin, 0, params)
    assert sql is not None
    rows = world.execute(
        f"SELECT MIN(bucket), kind, SUM(n), SUM(amount) FROM ({sql}) AS s GROUP BY kind ORDER BY kind", params
    )
    assert all(row[0] >= span[0] for row in rows)  # dated in the span, as the stored rows are
    return [(span[0], kind, int(n), int(amount)) for _, kind, n, amount in rows]


def stored_rows(world, span):
    rows = world.execute(
        f"SELECT kind, SUM(n), SUM(amount) FROM `{world.schema}`.events_5m "
        "WHERE bucket >= %s AND bucket < %s GROUP BY kind ORDER BY kind",
        span,
    )
    return [(span[0], kind, int(n), int(amount)) for kind, n, amount in rows]


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (NOW - timedelta(hours=44, minutes=35), NOW - timedelta(minutes=20)),  # unaligned both ends
        (NOW - timedelta(hours=33), NOW - timedelta(hours=3)),  # on boundaries
        (NOW - timedelta(hours=30, minutes=5), NOW - timedelta(hours=8, minutes=55)),  # 7 periods
    ],
)
def test_a_span_is_the_difference_of_two_snapshots(fresh, low, high):
    origin = build(fresh)
    expected = stored_rows(fresh, (low, high))
    assert span_rows(fresh, (low, high), origin) == expected and len(expected) >= 4
    assert ("early" in {row[1] for row in expected}) == (low <= EARLY)


def test_a_span_from_the_origin_reads_one_snapshot(fresh):
    origin = build(fresh)
    span = (origin, NOW - timedelta(hours=1))
    assert span_rows(fresh, span, origin) == stored_rows(fresh, span)


def test_a_backfill_moving_the_origin_meanwhile_reads_the_stored_rows(fresh):
    origin = build(fresh, history_days=2)
    span = (origin + timedelta(hours=1, minutes=5), NOW - timedelta(minutes=5))
    before = stored_rows(fresh, span)
    fresh.refresher(rollups=ROLLUPS, chunk_buckets=96).backfill(NOW - timedelta(days=3), origin)
    assert fresh.origin() < origin
    assert span_rows(fresh, span, origin) == before == stored_rows(fresh, span)


def test_short_spans_and_rollups_that_cannot_subtract_are_read_as_stored_rows():
    origin = NOW - timedelta(days=2)
    period = timedelta(hours=3)
    short = (NOW - period * (SPAN_MIN_PERIODS - 1) - timedelta(minutes=5), NOW)
    assert collapsed_span(ROLLUP, "s", short, origin, 0, {}) is None
    long = (NOW - period * SPAN_MIN_PERIODS, NOW)
    assert collapsed_span(ROLLUP, "s", long, origin, 0, {}) is not None
    assert collapsed_span(ROLLUP, "s", long, datetime(1970, 1, 1), 0, {}) is None  # origin unknown
    assert collapsed_span(ROLLUP, "s", (origin - period, NOW), origin, 0, {}) is None  # before it
    for other in (
        rollups({"n": "sum", "amount": "sum"})["events_5m"],  # no count: "no rows" is unknowable
        rollups({"n": "count", "amount": "sum"}, snapshot=None)["events_5m"],
        rollups(
            {"n": "count", "amount": "max"},
            COUNTING_SQL.replace("SUM(e.amount)", "MAX(e.amount)"),
        )["events_5m"],  # a max does not subtract
    ):
        assert not other.subtractable_snapshots
        assert collapsed_span(other, "s", long, origin, 0, {}) is None


def test_a_count_measure_below_one_fails_the_chunk_and_keeps_the_table(fresh):
    zero = rollups({"n": "count", "amount": "sum"}, COUNTING_SQL.replace("COUNT(*) AS n", "0 AS n"))
    outcome = fresh.refresher(rollups=zero).tick(now=NOW, bounded=False).rollups[0]
    assert outcome.action == "failed"
    assert "measure 'n' is declared count" in outcome.error and "less than 1" in outcome.error
    assert fresh.execute(f"SELECT COUNT(*) FROM `{fresh.schema}`.events_5m") == [(0,)]  # rolled back
