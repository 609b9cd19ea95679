"""Fan-out under the rate limit, retries, and failures that name their instances."""

from __future__ import annotations

import re

import pytest

from grafana_scf.sources.cloudmonitor.api import ApiFailure
from grafana_scf.sources.cloudmonitor.fetch import Series, match_points
from grafana_scf.sources.cloudmonitor.ratelimit import RateLimitTimeout, TokenBucket
from labelhub_tools.emulator import expected_value, slot_timestamps
from labelhub_tools.emulator.faults import FaultDice

from .helpers import call, gmd_calls, outcomes, query_body, series_of, target

FLEET = [f"ins-sh{n:06d}" for n in range(1, 101)]
GZ = ["ins-gz0web01", "ins-gz0web02", "ins-gz0hot01", "ins-gz0gap01", "ins-gz0flk01"]


def cpu_values(instance, start, end, period=60):
    return [
        expected_value("QCE/CVM", "CPUUsage", instance, t, period, "avg")
        for t in slot_timestamps(start, end, period)
    ]


def test_a_hundred_instances_fan_out_within_the_rate_limit(make_app, window, emulator):
    emulator.set_faults(rate_limit=5)  # 5 calls per second per key and action, bursts of 5
    app = make_app(CLOUD_API_RATE_LIMIT=5, CLOUD_API_WORKERS=4)
    start, end = window
    body = query_body(start, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET))
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    found = series_of(answer)
    assert sorted(found) == FLEET
    for iid in (FLEET[0], FLEET[57], FLEET[-1]):
        assert found[iid][1] == cpu_values(iid, start, end)
    assert outcomes(emulator) == {"ok": 10}  # ten calls of ten, none refused
    assert "RequestLimitExceeded" not in outcomes(emulator, "DescribeInstances")
    assert answer[0]["meta"]["custom"]["apiCalls"] == 10


def throttle_seed(rate: float, batches: int, retries: int) -> int:
    """A seed whose throttled calls hit the first round but can never exhaust a batch's retries."""
    for seed in range(1000):
        draws = [
            FaultDice.draw(seed, "GetMonitorData", n, "throttle") < rate
            for n in range(batches * (retries + 1))
        ]
        if any(draws[:batches]) and sum(draws) <= retries:
            return seed
    raise AssertionError("no seed found")


def test_throttling_is_survived_with_correct_values(make_app, window, emulator):
    emulator.set_faults(throttle_rate=0.3, actions=["GetMonitorData"], seed=throttle_seed(0.3, 3, 3))
    app = make_app(CLOUD_API_RETRIES=3)
    start, end = window
    ids = FLEET[:30]
    status, answer = call(
        app, "POST", "/query", query_body(start, end, target("cvm_cpu", region="ap-shanghai", instances=ids))
    )
    assert status == 200, answer
    assert outcomes(emulator).get("RequestLimitExceeded", 0) >= 1
    assert answer[0]["meta"]["custom"]["retries"] == outcomes(emulator)["RequestLimitExceeded"]
    found = series_of(answer)
    assert all(found[i][1] == cpu_values(i, start, end) for i in ids)


def test_throttled_out_is_a_429_naming_the_instances(make_app, window, emulator):
    emulator.set_faults(throttle_rate=1.0, actions=["GetMonitorData"])
    app = make_app(CLOUD_API_RETRIES=2)
    start, end = window
    status, answer = call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=GZ[:2])))
    assert status == 429
    assert (
        "GetMonitorData failed for 2 of 2 instances in ap-guangzhou (ins-gz0web01, ins-gz0web02)"
        in answer["message"]
    )
    assert "RequestLimitExceeded" in answer["message"]
    assert gmd_calls(emulator) == 3  # one call and two retries


def test_errors_fail_the_query_and_name_every_instance(make_app, window, emulator):
    emulator.set_faults(error_rate=1.0, actions=["GetMonitorData"])
    start, end = window
    status, answer = call(
        make_app(), "POST", "/query", query_body(start, end, target("cvm_cpu", instances=GZ))
    )
    assert status == 502
    assert answer["message"].startswith(
        "A: cvm_cpu: GetMonitorData failed for 5 of 5 instances in ap-guangzhou ("
    )
    assert all(i in answer["message"] for i in GZ)
    assert "InternalError" in answer["message"] and "RequestId" in answer["message"]
    assert gmd_calls(emulator) == 1  # InternalError is not retried


