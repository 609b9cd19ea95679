"""Snapshots kept by the refresher: after every kind of change, each equals a recomputation.

``events_5m`` declared here with ``snapshot: 3h``: its snapshot table holds, for every
3-hour boundary D in ``(origin, watermark]``, the measures over the stored buckets in
``[origin, D)``. ``snapshot_mismatches`` (support/rollups.py) recomputes them in plain
SQL from the rollup table and compares, row by row, both ways.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from conftest import admin_connection
from grafana_scf.sources.mysql.catalog import load_catalog
from grafana_scf.sources.mysql.snapshots import boundaries, collapsed_before
from rollups.conftest import CATALOG, NOW
from support.rollups import snapshot_mismatches


def with_snapshot(period: str | None):
    catalog = copy.deepcopy(CATALOG)
    if period:
        catalog["rollups"]["events_5m"]["snapshot"] = period
    return load_catalog(catalog).rollups


ROLLUPS = with_snapshot("3h")
ROLLUP = ROLLUPS["events_5m"]


def refresher(world, rollups=ROLLUPS, **limits):
    return world.refresher(rollups=rollups, **limits)


def snapshot_rows(world) -> tuple[int, object]:
    """(boundaries held, the latest one)."""
    rows = world.execute(
        f"SELECT COUNT(DISTINCT bucket), MAX(bucket) FROM `{world.schema}`.events_5m__snapshot"
    )
    return rows[0]


def assert_snapshots_hold(world, rollup=ROLLUP) -> None:
    """Every snapshot equals its recomputation, and the latest is the last boundary."""
    with admin_connection(world.source) as conn, conn.cursor() as cursor:
        assert snapshot_mismatches(cursor, rollup, world.schema) == []
    expected = boundaries(rollup, world.origin(), world.watermark())
    held, latest = snapshot_rows(world)
    assert latest == expected[-1] and 8 <= held <= len(expected)


def snapshot_table_exists(world) -> bool:
    rows = world.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (world.schema, "events_5m__snapshot"),
    )
    return bool(rows[0][0])


def test_every_tick_keeps_one_snapshot_per_boundary(fresh):
    bounded = refresher(fresh, max_buckets_per_tick=100)
    for _ in range(20):  # a tick at a time, each carrying the snapshots forward
        outcome = bounded.tick(now=NOW).rollups[0]
        with admin_connection(fresh.source) as conn, conn.cursor() as cursor:
            assert snapshot_mismatches(cursor, ROLLUP, fresh.schema) == []
        if outcome.behind_buckets == 0:
            break
    assert fresh.watermark() == NOW
    assert_snapshots_hold(fresh)
    status = refresher(fresh).status()[0]
    held, latest = snapshot_rows(fresh)
    assert (status["snapshot_s"], status["snapshots"], status["last_snapshot"]) == (10_800, held, latest)
    fresh.execute(
        f"UPDATE `{fresh.schema}`.events_5m__snapshot SET n = n + 1 WHERE bucket = %s LIMIT 1", (NOW,)
    )
    with admin_connection(fresh.source) as conn, conn.cursor() as cursor:  # the check can fail
        assert sorted(row[0] for row in snapshot_mismatches(cursor, ROLLUP, fresh.schema)) == [
            "extra",
            "missing",
        ]


def test_late_inserts_updates_and_deletes_inside_the_lateness_window_are_absorbed(fresh):
    refresher(fresh).tick(now=NOW, bounded=False)
    assert_snapshots_hold(fresh)
    assert NOW in boundaries(ROLLUP, NOW - timedelta(hours=1), NOW)  # the lateness window ends on one
    inside = NOW - timedelta(minutes=12)
    victims = fresh.execute("SELECT id FROM events WHERE created_at >= %s ORDER BY id LIMIT 2", (inside,))
    fresh.execute("DELETE FROM events WHERE id = %s", (victims[0][0],))
    fresh.execute("UPDATE events SET amount = amount + 1000, kind = 'z' WHERE id = %s", (victims[1][0],))
    fresh.execute("INSERT INTO events VALUES (100001, %s, 'q', 5000)", (NOW - timedelta(minutes=1),))
    refresher(fresh).tick(now=NOW)
    assert fresh.table() == fresh.expected(NOW)
    assert_snapshots_hold(fresh)
    rows = fresh.execute(
        f"SELECT kind, n, biggest FROM `{fresh.schema}`.events_5m__snapshot "
        "WHERE bucket = %s AND kind IN ('q', 'z') ORDER BY kind",
        (NOW,),
    )
    updated = fresh.execute("SELECT amount FROM events WHERE id = %s", (victims[1][0],))[0][0]
    assert [(kind, int(n), int(biggest)) for kind, n, biggest in rows] == [("q", 1, 5000), ("z", 1, updated)]


def test_new_rows_past_a_boundary_make_a_new_snapshot(fresh):
    refresher(fresh).tick(now=NOW, bounded=False)
    fresh.execute(
        "INSERT INTO events VALUES (100001, %s, 'a', 5), (100002, %s, 'b', 7)",
        (NOW + timedelta(hours=2), NOW + timedelta(hours=3, minutes=1)),
    )
    outcome = refresher(fresh).tick(now=NOW + timedelta(hours=3, minutes=7)).rollups[0]
    assert fresh.watermark() == NOW + timedelta(hours=3, minutes=5) and outcome.behind_buckets == 0
    assert snapshot_rows(fresh)[1] == NOW + timedelta(hours=3)
    assert_snapshots_hold(fresh)


def test_a_deleted_source_row_older_than_the_window_is_absorbed_by_a_backfill(fresh):
    refresher(fresh).tick(now=NOW, bounded=False)
    old = fresh.execute(
        "SELECT id, created_at FROM events WHERE created_at < %s ORDER BY id LIMIT 1",
        (NOW - timedelta(hours=20),),
    )
    fresh.execute("DELETE FROM events WHERE id = %s", (old[0][0],))
    refresher(fresh, chunk_buckets=24).backfill(old[0][1] - timedelta(hours=1), NOW)
    assert fresh.table() == fresh.expected(NOW)
    assert_snapshots_hold(fresh)


def test_a_backfill_that_moves_the_origin_earlier_recomputes_every_snapshot(fresh):
    refresher(fresh, history_days=1).tick(now=NOW, bounded=False)
    assert fresh.origin() == NOW - timedelta(days=1)
    assert_snapshots_hold(fresh)
    refresher(fresh, chunk_buckets=96).backfill(NOW - timedelta(days=3), NOW - timedelta(hours=30))
    assert (fresh.origin(), fresh.watermark()) == (NOW - timedelta(days=3), NOW)
    assert fresh.table() == fresh.expected(NOW)
    assert_snapshots_hold(fresh)


def test_a_rebuild_and_a_drop_take_the_snapshot_table_along(fresh):
    refresher(fresh).tick(now=NOW, bounded=False)
    three_hourly = snapshot_rows(fresh)[0]
    six_hourly = with_snapshot("6h")
    summary = refresher(fresh, six_hourly).tick(now=NOW, bounded=False)
    assert summary.rollups[0].action == "rebuilt"
    assert_snapshots_hold(fresh, six_hourly["events_5m"])
    assert snapshot_rows(fresh)[0] in (three_hourly // 2, three_hourly // 2 + 1)
    plain = with_snapshot(None)
    assert refresher(fresh, plain).tick(now=NOW, bounded=False).rollups[0].action == "rebuilt"
    assert not snapshot_table_exists(fresh)  # declared no longer: dropped with the rebuild
    refresher(fresh).tick(now=NOW, bounded=False)
    assert snapshot_table_exists(fresh)
    fresh.execute(f"DROP TABLE `{fresh.schema}`.events_5m__snapshot")  # lost: the next tick rebuilds
    assert refresher(fresh).tick(now=NOW, bounded=False).rollups[0].action == "rebuilt"
    assert_snapshots_hold(fresh)
    refresher(fresh).drop()
    assert not snapshot_table_exists(fresh)


def test_the_planner_part_stays_exact_when_a_backfill_moves_the_origin_meanwhile(fresh):
    """The planner reads the origin, then runs its statement: a backfill committed in between
    makes the snapshot cover more than ``[origin, D)``, so the statement reads the stored rows."""
    refresher(fresh, history_days=1).tick(now=NOW, bounded=False)
    origin, start = fresh.origin(), NOW - timedelta(hours=4, minutes=25)
    params: dict = {}
    sql = collapsed_before(ROLLUP, fresh.schema, (origin, start), origin, 0, params)
    assert sql is not None and params["__snapshot0_at"] == NOW - timedelta(hours=6)
    stored = (
        f"SELECT kind, SUM(n), SUM(amount), MAX(biggest) FROM `{fresh.schema}`.events_5m "
        "WHERE bucket >= %s AND bucket < %s GROUP BY kind ORDER BY kind"
    )

    def collapsed():
        rows = fresh.execute(f"SELECT kind, n, amount, biggest FROM ({sql}) AS c ORDER BY kind", params)
        return [(kind, *map(int, values)) for kind, *values in rows]

    def expected():
        return [(kind, *map(int, values)) for kind, *values in fresh.execute(stored, (origin, start))]

    assert collapsed() == expected() and len(expected()) == 4
    refresher(fresh, chunk_buckets=96).backfill(NOW - timedelta(days=2), origin)
    assert fresh.origin() == NOW - timedelta(days=2)
    assert collapsed() == expected()


@pytest.mark.parametrize("origin_shift", [timedelta(0), timedelta(minutes=5)])
def test_no_snapshot_before_the_first_boundary_after_the_origin(origin_shift):
    origin = NOW - timedelta(hours=3) + origin_shift  # a boundary, or just after one
    start = NOW - timedelta(minutes=5)
    params: dict = {}
    assert collapsed_before(ROLLUP, "s", (origin, start), origin, 0, params) is None
    assert params == {}
    later = origin + timedelta(minutes=5)  # a span not from the origin: the snapshot covers more
    assert collapsed_before(ROLLUP, "s", (later, NOW), origin, 0, params) is None
    assert collapsed_before(ROLLUP, "s", (origin, NOW), origin, 0, params) is not None
    assert params["__snapshot0_at"] == NOW
