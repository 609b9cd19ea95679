"""The Cloud Monitor series cache in two levels: answers through Redis equal the uncached
ones for a sample of targets (the real SDK against the emulator); a second instance makes
no GetMonitorData call; keys, values and lifetimes; a lock holder that never answers."""

from __future__ import annotations

import time

import pytest

from grafana_scf.sources.cloudmonitor import shared_series
from grafana_scf.sources.cloudmonitor.cache import RECENT_TTL_CAP_S, SETTLED_TTL_S
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

from .cloudmonitor_helpers import (
    GZ,
    HOUR,
    cost,
    gmd_calls,
    post,
    query_body,
    sample_requests,
    settled_end,
    target,
    without_cost,
)

SERIES_KEYS = "lh:v1:cloudmonitor:series:*"


@pytest.mark.parametrize("index", range(len(sample_requests(0))))
def test_answers_through_redis_equal_uncached_ones(cm_apps, emulator, index):
    plain, (first, second) = cm_apps
    request = sample_requests(settled_end())[index]
    expected = without_cost(post(plain, request))
    assert expected[0] == 200, expected
    cold = post(first, request)
    assert without_cost(cold) == expected  # fetched, stored in memory and in Redis
    assert cost(cold) >= 1
    before = gmd_calls(emulator)
    warm = post(second, request)  # another instance: every series from Redis
    assert without_cost(warm) == expected
    assert (cost(warm), gmd_calls(emulator)) == (0, before)
    assert cost(warm, "cacheHits") == cost(warm, "series")
    assert without_cost(post(first, request)) == expected  # from its own memory


def test_a_series_in_memory_and_one_in_redis_make_one_answer(cm_apps, emulator):
    plain, (first, second) = cm_apps
    end = settled_end()
    post(first, query_body(end - HOUR, end, target("cvm_cpu", instances=GZ[:2])))
    post(second, query_body(end - HOUR, end, target("cvm_cpu", instances=GZ[2:4])))
    request = query_body(end - HOUR, end, target("cvm_cpu", instances=GZ))
    calls = gmd_calls(emulator)
    answer = post(first, request)  # 2 in its memory, 2 in Redis, 1 fetched
    assert gmd_calls(emulator) == calls + 1
    last = emulator.requests("GetMonitorData")[-1]["params"]
    assert [i["Dimensions"][0]["Value"] for i in last["Instances"]] == [GZ[4]]
    assert without_cost(answer) == without_cost(post(plain, request))


def test_keys_and_values_hold_no_secret_and_live_as_long_as_series_ttl(cm_apps, redis_clean):
    _plain, (first, _second) = cm_apps
    end = settled_end()
    post(first, query_body(end - HOUR, end, target("cvm_cpu", instances=GZ[:2])))
    client = redis_clean.client()
    keys = client.keys(SERIES_KEYS)
    assert len(keys) == 2
    for key in keys:
        value = client.get(key)
        for secret in (DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY):
            assert secret.encode() not in key and secret.encode() not in value
        assert SETTLED_TTL_S - 60 < client.pttl(key) / 1000 <= SETTLED_TTL_S  # settled: an hour
    now = int(time.time())
    post(first, query_body(now - HOUR, now, target("cvm_cpu", instances=GZ[:1])))  # reaches the present
    recent = [k for k in client.keys(SERIES_KEYS) if k not in keys]
    assert len(recent) == 1 and 0 < client.pttl(recent[0]) / 1000 <= min(60, RECENT_TTL_CAP_S)


def test_a_copy_from_redis_lives_in_memory_no_longer_than_in_redis(cm_apps, redis_clean):
    _plain, (first, second) = cm_apps
    now = int(time.time())
    request = query_body(now - HOUR, now, target("cvm_cpu", instances=GZ[:1]))
    post(first, request)
    (key,) = redis_clean.client().keys(SERIES_KEYS)
    left_s = redis_clean.client().pttl(key) / 1000
    post(second, request)
    cache = second.source.series_cache
    ((expires, _size, _points),) = cache._data.values()
    assert expires - time.time() <= left_s + 0.5


def test_a_lock_holder_that_never_answers_delays_a_waiter_by_at_most_half_its_time(
    cm_apps, emulator, redis_clean, monkeypatch
):
    plain, (first, second) = cm_apps
    names = []
    original = shared_series.coalesced

    def recording(store, name, lookup, compute):
        names.append(store.key("lock", name))
        return original(store, name, lookup, compute)

    monkeypatch.setattr(shared_series, "coalesced", recording)
    end = settled_end()
    request = query_body(end - HOUR, end, target("cvm_cpu", instances=GZ[:3]))
    expected = without_cost(post(plain, request))
    post(first, request)
    (lock,) = names
    client = redis_clean.client()
    client.flushall()
    client.set(lock, b"another instance", px=60_000)  # holds the batch's lock, never answers
    calls = gmd_calls(emulator)
    started = time.monotonic()
    answer = post(second, request, {"time_limit_in_ms": 4_000})  # 2.5 s budget: waits 1.25 s at most
    waited = time.monotonic() - started
    assert without_cost(answer) == expected
    assert gmd_calls(emulator) == calls + 1 and cost(answer) == 1  # then its own call
    assert 1.0 < waited < 2.5
