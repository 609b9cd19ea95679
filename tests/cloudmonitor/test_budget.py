"""Budget: the most expensive requests the schema allows, against a memory-capped worker.

Every Cloud Monitor route gets requests built to cost as much as possible (many series,
tiny periods, long ranges, many targets, the largest maxDataPoints) and is answered by
a worker subprocess whose address space is capped at what it holds after warm-up plus
the function's ``memorySize`` (256 MB). Every answer must be a 200 or a 4xx/504 with a
message, never a 500, a crash or a MemoryError; the peak resident memory of each
request is printed, and that of the largest accepted one stays under ``memorySize``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .helpers import query_body, target

WORKER = Path(__file__).with_name("budget_worker.py")
MEMORY_MB = 256
DAY_S = 86_400
FLEET = [f"ins-sh{n:06d}" for n in range(1, 121)]


def _made_up(count: int) -> str:
    return "(" + "|".join(f"ins-fake{n:05d}" for n in range(count)) + ")"


def _generic(ids, period=None) -> dict:
    payload = {"namespace": "QCE/CVM", "metric": "CPUUsage", "dimensions": {"InstanceId": ids}}
    return target("metric", **payload, **({"period": period} if period else {}))


def _requests(now: int) -> list[tuple[str, str, str, object, tuple[int, ...]]]:
    """(name, method, path, body, accepted statuses)."""
    day_end = now // 60 * 60 - 600
    fleet = target("cvm_cpu", region="ap-shanghai", instances=FLEET[:100])
    huge = {"points": 10**13, "interval_ms": None}
    return [
        ("500 made-up series, 60 s, 23 h", "POST", "/query",
         query_body(day_end - 23 * 3600, day_end, _generic(_made_up(500), 60)), (400,)),
        ("three of those", "POST", "/query",
         query_body(day_end - 23 * 3600, day_end, *[_generic(_made_up(500), 60)] * 3), (400,)),
        ("tiny period: 10 s over 23 h", "POST", "/query",
         query_body(day_end - 23 * 3600, day_end, _generic(_made_up(50), 10)), (400,)),
        ("long range: every instance, 180 days, maxDataPoints 1e13", "POST", "/query",
         query_body(now - 180 * DAY_S, now, target("cvm_cpu", region="ap-shanghai"), **huge), (200, 400)),
        ("largest accepted: 100 series x 1440 slots, 100 calls", "POST", "/query",
         query_body(day_end - 1439 * 60, day_end, {**fleet, "payload": {**fleet["payload"], "period": 60}}),
         (200,)),
        ("40 targets of 100 series over 1 h", "POST", "/query",
         query_body(day_end - 3600, day_end, *[fleet] * 40), (200, 400)),
        ("40 distinct targets, 1 h", "POST", "/query",
         query_body(day_end - 3600, day_end, *[
             target("cvm_cpu", region="ap-shanghai", instances=FLEET[i : i + 30]) for i in range(0, 120, 3)
         ]), (200, 400)),
        ("alarms over a year", "POST", "/query",
         query_body(now - 365 * DAY_S, now, target("alarms")), (200, 400)),
        ("legacy annotations over a year", "POST", "/annotations",
         {"range": {"from": "now-365d", "to": "now"}, "annotation": {"query": "alarms"}}, (200, 400)),
        ("instance variable, 120 CVMs", "POST", "/variable",
         {"payload": {"target": "cvm_instances", "region": "ap-shanghai"}}, (200,)),
        ("instance picker", "POST", "/metric-payload-options",
         {"metric": "cvm_cpu", "name": "instances", "payload": {"region": "ap-shanghai"}}, (200,)),
        ("metrics", "POST", "/metrics", {}, (200,)),
        ("search", "POST", "/search", {"target": ""}, (200,)),
        ("health", "GET", "/", None, (200,)),
    ]  # fmt: skip


def test_the_costliest_requests_fit_a_capped_worker_or_are_refused_with_a_message(emulator):
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), emulator.url, str(MEMORY_MB)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    now = int(time.time())
    warm_up = query_body(
        now - 7200, now - 3600, target("cvm_cpu", region="ap-shanghai", instances=FLEET[:20])
    )
    plan = [("warm-up (two batches: the thread pool)", "POST", "/query", warm_up, (200,)), *_requests(now)]
    reports = []
    try:
        for index, (name, method, path, body, accepted) in enumerate(plan):
            line = {"method": method, "path": path, "body": body, "cap": index == 1}
            worker.stdin.write(json.dumps(line) + "\n")
            worker.stdin.flush()
            answer = worker.stdout.readline()
            assert answer, f"{name}: the worker died"
            reports.append((name, json.loads(answer), accepted))
    finally:
        worker.stdin.close()
        worker.wait(timeout=60)
    for name, report, _accepted in reports:
        print(
            f"{name:58s} {report['status']} {report['bytes']:>9d} B peak RSS {report['peak_rss_mb']:6.1f} MB "
            f"({report['peak_rss_mb'] / MEMORY_MB:.0%} of memorySize)  {(report['message'] or '')[:90]}"
        )
    for name, report, accepted in reports:
        assert report["status"] in accepted, (name, report)
        assert report["status"] == 200 or report["message"], (name, report)
        assert report["peak_rss_mb"] < MEMORY_MB, (name, report)
