"""A dashboard refresh through the local runner: every panel of the business dashboard at once.

Grafana sends one ``/query`` per panel (and per annotation), in parallel, as the browser
allows (6 connections per host over HTTP/1.1). This replays ``business-overview.json``
exactly as Grafana would (see ``tests/grafana_files/grafana_model.py``) against
``python -m labelhub_tools serve`` on the demo database, ``--refreshes`` times, and reports
p50/p99 per request and per whole refresh. The baseline, measured in the same run, is
the same requests answered by the function in-process (no HTTP, no runner, one at a
time): the ratio is what HTTP, the runner's instances and concurrency cost.

    .venv/bin/python bench/bench_dashboard.py [--refreshes 30] [--connections 6]
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

from grafana_files.grafana_model import Scene, choose_value, query_body, static_value  # noqa: E402
from grafana_scf.app import create_app  # noqa: E402
from labelhub_tools.local import start_runner  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def scene_of(dashboard: dict, variable_options) -> Scene:
    scene = Scene(dashboard, int(time.time() * 1000))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            options = variable_options(variable)
            scene.values[variable["name"]] = choose_value(variable, options)
        elif variable["type"] != "adhoc":
            scene.values[variable["name"]] = static_value(variable)
    return scene


def bodies(dashboard: dict, scene: Scene) -> list[dict]:
    work = [(None, [a["target"]]) for a in dashboard["annotations"]["list"] if "target" in a]
    for panel in _panels(dashboard):
        work.append((panel, panel["targets"]))
    return [query_body(scene, panel or {}, targets, i) for i, (panel, targets) in enumerate(work)]


def _panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield from ([panel] if panel.get("targets") else [])
        for inner in panel.get("panels", []):
            if inner.get("targets"):
                yield inner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--connections", type=int, default=6)
    args = parser.parse_args()
    dashboard = json.loads((ROOT / "dashboards" / "business-overview.json").read_text())
    app = create_app(
        ROOT / "datasource" / "business" / "index.py", DATASOURCE_TOKEN=None, LOG_LEVEL="WARNING"
    )

    def in_process(body: dict) -> dict:
        event = {"httpMethod": "POST", "path": "/query", "headers": {}, "queryString": {}}
        response = app.handle({**event, "body": json.dumps(body)}, {})
        if response["statusCode"] != 200:
            raise SystemExit(f"in-process query failed: {response['body'][:300]}")
        return json.loads(response["body"])

    def options(variable: dict) -> list[str]:
        event = {"httpMethod": "POST", "path": "/variable", "headers": {}, "queryString": {}}
        body = {"payload": {"target": variable["query"]["query"]}}
        answer = json.loads(app.handle({**event, "body": json.dumps(body)}, {})["body"])
        return [o["__value"] for o in answer]

    work = bodies(dashboard, scene_of(dashboard, options))
    baseline = []
    for _ in range(args.refreshes):
        started = time.perf_counter()
        for body in work:
            in_process(body)
        baseline.append(time.perf_counter() - started)
    app.source.database.close()

    environ = {k: v for k, v in os.environ.items() if k.startswith(("MYSQL_", "PATH"))}
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
