"""A dashboard refresh through the local runner: every panel of the business dashboard at once.

Grafana sends one ``/query`` per panel (and per annotation), in parallel, as the browser
allows (6 connections per host over HTTP/1.1). The requests are the ones Grafana's own
dashboard engine builds: ``business-overview.json`` is opened once by ``@grafana/scenes``
under Node (``tests/support/grafana_scenes.py``, Grafana line ``--grafana-line``) against
``python -m labelhub_tools serve`` on the demo database; its ``/query`` bodies are then
replayed ``--refreshes`` times, and the bench reports
p50/p99 per request and per whole refresh. The baseline, measured in the same run, is
the same requests answered by the function in-process (no HTTP, no runner, one at a
time): the ratio is what HTTP, the runner's instances and concurrency cost.

    .venv/bin/python bench/bench_dashboard.py [--refreshes 30] [--connections 6] [--grafana-line 13.2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from grafana_scf.app import create_app  # noqa: E402
from labelhub_tools.local import start_runner  # noqa: E402
from support.grafana_scenes import GRAFANA_LINES, GrafanaScenes  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def grafana_bodies(dashboard: dict, business_url: str, line: str, require_ok: bool = True) -> list[dict]:
    """The /query bodies (panels and annotations) Grafana's scenes send on opening
    (``require_ok=False``: also when some of those queries failed, e.g. timed out)."""
    datasources = {
        "labelhub-business": {"type": "simpod-json-datasource", "isDefault": True, "url": business_url}
    }
    with GrafanaScenes(line) as scenes:
        report = scenes.open(dashboard, datasources, int(time.time() * 1000))
    failed = [e for e in report["exchanges"] if e["status"] != 200]
    if (failed and require_ok) or not report["settled"]:
        raise SystemExit(f"opening the dashboard failed: {failed[:1] or 'did not settle'}")
    return [e["body"] for e in report["exchanges"] if e["url"].endswith("/query")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--grafana-line", choices=GRAFANA_LINES, default=GRAFANA_LINES[-1])
    args = parser.parse_args()
    dashboard = json.loads((ROOT / "dashboards" / "business-overview.json").read_text())
    environ = {k: v for k, v in os.environ.items() if k.startswith(("MYSQL_", "PATH"))}
    with start_runner(
        ROOT, functions=["business"], max_instances=args.connections, environ=environ
    ) as runner:
        work = grafana_bodies(dashboard, runner.function_url("business").rstrip("/"), args.grafana_line)
    app = create_app(
        ROOT / "datasource" / "business" / "index.py", DATASOURCE_TOKEN=None, LOG_LEVEL="WARNING"
    )

    def in_process(body: dict) -> dict:
        event = {"httpMethod": "POST", "path": "/query", "headers": {}, "queryString": {}}
        response = app.handle({**event, "body": json.dumps(body)}, {})
        if response["statusCode"] != 200:
            raise SystemExit(f"in-process query failed: {response['body'][:300]}")
        return json.loads(response["body"])

    baseline = []
    for _ in range(args.refreshes):
        started = time.perf_counter()
        for body in work:
            in_process(body)
        baseline.append(time.perf_counter() - started)
    app.source.database.close()

    with start_runner(
        ROOT, functions=["business"], max_instances=args.connections, environ=environ
    ) as runner:
        url = runner.function_url("business") + "query"
        latencies, refreshes = [], []

        def timed(body: dict) -> float:
            started = time.perf_counter()
            status, _ = post(url, body)
            if status != 200:
                raise SystemExit(f"HTTP {status}")
            return time.perf_counter() - started

        with ThreadPoolExecutor(args.connections) as pool:
            list(pool.map(timed, work))  # warm every instance once (cold starts are not refreshes)
            for _ in range(args.refreshes):
                started = time.perf_counter()
                latencies += list(pool.map(timed, work))
                refreshes.append(time.perf_counter() - started)
        instances = runner.stats()["business"]["instances"]
    base = statistics.median(baseline)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"{len(work)} requests per refresh, {args.refreshes} refreshes, {args.connections} connections, "
          f"{instances} warm instances")  # fmt: skip
    print(f"per request: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
    print(f"whole refresh: p50 {statistics.median(refreshes) * 1e3:.1f} ms, "
          f"p99 {percentile(refreshes, 0.99) * 1e3:.1f} ms")  # fmt: skip
    print(f"baseline (in-process, one at a time): {base * 1e3:.1f} ms per refresh; "
          f"runner refresh / baseline = {statistics.median(refreshes) / base:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
