"""Rollup planning: the Business overview refresh at 1, 7, 30 and 90 days, raw and planned.

Every request of ``business-overview.json`` as Grafana sends it (Grafana's own dashboard
engine opens it under Node against the business function served by the local runner,
as ``bench_dashboard.py`` does), replayed to the function in-process, one at a time, on a ``--large`` demo
database whose rollups this script builds first (the full build of
``tests/support/rollups.py``: ``INSERT … SELECT`` of each rollup's SQL up to the current
hour, the snapshots of those that declare them, and ``rollup_state``). Both sides run in
this one process on the same data:

- planned (``ROLLUP_PLANNING`` on) with the production time limit: requests stopped by
  the limit, and the refresh time per range (the median of ``--refreshes`` rounds, each
  round refreshing every range in turn, after one warm refresh of each);
- raw (``ROLLUP_PLANNING=false``) with the time limit lifted, at 1 day and 90 days
  (``--no-raw`` skips them: they take many minutes);
- ``--clients`` concurrent clients (threads, one function instance each) refreshing at
  the dashboard's default range: p50/p99 per request, planned vs raw, with the limit on.

Ratios only (figures depend on the machine): the 90-day planned refresh over the 1-day
planned refresh, and over the raw 90-day refresh.

    labelhub seed --large --database lh_bench_large
    .venv/bin/python bench/bench_rollups.py --database lh_bench_large [--clients 24]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import grafana_bodies, percentile  # noqa: E402

from grafana_scf.app import create_app  # noqa: E402
from labelhub_tools.local import start_runner  # noqa: E402
from support.grafana_scenes import GRAFANA_LINES  # noqa: E402
from support.rollups import build_rollups  # noqa: E402

RANGES = ("1d", "7d", "30d", "90d")
INDEX = ROOT / "datasource" / "business" / "index.py"
WATERMARK = None  # set from --watermark
MAX_REQUEST_MS = 900_000


def make_app(database: str, schema: str, planning: bool, timeout_ms: int):
    settings = {
        "MYSQL_USER": os.environ.get("MYSQL_ADMIN_USER", "root"),
        "MYSQL_PASSWORD": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        "MYSQL_DATABASE": database,
        "ROLLUP_SCHEMA": schema,
        "ROLLUP_PLANNING": planning,
        "MYSQL_QUERY_TIMEOUT_MS": timeout_ms,
        # the socket read timeout follows the time limit, so a lifted limit is lifted wholly
        "MYSQL_READ_TIMEOUT_S": max(30, min(timeout_ms, MAX_REQUEST_MS) // 1000),
    }
    return create_app(INDEX, DATASOURCE_TOKEN=None, LOG_LEVEL="ERROR", **settings)


def handle(app, path: str, body: dict) -> tuple[int, object, float]:
    event = {"httpMethod": "POST", "path": path, "headers": {}, "queryString": {}, "body": json.dumps(body)}
    started = time.perf_counter()
    # SCF's context: the function's time limit. The longest SCF allows, so only the query
    # time limit (MYSQL_QUERY_TIMEOUT_MS) can stop a request.
    response = app.handle(event, {"time_limit_in_ms": MAX_REQUEST_MS})
    return response["statusCode"], json.loads(response["body"]), time.perf_counter() - started


def grafana_work(database: str, schema: str, spans: list[str], line: str) -> dict[str, list[dict]]:
    """Per range, the /query bodies Grafana's scenes send on opening the dashboard at it,
    against the business function (planned) on ``database`` served by the local runner."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "MYSQL_HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "MYSQL_USER": os.environ.get("MYSQL_ADMIN_USER", "root"),
        "MYSQL_PASSWORD": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        "MYSQL_DATABASE": database,
        "ROLLUP_SCHEMA": schema,
    }
    work = {}
    with start_runner(ROOT, functions=["business"], max_instances=4, environ=environ) as runner:
        url = runner.function_url("business").rstrip("/")
        for span in spans:
            dashboard = json.loads((ROOT / "dashboards" / "business-overview.json").read_text())
            dashboard["time"] = {"from": f"now-{span}", "to": "now"}
            work[span] = grafana_bodies(dashboard, url, line, require_ok=False)
    return work


