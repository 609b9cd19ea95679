"""What one request may cost: points (series x slots) and GetMonitorData calls, over its targets.

Each cap is checked before the first call; over it, the answer is a 400 naming the
setting, the value and the refId, and no GetMonitorData call is made for that target.
"""

from __future__ import annotations

import json
import time

import pytest

from support.events import function_url_event

from .helpers import SimulatedClock, call, gmd_calls, query_body, simulated_worker, target

FLEET = [f"ins-sh{n:06d}" for n in range(1, 101)]


def _made_up(count: int) -> str:
    return "(" + "|".join(f"ins-fake{n:05d}" for n in range(count)) + ")"


def _generic(ids: str, period: int = 60) -> dict:
    return target(
        "metric", namespace="QCE/CVM", metric="CPUUsage", dimensions={"InstanceId": ids}, period=period
    )


def test_five_hundred_made_up_instances_over_a_day_are_refused_before_any_call(app, emulator):
    end = int(time.time()) // 60 * 60 - 600
    start = end - 23 * 3600
    body = query_body(start, end, _generic(_made_up(500)))
    status, answer = call(app, "POST", "/query", body)
    assert status == 400, answer
    message = answer["message"]
    assert message.startswith("A: metric: 500 series x 1381 slots = 690500 Cloud Monitor points")
    assert "CLOUD_API_MAX_POINTS_PER_REQUEST=200000" in message
    assert gmd_calls(emulator) == 0


def test_three_costly_targets_are_refused_together_not_one_by_one(make_app, emulator):
    app = make_app(CLOUD_API_MAX_POINTS_PER_REQUEST=1_000_000)
    end = int(time.time()) // 60 * 60 - 600
    start = end - 23 * 3600
    body = query_body(start, end, *[_generic(_made_up(500)) for _ in range(3)])
    status, answer = call(app, "POST", "/query", body)
    assert status == 400, answer
    assert "500 GetMonitorData calls needed (500 series not cached, at most 1 per call)" in answer["message"]
    assert "CLOUD_API_MAX_CALLS_PER_REQUEST=100" in answer["message"]
    assert gmd_calls(emulator) == 0


def refused(frames, ref_id, status):
    """The error frame of a refId refused beside others that answered: its notice text."""
    (frame,) = [f for f in frames if f["refId"] == ref_id]
    assert frame["fields"] == [] and frame["meta"]["custom"]["status"] == status, frame
    (notice,) = frame["meta"]["notices"]
    assert notice["severity"] == "error"
    return notice["text"]


def test_the_calls_cap_counts_every_target_of_the_request(make_app, window, emulator):
    app = make_app(CLOUD_API_MAX_CALLS_PER_REQUEST=10)
    start, end = window
    first = target("cvm_cpu", region="ap-shanghai", instances=FLEET[:60])  # 6 calls of 10
    second = target("cvm_cpu", region="ap-shanghai", instances=FLEET[60:])  # 4 more calls: 10 in all
    third = target("cvm_cpu", region="ap-shanghai", instances=FLEET[:1], period=300)  # the 11th call
    status, answer = call(app, "POST", "/query", query_body(start, end, first, second))
    assert status == 200, answer
    assert gmd_calls(emulator) == 10
    status, answer = call(app, "POST", "/query", query_body(start, end, third))
    assert status == 200, answer  # a new request: a fresh count
    emulator.reset()
    app = make_app(CLOUD_API_MAX_CALLS_PER_REQUEST=10)
    status, answer = call(app, "POST", "/query", query_body(start, end, first, second, third))
    assert status == 200, answer  # A and B keep their data; C is an error frame (render.py)
    message = refused(answer, "C", 400)
    assert message.startswith("C: cvm_cpu: 1 GetMonitorData calls needed")
    assert "on top of 10 for the request's other targets" in message
    assert "CLOUD_API_MAX_CALLS_PER_REQUEST=10" in message
    assert {f["refId"] for f in answer if f["fields"]} == {"A", "B"}
    assert gmd_calls(emulator) == 10  # C made none


