"""The per-instance cache: a refresh within the same period slot costs no GetMonitorData call."""

from __future__ import annotations

import logging

from grafana_scf.sources.cloudmonitor.cache import RECENT_TTL_CAP_S, SETTLED_TTL_S, TtlCache, series_ttl

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
    cache = TtlCache(max_entries=2, clock=lambda: now)
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    cache.put("c", 3, 10)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)
    cache.put("d", 4, 0)
    assert cache.get("d") is None