def refresh(app, work: list[dict]) -> tuple[float, int, list[float], dict[str, int]]:
    """One refresh, request after request: seconds, stopped requests, latencies, plans seen."""
    stopped, latencies, plans = 0, [], {}
    started = time.perf_counter()
    for body in work:
        status, answer, seconds = handle(app, "/query", body)
        latencies.append(seconds)
        if status == 504:
            stopped += 1
        elif status != 200:
            raise SystemExit(f"HTTP {status}: {str(answer)[:300]}")
        for frame in answer if isinstance(answer, list) else []:
            mode = frame.get("meta", {}).get("custom", {}).get("rollup")
            if mode:
                plans[mode] = plans.get(mode, 0) + 1
    return time.perf_counter() - started, stopped, latencies, plans


def concurrent(
    database: str, schema: str, planning: bool, clients: int, work: list[dict]
) -> tuple[list[float], int]:
    apps = [make_app(database, schema, planning, 10_000) for _ in range(clients)]
    latencies: list[float] = []
    stopped = [0]
    lock = threading.Lock()

    def client(app) -> None:
        _, n, seconds, _ = refresh(app, work)
        with lock:
            latencies.extend(seconds)
            stopped[0] += n

    threads = [threading.Thread(target=client, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in apps:
        app.source.database.close()
    return latencies, stopped[0]


def build(app, database: str, schema: str) -> None:
    """The test-only full build of every rollup up to the current hour."""
    import pymysql

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    watermark = WATERMARK or now.replace(minute=0, second=0, microsecond=0)
    conn = pymysql.connect(
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        user=os.environ.get("MYSQL_ADMIN_USER", "root"),
        password=os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        database=database,
        init_command="SET time_zone = '+00:00'",
    )
    started = time.perf_counter()
    since = watermark - dt.timedelta(days=400)
    rollups = app.source.catalog.rollups.values()
    rows = build_rollups(conn, rollups, schema, watermark, since, dt.timedelta(days=5), reuse=True)
    conn.close()
    print(f"{database}: full build of the rollups up to {watermark:%Y-%m-%d %H:%M} in "
          f"{time.perf_counter() - started:.1f} s, rows {rows}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a --large demo database")
    parser.add_argument("--rollup-schema", help="schema for the rollups (default: <database>_rollup)")
    parser.add_argument("--refreshes", type=int, default=3, help="planned refreshes per range (median)")
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--concurrent-range", default="7d", help="range of the concurrent refreshes")
    parser.add_argument(
        "--concurrent-database", help="run the concurrent clients on this (e.g. default-size) demo instead"
    )
    parser.add_argument("--skip-build", action="store_true", help="the rollups are already built")
    parser.add_argument(
        "--no-raw", action="store_true", help="planned refreshes only (the raw ones take many minutes)"
    )
    parser.add_argument(
        "--stages",
        choices=("ranges", "concurrent", "ranges,concurrent"),
        default="ranges,concurrent",
        help="ranges (planned and raw by range), concurrent, or both (the default)",
    )
    parser.add_argument("--watermark", help="build the rollups up to this hour (default: the current hour)")
    parser.add_argument("--grafana-line", choices=GRAFANA_LINES, default=GRAFANA_LINES[-1])
    args = parser.parse_args()
    global WATERMARK
    WATERMARK = dt.datetime.fromisoformat(args.watermark) if args.watermark else None
    schema = args.rollup_schema or f"{args.database}_rollup"

    planned = make_app(args.database, schema, True, 10_000)
    if not args.skip_build and "ranges" in args.stages:
        build(planned, args.database, schema)

    if "ranges" in args.stages:
        by_range(planned, args, grafana_work(args.database, schema, list(RANGES), args.grafana_line))
    planned.source.database.close()
    if "concurrent" in args.stages:
        by_clients(args, schema)
    return 0


def by_range(planned, args, work_by_span: dict[str, list[dict]]) -> None:
    schema = planned.source.planner.schema
    results = {}
    for span in RANGES:
        refresh(planned, work_by_span[span])  # warm
    # Round after round over every range, so a drift of the machine weighs on all alike.
    rounds: dict[str, list] = {span: [] for span in RANGES}
    for _ in range(args.refreshes):
        for span in RANGES:
            rounds[span].append(refresh(planned, work_by_span[span]))
    for span in RANGES:
        work, runs = work_by_span[span], rounds[span]
        seconds = statistics.median(r[0] for r in runs)
        stopped = max(r[1] for r in runs)
        results[span] = seconds
        print(f"planned {span:>3}: {len(work)} requests, refresh {seconds * 1e3:8.1f} ms, "
              f"stopped by the time limit: {stopped}, plans {runs[-1][3]}")  # fmt: skip
        print(f"        slowest: {slowest(work, runs[-1][2])}")
    planned.source.database.close()

    print(f"planned 90d / planned 1d = {results['90d'] / results['1d']:.2f} (target <= 1.3)")
    if args.no_raw:
        return
    raw = make_app(args.database, schema, False, 3_600_000)
    raw_results = {}
    for span in ("1d", "90d"):
        seconds, _, latencies, _ = refresh(raw, work_by_span[span])
        raw_results[span] = seconds
        print(f"raw     {span:>3}: refresh {seconds * 1e3:8.1f} ms (time limit lifted); "
              f"slowest: {slowest(work_by_span[span], latencies)}")  # fmt: skip
    raw.source.database.close()
    print(f"planned 90d / raw 90d    = {results['90d'] / raw_results['90d']:.4f} (target <= 0.05)")
    print(f"planned 1d  / raw 1d     = {results['1d'] / raw_results['1d']:.4f}")


def slowest(work: list[dict], latencies: list[float], count: int = 5) -> str:
    named = sorted(zip(latencies, (b["targets"][0]["target"] for b in work)), reverse=True)
    return ", ".join(f"{name} {seconds * 1e3:.0f} ms" for seconds, name in named[:count])


def by_clients(args, schema: str) -> None:
    database = args.concurrent_database or args.database
    if database != args.database:
        schema = f"{database}_rollup"
        if not args.skip_build:
            app = make_app(database, schema, True, 10_000)
            build(app, database, schema)
            app.source.database.close()
    span = args.concurrent_range
    work = grafana_work(database, schema, [span], args.grafana_line)[span]
    for planning in (True, False):
        latencies, stopped = concurrent(database, schema, planning, args.clients, work)
        label = "planned" if planning else "raw    "
        p50, p99 = percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3
        where = f"{args.clients} clients at {args.concurrent_range} on {database}"
        print(f"{label} {where}: per request p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
              f"stopped by the time limit: {stopped} of {len(latencies)}")  # fmt: skip
        print(f"        slowest targets (p99): {slowest_targets(work, latencies)}")


def slowest_targets(work: list[dict], latencies: list[float], count: int = 5) -> str:
    """Each target's p99 over every client's refreshes (latencies in work order, per client)."""
    by_target: dict[str, list[float]] = {}
    for index, seconds in enumerate(latencies):
        by_target.setdefault(work[index % len(work)]["targets"][0]["target"], []).append(seconds)
    worst = sorted(((percentile(v, 0.99), k) for k, v in by_target.items()), reverse=True)[:count]
    return ", ".join(f"{name} {seconds * 1e3:.0f} ms" for seconds, name in worst)


if __name__ == "__main__":
    sys.exit(main())