def test_cached_series_cost_no_calls_but_still_count_as_points(make_app, window, emulator):
    app = make_app(CLOUD_API_MAX_CALLS_PER_REQUEST=6, CLOUD_API_MAX_POINTS_PER_REQUEST=61 * 100)
    start, end = window
    body = query_body(start, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET[:60]))
    assert call(app, "POST", "/query", body)[0] == 200
    twice = query_body(start, end, *[target("cvm_cpu", region="ap-shanghai", instances=FLEET[:60])] * 2)
    status, answer = call(app, "POST", "/query", twice)  # cached: 0 calls, but 2 x 60 x 61 points
    assert status == 200, answer  # A answered; B over the cap is an error frame
    assert "60 series x 61 slots = 3660 Cloud Monitor points on top of 3660" in refused(answer, "B", 400)
    assert gmd_calls(emulator) == 6


def test_two_targets_against_a_hanging_api_answer_a_504_within_the_request_deadline(
    make_app, window, emulator
):
    # Every call hangs 10 s; a call may take 5 s and a target used to have 20 s of retries, so
    # two targets ran past any function timeout. The request has 2.5 s (4 s less the margin).
    emulator.set_faults(timeout_rate=1.0, timeout_seconds=10, actions=["GetMonitorData"])
    app = make_app(CLOUD_API_TIMEOUT_S=5)
    start, end = window
    body = query_body(
        start,
        end,
        target("cvm_cpu", region="ap-shanghai", instances=FLEET[:20]),  # two batches: the thread pool
        target("cvm_cpu", instances="ins-gz0web01"),
    )
    answer = app.handle(function_url_event("POST", "/query", body), {"time_limit_in_ms": 4000})
    status, body = answer["statusCode"], json.loads(answer["body"])
    assert status == 504, body
    assert [e["refId"] for e in body["errors"]] == ["A", "B"]
    for error in body["errors"]:
        assert error["status"] == 504
        assert "Cloud Monitor did not answer within the request's time limit (2.5 s)" in error["message"]
    assert "GetMonitorData for 20 of 20 instances in ap-shanghai" in body["message"]
    # A's two batches each made one call that ran into the deadline; no retry, and B made none.
    assert gmd_calls(emulator) == 2


@pytest.mark.parametrize("empty", ["", [], ",", " , ", ["", ","]])
def test_an_empty_dimension_is_a_400_naming_the_field_not_an_empty_panel(app, window, emulator, empty):
    start, end = window
    status, answer = call(app, "POST", "/query", query_body(start, end, _generic(empty)))
    assert status == 400, answer
    assert answer["refId"] == "A"
    assert answer["message"].startswith("A: metric: payload.dimensions.InstanceId has no value")
    assert gmd_calls(emulator) == 0
    status, answer = call(app, "POST", "/query", query_body(start, end, _generic("ins-gz0web01")))
    assert status == 200, answer  # the same target with a value answers


def test_a_range_ending_in_the_future_is_asked_again_after_the_next_slot_boundary(emulator):
    clock = SimulatedClock(float((int(time.time()) - 7200) // 60 * 60 + 10))  # 10 s into a slot
    app, _source = simulated_worker(emulator, clock)
    now = int(clock.now)
    body = query_body(now - 3600, now + 3600, target("cvm_cpu", instances="ins-sh000001"), interval_ms=60_000)
    assert call(app, "POST", "/query", body)[0] == 200
    clock.now += 40  # same slot: answered from the cache
    assert call(app, "POST", "/query", body)[0] == 200
    assert gmd_calls(emulator) == 1
    clock.now += 15  # past the next slot boundary, the same question: asked again (was: 5 min of stale nulls)
    assert call(app, "POST", "/query", body)[0] == 200
    assert gmd_calls(emulator) == 2
