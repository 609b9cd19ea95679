"""Cloud Monitor instances in separate processes missing the same series at once make one
GetMonitorData call per batch (the emulator counts them); with Redis stopped while they
wait, each answers from its own call, with the same data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from support.private_redis import private_redis

from .cloudmonitor_helpers import (
    FLEET,
    GZ,
    HOUR,
    cm_settings,
    gmd_calls,
    post,
    query_body,
    settled_end,
    target,
    without_cost,
)
from .instances import results, start_instances

WORKER = Path(__file__).with_name("cloudmonitor_worker.py")
INSTANCES = 4
SLOW_CALL_MS = 1500
"""Every GetMonitorData takes this long: the other instances find the batch's lock taken."""


def answers_of(outputs: list[dict]) -> list:
    return [without_cost((o["status"], json.loads(o["body"]))) for o in outputs]


def api_calls(outputs: list[dict]) -> int:
    """GetMonitorData calls the instances report making (their answers' ``meta.custom``)."""
    frames = [json.loads(o["body"]) for o in outputs]
    return sum(f[0]["meta"]["custom"]["apiCalls"] for f in frames)


@pytest.mark.parametrize(
    ("region", "instances", "batches"),
    [("ap-guangzhou", GZ[:3], 1), ("ap-shanghai", FLEET, 3)],  # 25 instances: batches of 10, 10, 5
)
def test_instances_missing_the_same_series_make_one_call_per_batch(
    tmp_path, make_cloudmonitor_app, emulator, redis_clean, region, instances, batches
):
    end = settled_end()
    request = query_body(end - HOUR, end, target("cvm_cpu", region=region, instances=instances))
    expected = without_cost(post(make_cloudmonitor_app(), request))
    assert gmd_calls(emulator) == batches
    emulator.reset()
    emulator.set_faults(latency_ms=SLOW_CALL_MS, actions=["GetMonitorData"])
    settings = cm_settings(emulator, REDIS_URL=redis_clean.url)
    outputs = results(start_instances(tmp_path, WORKER, settings, request, INSTANCES))
    assert answers_of(outputs) == [expected] * INSTANCES
    assert gmd_calls(emulator) == batches  # one instance called, the others waited for its series
    assert api_calls(outputs) == batches


def test_redis_stopped_while_instances_wait_for_a_call(tmp_path, make_cloudmonitor_app, emulator):
    end = settled_end()
    request = query_body(end - HOUR, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET))
    expected = without_cost(post(make_cloudmonitor_app(), request))
    emulator.reset()
    emulator.set_faults(latency_ms=SLOW_CALL_MS, actions=["GetMonitorData"])
    with private_redis() as server:
        settings = cm_settings(emulator, REDIS_URL=server.url)
        processes = start_instances(tmp_path, WORKER, settings, request, INSTANCES)
        client, stop_at = server.client(), time.monotonic() + 60
        while not client.keys("lh:v1:cloudmonitor:lock:*"):
            assert time.monotonic() < stop_at, "no instance took a batch's lock"
            time.sleep(0.01)
        server.stop()  # the holders cannot store their series, the waiters cannot read them
        outputs = results(processes)
    assert answers_of(outputs) == [expected] * INSTANCES
    assert 3 <= gmd_calls(emulator) <= 3 * INSTANCES
