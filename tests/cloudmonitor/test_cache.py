"""The per-instance cache: a refresh within the same period slot costs no GetMonitorData call."""

from __future__ import annotations

import logging

from grafana_scf.sources.cloudmonitor.cache import (
    ENTRY_OVERHEAD_POINTS,
    PURGE_EVERY_S,
    RECENT_TTL_CAP_S,
    SETTLED_TTL_S,
    TtlCache,
    series_cache,
    series_ttl,
)
from grafana_scf.sources.cloudmonitor.fetch import Points
from grafana_scf.sources.cloudmonitor.periods import last_slot

from .helpers import call, gmd_calls, query_body, series_of, target

IDS = ["ins-gz0web01", "ins-gz0web02", "ins-gz0hot01"]


def test_a_repeated_refresh_costs_no_calls(app, window, emulator, caplog):
    start, end = window
    body = query_body(start, end, target("cvm_cpu", instances=IDS))
    caplog.set_level(logging.INFO, "grafana_scf.cloudmonitor")
    status, first = call(app, "POST", "/query", body)
    assert status == 200
    calls = gmd_calls(emulator)
    assert calls == 1
    assert (first[0]["meta"]["custom"]["apiCalls"], first[0]["meta"]["custom"]["cacheHits"]) == (1, 0)
    status, second = call(app, "POST", "/query", body)
    assert status == 200
    assert gmd_calls(emulator) == calls  # zero new calls
    assert second[0]["meta"]["custom"]["apiCalls"] == 0
    assert second[0]["meta"]["custom"]["cacheHits"] == 3
    assert [f["fields"] for f in second] == [f["fields"] for f in first]
    lines = [r.getMessage() for r in caplog.records if "GetMonitorData region=" in r.getMessage()]
    assert "calls=1 cacheHits=0" in lines[0] and "calls=0 cacheHits=3" in lines[1]
    assert emulator.stats()["actions"]["DescribeInstances"]["calls"] == 1  # the list is cached too


def test_a_moving_range_within_the_same_slots_is_a_cache_hit(app, window, emulator):
    start, end = window
    ask = lambda a, b: call(app, "POST", "/query", query_body(a, b, target("cvm_cpu", instances=IDS)))  # noqa: E731
    status, first = ask(start + 10, end + 30)
    assert status == 200
    status, second = ask(start + 20, end + 50)  # a refresh 20 s later: same 60 s slots
    assert status == 200
    assert gmd_calls(emulator) == 1
    assert [f["fields"] for f in second] == [f["fields"] for f in first]
    status, _third = ask(start + 70, end + 70)  # the window moved one slot: asked again
    assert status == 200
    assert gmd_calls(emulator) == 2


def test_only_instances_not_cached_are_fetched(app, window, emulator):
    start, end = window
    call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=IDS[:2])))
    status, answer = call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=IDS)))
    assert status == 200
    assert answer[0]["meta"]["custom"]["cacheHits"] == 2
    last = emulator.requests("GetMonitorData")[-1]["params"]
    assert [i["Dimensions"][0]["Value"] for i in last["Instances"]] == ["ins-gz0hot01"]
    assert sorted(series_of(answer)) == sorted(IDS)


def test_another_statistic_or_period_is_another_question(app, window, emulator):
    start, end = window
    for payload in ({}, {"statistic": "max"}, {"period": 300}, {}):
        call(
            app,
            "POST",
            "/query",
            query_body(start, end, target("cvm_cpu", instances="ins-gz0web01", **payload)),
        )
    assert gmd_calls(emulator) == 3


def test_ttl_follows_the_period_grid():
    now = 1_790_000_000
    slot = now // 300 * 300
    assert series_ttl(slot, 300, now) == slot + 300 - now  # until the window moves on
    assert series_ttl(now // 3600 * 3600, 3600, now) <= RECENT_TTL_CAP_S  # recent: short
    assert series_ttl(now - 7200, 60, now) == SETTLED_TTL_S  # long settled
    cache = TtlCache(max_size=2, clock=lambda: now)
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    cache.put("c", 3, 10)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)
    cache.put("d", 4, 0)
    assert cache.get("d") is None


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _points(count: int) -> Points:
    return Points(tuple(range(count)), tuple(float(i) for i in range(count)))


def test_the_series_cache_is_bounded_by_points_and_evicts_the_least_recently_used():
    clock = Clock(1_790_000_000)
    entry = 1440 + ENTRY_OVERHEAD_POINTS
    cache = series_cache(max_points=10 * entry, clock=clock)
    for i in range(10):
        cache.put(("series", i), _points(1440), 3600)
    assert cache.total_size == 10 * entry
    assert cache.get(("series", 0)) is not None  # 0 is now the most recently used
    for i in range(10, 15):
        cache.put(("series", i), _points(1440), 3600)
    assert cache.total_size <= 10 * entry and len(cache) == 10
    assert cache.get(("series", 0)) is not None
    assert [cache.get(("series", i)) for i in range(1, 6)] == [None] * 5
    cache.put(("huge",), _points(11 * entry), 3600)  # larger than the whole cache: not kept
    assert cache.get(("huge",)) is None and len(cache) == 10


def test_replacing_an_entry_does_not_count_it_twice():
    cache = series_cache(max_points=10_000, clock=Clock(0))
    for _ in range(5):
        cache.put("a", _points(100), 60)
    assert cache.total_size == 100 + ENTRY_OVERHEAD_POINTS and len(cache) == 1


def test_expired_entries_are_purged_without_being_asked_for():
    clock = Clock(1_790_000_000)
    cache = series_cache(max_points=10**9, clock=clock)
    for i in range(100):
        cache.put(("short", i), _points(60), 30)
    cache.put(("long",), _points(60), 3600)
    clock.now += PURGE_EVERY_S + 1
    cache.put(("new",), _points(60), 60)
    assert len(cache) == 2
    assert cache.total_size == 2 * (60 + ENTRY_OVERHEAD_POINTS)


def test_a_window_ending_in_the_future_lives_until_the_next_slot_boundary_only():
    now = 1_790_000_030  # 30 s into a 60 s slot
    next_boundary = last_slot(now, 60) + 60
    today_end = last_slot(now + 12 * 3600, 60)  # "Today": the window runs to midnight
    assert series_ttl(today_end, 60, now) == next_boundary - now
    assert series_ttl(last_slot(now + 3600, 300), 300, now) == last_slot(now, 300) + 300 - now
    daily = series_ttl(last_slot(now + 86_400 * 3, 86_400), 86_400, now)
    assert daily == RECENT_TTL_CAP_S  # the next daily boundary is hours away: still at most 5 min
