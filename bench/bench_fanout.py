"""Cloud Monitor fan-out: 100 instances x 24 h, against the bound latency and rate limit set.

The cloudmonitor function (in-process) asks the local emulator (its own process, as the
real API is elsewhere), which adds ``--latency-ms`` to every call and allows 20
GetMonitorData calls per second. A client held to 20 calls per second cannot finish
``calls`` calls sooner than ``(calls - 1) / 20 + latency`` (Tencent documents the rate,
not a burst allowance, so the bound assumes none), nor sooner than
``ceil(calls / workers) x latency``. Target: ≤ 1.1x the larger of the two, zero
RequestLimitExceeded answered by the emulator, and a second refresh inside the cache TTL
making zero API calls. Our bucket starts with half a second of tokens, which is why a
refresh can beat the strict bound.

    .venv/bin/python bench/bench_fanout.py [--latency-ms 80] [--instances 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from grafana_scf.app import create_app
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
RATE = 20


def body(instances: list[str], end_s: int) -> str:
    target = {"refId": "A", "target": "cvm_cpu", "payload": {"region": "ap-shanghai", "instances": instances}}
    span = {"from": (end_s - 86_400) * 1000, "to": end_s * 1000}
    return json.dumps({"range": span, "targets": [target], "maxDataPoints": 1000})


class Emulator:
    """The emulator in its own process, as the real API is elsewhere (no shared GIL)."""

    def __init__(self, latency_ms: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "labelhub_tools", "emulate", "--port", str(self.port), "--log-level",
                "WARNING", "--rate-limit", str(RATE), "--latency-ms", str(latency_ms)]  # fmt: skip
        self.process = subprocess.Popen(argv)
        for _ in range(100):
            with contextlib.suppress(OSError):
                self.stats()
                return
            time.sleep(0.1)
        raise SystemExit("the emulator did not start")

    def admin(self, path: str, post: bool = False) -> dict:
        request = urllib.request.Request(f"{self.url}/__emulator__/{path}", data=b"{}" if post else None)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self.admin("stats")

    def reset(self) -> None:
        self.admin("reset", post=True)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=80)
    parser.add_argument("--instances", type=int, default=100)
    args = parser.parse_args()
    instances = [f"ins-sh{n:06d}" for n in range(1, args.instances + 1)]
    end_s = (int(time.time()) // 300 - 2) * 300
    event = {
        "httpMethod": "POST",
        "path": "/query",
        "headers": {},
        "queryString": {},
        "body": body(instances, end_s),
    }
    # A warm instance has its metric metadata and instance lists cached (CLOUD_API_LIST_TTL_S):
    # warm them with another day's query, so the measured refresh costs only GetMonitorData.
    warmup = {**event, "body": body(instances, end_s - 3 * 86_400)}
    with Emulator(args.latency_ms) as emulator:
        settings = {
            "CLOUD_API_ENDPOINT": emulator.url,
            "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
            "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
            "CLOUD_API_RATE_LIMIT": RATE,
            "LOG_LEVEL": "WARNING",
            "DATASOURCE_TOKEN": None,
        }
        app = create_app(ROOT / "datasource" / "cloudmonitor" / "index.py", **settings)
        workers = app.source.runner.fetcher.workers
        started = time.perf_counter()
        app.handle(warmup, {})
        cold = time.perf_counter() - started
        time.sleep(1.5)  # let both token buckets refill
        emulator.reset()
        started = time.perf_counter()
        first = app.handle(event, {})
        elapsed = time.perf_counter() - started
        if first["statusCode"] != 200:
            raise SystemExit(f"query failed: {first['body'][:500]}")
        calls = emulator.stats()["actions"]["GetMonitorData"]["calls"]
        outcomes = emulator.stats()["actions"]["GetMonitorData"]["outcomes"]
        throttled = sum(n for code, n in outcomes.items() if code.startswith("RequestLimitExceeded"))
        app.handle(event, {})
        second_calls = emulator.stats()["actions"]["GetMonitorData"]["calls"] - calls
    latency = args.latency_ms / 1000
    rate_bound = (calls - 1) / RATE + latency
    latency_bound = math.ceil(calls / workers) * latency
    bound = max(rate_bound, latency_bound)
    frames = json.loads(first["body"])
    print(
        f"instances {args.instances}, series {len(frames)}, GetMonitorData calls {calls}, workers {workers}"
    )
    print(f"rate bound {rate_bound:.2f} s, latency bound {latency_bound:.2f} s -> bound {bound:.2f} s")
    print(f"warm instance: {elapsed:.2f} s = {elapsed / bound:.2f}x the bound (target <= 1.10)")
    print(f"cold instance (metadata and instance lists fetched too, other day): {cold:.2f} s")
    print(f"RequestLimitExceeded answered: {throttled}; calls on a refresh inside the TTL: {second_calls}")
    return 0 if throttled == 0 and second_calls == 0 and len(frames) == args.instances else 1


if __name__ == "__main__":
    sys.exit(main())