def test_a_partial_failure_names_exactly_the_failed_instances(make_app, window, emulator):
    emulator.set_faults(error_rate=0.5, actions=["GetMonitorData"], seed=4)
    app = make_app()
    start, end = window
    body = query_body(start, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET[:40]))
    status, answer = call(app, "POST", "/query", body)
    failed = {
        d["Value"]
        for r in emulator.requests("GetMonitorData")
        if r["outcome"] == "InternalError"
        for i in r["params"]["Instances"]
        for d in i["Dimensions"]
    }
    assert 0 < len(failed) < 40, "seed 4 must fail some batches, not all"
    assert status == 502
    assert set(re.findall(r"ins-sh\d{6}", answer["message"])) == failed
    assert f"failed for {len(failed)} of 40 instances" in answer["message"]
    # the batches that worked were cached: asking again repeats only the failed ones
    emulator.set_faults(error_rate=0.0)
    before = gmd_calls(emulator)
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    assert gmd_calls(emulator) - before == len(failed) // 10
    assert answer[0]["meta"]["custom"]["cacheHits"] == 40 - len(failed)


def test_timeouts_are_504s_naming_the_instances(make_app, window, emulator):
    emulator.set_faults(timeout_rate=1.0, timeout_seconds=4, actions=["GetMonitorData"])
    app = make_app(CLOUD_API_TIMEOUT_S=1, CLOUD_API_RETRIES=1)
    start, end = window
    status, answer = call(app, "POST", "/query", query_body(start, end, target("cvm_cpu", instances=GZ[:3])))
    assert status == 504
    assert "for 3 of 3 instances" in answer["message"]
    assert "no answer within 1 s" in answer["message"]
    assert outcomes(emulator) == {"timeout": 2}  # one call, one retry (one batch)


def test_http_errors_are_retried_then_502(make_app, window, emulator):
    emulator.set_faults(http_error_rate=1.0, actions=["GetMonitorData"])
    start, end = window
    status, answer = call(
        make_app(CLOUD_API_RETRIES=1),
        "POST",
        "/query",
        query_body(start, end, target("cvm_cpu", instances="ins-gz0web01")),
    )
    assert status == 502
    assert "HTTP error status" in answer["message"]
    assert outcomes(emulator) == {"http_502": 2}


def test_a_response_without_datapoints_is_an_error_and_an_empty_one_is_no_data():
    batch = [
        Series("ins-1", "one", (("InstanceId", "ins-1"),)),
        Series("ins-2", "two", (("InstanceId", "ins-2"),)),
    ]
    with pytest.raises(ApiFailure) as caught:
        match_points({"DataPoints": None}, batch, None)
    assert caught.value.status == 502 and "without DataPoints" in caught.value.message
    answer = {
        "DataPoints": [
            {
                "Dimensions": [{"Name": "InstanceId", "Value": "ins-2"}],
                "Timestamps": [60.0, 120.0],
                "Values": [1, None],
            },
            {"Dimensions": [{"Name": "InstanceId", "Value": "ins-1"}], "Timestamps": [], "Values": []},
        ]
    }
    points = match_points(answer, batch, None)
    assert points[batch[1].dimensions].timestamps == (60, 120)
    assert points[batch[1].dimensions].values == (1.0, None)
    assert points[batch[0].dimensions].empty


def test_token_bucket_queues_callers_and_respects_deadlines():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)

    bucket = TokenBucket(4, clock=lambda: now[0], sleep=sleep)
    assert bucket.capacity == 2
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.25)
    assert bucket.acquire() == pytest.approx(0.5)
    with pytest.raises(RateLimitTimeout):
        bucket.acquire(deadline=0.5)
    now[0] = 10.0  # refilled, but never above capacity
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert bucket.acquire() > 0
