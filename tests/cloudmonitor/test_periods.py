"""Period selection (table-driven, pure) and batching as the emulator sees it."""

from __future__ import annotations

import pytest

from grafana_scf.sources.cloudmonitor.periods import PeriodError, choose_period, slot_grid
from grafana_scf.timerange import TimeRange
from labelhub_tools.emulator import slot_timestamps

from .helpers import call, query_body, series_of, target

NOW = 1_790_000_000 // 3600 * 3600  # a whole hour; tests never read the clock here
H, D = 3600, 86400
ALL = (10, 60, 300, 3600, 86400)
CDB = (5, 60, 300, 3600, 86400)
SCF = (60, 300, 3600, 86400)


def rng(span_s: int, ago_s: int = 0) -> TimeRange:
    end = NOW - ago_s
    return TimeRange((end - span_s) * 1000, end * 1000)


@pytest.mark.parametrize(
    ("span", "ago", "interval_ms", "points", "periods", "explicit", "period", "batch"),
    [
        # the panel's interval picks the smallest period at least as wide
        (H, 0, 10_000, 1000, ALL, None, 10, 3),
        (H, 0, 15_000, 1000, ALL, None, 60, 10),
        (6 * H, 0, 20_000, 1000, ALL, None, 60, 3),
        (6 * H, 0, 20_000, 1000, SCF, None, 60, 3),
        (24 * H, 0, 60_000, 1000, ALL, None, 300, 4),
        (7 * D, 0, None, 1000, ALL, None, 3600, 8),
        (30 * D, 0, None, 1000, ALL, None, 3600, 1),
        (90 * D, 0, None, 1000, ALL, None, 86400, 10),
        # maxDataPoints alone (Infinity alert bodies send neither)
        (H, 0, None, None, CDB, None, 5, 1),
        (H, 0, None, 30, ALL, None, 300, 10),
        # Grafana alert defaults (1000 ms / 43200) count as "not given"
        (H, 0, 1000, 43200, ALL, None, 10, 3),
        # retention: 10 s data is kept 1 day, 60/300 s 31 days, 3600 s 93 days
        (H, 2 * D, 10_000, 1000, ALL, None, 60, 10),
        (H, 40 * D, 10_000, 1000, ALL, None, 3600, 10),
        (H, 100 * D, 10_000, 1000, ALL, None, 86400, 10),
        # the points cap: 2 days at 60 s is 2881 points, so 300 s even though 60 s was asked
        (2 * D, 0, 60_000, 1000, ALL, None, 300, 2),
        # nothing wider than asked: the widest period
        (H, 0, 2 * D * 1000, 1000, SCF, None, 86400, 10),
        # explicit periods win
        (H, 0, 60_000, 1000, ALL, 10, 10, 3),
        (24 * H, 0, 60_000, 1000, ALL, "3600", 3600, 10),
    ],
)
def test_period_choice(span, ago, interval_ms, points, periods, explicit, period, batch):
    plan = choose_period(
        rng(span, ago),
        periods,
        NOW,
        explicit=int(explicit) if explicit else None,
        interval_ms=interval_ms,
        max_data_points=points,
    )
    assert (plan.period, plan.batch_size) == (period, batch)
    assert plan.batch_size * plan.slots <= 1440 or plan.batch_size == 1
    assert plan.slots == len(slot_timestamps(NOW - ago - span, NOW - ago, period))


@pytest.mark.parametrize(
    ("span", "ago", "periods", "explicit", "reason"),
    [
        (H, 0, ALL, 45, "period 45 s is not offered by this metric"),
        (H, 40 * D, ALL, 60, "period 60 s data is kept 31 days and the range starts 40 days ago"),
        (H, 2 * D, (10,), None, "period 10 s data is kept 1 days"),
        (2 * D, 0, ALL, 60, "period 60 s gives 2881 points per series, over the 1440"),
        (365 * D, 0, ALL, None, "period 86400 s data is kept 186 days"),
        (5 * 365 * D, -(5 * 365 - 100) * D, (86400,), None, "1825 points per series, over the 1440"),
    ],
)
def test_impossible_combinations_say_why(span, ago, periods, explicit, reason):
    with pytest.raises(PeriodError) as caught:
        choose_period(
            rng(span, ago), periods, NOW, explicit=explicit, interval_ms=60_000, max_data_points=1000
        )
    assert reason in caught.value.message
    assert caught.value.status == 400


def test_daily_slots_start_at_beijing_midnight():
    grid = slot_grid(NOW - 3 * D, NOW, 86400)
    assert all((t + 8 * 3600) % 86400 == 0 for t in grid)
    assert grid == slot_timestamps(NOW - 3 * D, NOW, 86400)


def test_retention_error_reaches_the_panel_as_400(app, window):
    _start, end = window
    old_end = end - 40 * D
    body = query_body(old_end - 3600, old_end, target("cvm_cpu", instances="ins-gz0web01", period=60))
    status, answer = call(app, "POST", "/query", body)
    assert status == 400
    assert "period 60 s data is kept 31 days" in answer["message"]


def test_batches_hold_at_most_ten_instances_and_fit_the_points_cap(make_app, window, emulator):
    app = make_app()
    start, end = window
    ids = [f"ins-sh{n:06d}" for n in range(1, 26)]
    status, answer = call(
        app, "POST", "/query", query_body(start, end, target("cvm_cpu", region="ap-shanghai", instances=ids))
    )
    assert status == 200, answer
    assert sorted(series_of(answer)) == ids
    sent = [r["params"] for r in emulator.requests("GetMonitorData")]
    assert sorted(len(p["Instances"]) for p in sent) == [5, 10, 10]
    asked = sorted(d["Value"] for p in sent for i in p["Instances"] for d in i["Dimensions"])
    assert asked == ids
    # six hours at 60 s: 361 slots per series, so 3 instances per call (3 x 361 <= 1440)
    emulator.reset()
    six = query_body(
        end - 6 * 3600, end, target("cvm_cpu", region="ap-shanghai", instances=ids[:10]), interval_ms=20_000
    )
    status, answer = call(make_app(), "POST", "/query", six)
    assert status == 200, answer
    sent = [r["params"] for r in emulator.requests("GetMonitorData")]
    assert {p["Period"] for p in sent} == {60}
    assert sorted(len(p["Instances"]) for p in sent) == [1, 3, 3, 3]
    assert answer[0]["meta"]["custom"]["apiCalls"] == 4


def test_the_cost_floor_applies_to_automatic_periods_only(app, window, emulator):
    hour = rng(H)
    assert choose_period(hour, ALL, NOW, interval_ms=10_000, min_period=60).period == 60
    assert choose_period(hour, ALL, NOW, explicit=10, interval_ms=10_000, min_period=60).period == 10
    assert choose_period(hour, (10,), NOW, interval_ms=10_000, min_period=60).period == 10
    start, end = window
    for payload in ({}, {"period": 10}):
        body = query_body(
            start, end, target("cvm_cpu", instances="ins-gz0web01", **payload), interval_ms=2000
        )
        assert call(app, "POST", "/query", body)[0] == 200
    assert [r["params"]["Period"] for r in emulator.requests("GetMonitorData")] == [60, 10]
