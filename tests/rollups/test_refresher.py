"""The refresher on a real MariaDB: idempotent, resumable, safe when overlapping, absorbs late changes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from grafana_scf import deadline
from rollups.conftest import NOW


def test_a_full_refresh_equals_the_aggregation_and_a_rerun_changes_nothing(fresh):
    summary = fresh.refresher().tick(now=NOW, bounded=False)
    assert summary.status == "ok", summary.to_json()
    assert [o.action for o in summary.rollups] == ["rebuilt"]
    assert fresh.watermark() == NOW
    first = fresh.table()
    assert first == fresh.expected(NOW) and len(first) > 500
    again = fresh.refresher().tick(now=NOW, bounded=False)
    assert [o.action for o in again.rollups] == ["refreshed"]
    assert again.rollups[0].buckets == 3  # only the lateness window
    assert fresh.table() == first


def test_the_bucket_bound_stops_a_tick_and_the_next_ones_resume(fresh):
    refresher = fresh.refresher(max_buckets_per_tick=100)
    marks = []
    for _ in range(10):
        outcome = refresher.tick(now=NOW).rollups[0]
        marks.append(fresh.watermark())
        if outcome.behind_buckets == 0:
            break
    assert len(marks) > 5 and marks == sorted(marks) and len(set(marks)) == len(marks)
    assert marks[1] - marks[0] == timedelta(minutes=5 * 100)
    assert fresh.table() == fresh.expected(NOW)


def test_the_row_bound_stops_a_tick_and_the_next_ones_resume(fresh):
    refresher = fresh.refresher(max_rows_per_tick=300, chunk_buckets=24)
    summary = refresher.tick(now=NOW)
    assert (summary.status, summary.stopped_by) == ("partial", "rows")
    assert 300 <= summary.rollups[0].rows_written < 600
    for _ in range(40):
        if refresher.tick(now=NOW).status == "ok":
            break
    assert fresh.watermark() == NOW
    assert fresh.table() == fresh.expected(NOW)


def test_the_time_budget_stops_a_tick_before_it_starts_a_chunk_it_cannot_finish(fresh):
    with deadline.bind(deadline.Deadline.after(0.0)):
        summary = fresh.refresher().tick(now=NOW)
    assert (summary.status, summary.stopped_by) == ("partial", "time")
    assert summary.rollups[0].buckets == 0
    assert fresh.refresher().tick(now=NOW, bounded=False).status == "ok"
    assert fresh.table() == fresh.expected(NOW)


def test_a_tick_skips_while_another_holds_the_lock(fresh):
    refresher = fresh.refresher()
    holder = refresher.connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (f"{fresh.schema}.refresh",))
            assert cursor.fetchone()[0] == 1
        summary = refresher.tick(now=NOW)
        assert summary.status == "skipped" and summary.rollups == []
        assert fresh.watermark() is None
    finally:
        holder.close()  # a dead holder's lock goes with its connection
    assert refresher.tick(now=NOW, bounded=False).status == "ok"


def test_rows_deleted_or_updated_inside_the_lateness_window_are_absorbed(fresh):
    fresh.refresher().tick(now=NOW, bounded=False)
    inside = NOW - timedelta(minutes=12)  # 3 buckets of lateness = the last 15 minutes
    victims = fresh.execute(
        "SELECT id FROM events WHERE created_at >= %s ORDER BY created_at LIMIT 3", (inside,)
    )
    assert len(victims) == 3
    fresh.execute("DELETE FROM events WHERE id = %s", (victims[0][0],))
    fresh.execute("UPDATE events SET amount = amount + 1000, kind = 'z' WHERE id = %s", (victims[1][0],))
    fresh.execute(
        "UPDATE events SET created_at = created_at - INTERVAL 3 MINUTE WHERE id = %s", (victims[2][0],)
    )
    assert fresh.table() != fresh.expected(NOW)
    fresh.refresher().tick(now=NOW)
    assert fresh.table() == fresh.expected(NOW)


def test_a_change_older_than_the_lateness_window_stays_until_a_backfill(fresh):
    fresh.refresher().tick(now=NOW, bounded=False)
    old = fresh.execute(
        "SELECT id, created_at FROM events WHERE created_at < %s LIMIT 1", (NOW - timedelta(hours=5),)
    )
    fresh.execute("DELETE FROM events WHERE id = %s", (old[0][0],))
    fresh.refresher().tick(now=NOW)
    assert fresh.table() != fresh.expected(NOW)  # documented: outside the window
    summary = fresh.refresher().backfill(old[0][1] - timedelta(hours=1), NOW)
    assert summary.rollups[0].watermark == NOW
    assert fresh.table() == fresh.expected(NOW)


def test_new_rows_are_picked_up_by_the_next_tick(fresh):
    fresh.refresher().tick(now=NOW, bounded=False)
    fresh.execute(
        "INSERT INTO events VALUES (100001, %s, 'a', 5), (100002, %s, 'b', 7)",
        (NOW + timedelta(minutes=1), NOW + timedelta(minutes=4, seconds=59)),
    )
    later = NOW + timedelta(minutes=5)
    outcome = fresh.refresher().tick(now=later).rollups[0]
    assert (outcome.buckets, outcome.behind_buckets) == (4, 0)  # 3 of lateness + the new one
    assert fresh.watermark() == later
    assert fresh.table() == fresh.expected(later)


def test_a_changed_definition_rebuilds_the_table(fresh):
    fresh.refresher().tick(now=NOW, bounded=False)
    rollup = fresh.rollups["events_5m"]
    changed = dataclasses.replace(rollup, sql=rollup.sql.replace("GROUP BY 1, 2", "GROUP BY 2, 1"))
    refresher = fresh.refresher(rollups={"events_5m": changed})
    summary = refresher.tick(now=NOW, bounded=False)
    assert summary.rollups[0].action == "rebuilt"
    assert refresher.status()[0]["state"] == "fresh"
    assert fresh.refresher().status()[0]["state"] == "stale"  # the old definition no longer matches
    assert fresh.table() == fresh.expected(NOW)


def test_the_covered_range_starts_at_the_origin_and_a_backfill_extends_it_backwards(fresh):
    fresh.refresher(history_days=1).tick(now=NOW, bounded=False)
    origin = NOW - timedelta(days=1)
    assert (fresh.origin(), fresh.watermark()) == (origin, NOW)
    assert fresh.table() == fresh.expected(NOW, since=origin)  # nothing before the origin was read
    fresh.refresher(chunk_buckets=7).backfill(NOW - timedelta(days=3), NOW - timedelta(hours=30))
    assert (fresh.origin(), fresh.watermark()) == (NOW - timedelta(days=3), NOW)
    assert fresh.table() == fresh.expected(NOW)


def test_chunks_double_while_quick_and_halve_when_slow():
    from grafana_scf.sources.mysql.refresh import RefreshLimits, _Budget

    with deadline.bind(deadline.Deadline.after(600.0)):
        budget = _Budget(RefreshLimits(chunk_buckets=64), bounded=True)
    assert [budget.next_chunk(8, 0.1), budget.next_chunk(64, 0.1), budget.next_chunk(16, 2.0)] == [16, 64, 16]
    assert [budget.next_chunk(16, 6.0), budget.next_chunk(1, 60.0)] == [8, 1]
    with deadline.bind(deadline.Deadline.after(4.0)):  # little time left: a quarter of it is the target
        assert _Budget(RefreshLimits(), bounded=True).next_chunk(16, 1.5) == 8
