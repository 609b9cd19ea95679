"""A team watching: viewers refreshing two dashboards, per-instance state against Redis.

Each simulated viewer refreshes the Business overview and the Infrastructure dashboards
every ``--period`` seconds (staggered starts), every panel's ``/query`` as Grafana sends it
(the bodies Grafana's own dashboard engine sends on opening each dashboard,
``tests/support/grafana_scenes.py``, replayed with the range moved to each refresh's
"now"), through the local runner with
``--instances`` instances per function, on a demo database of the benchmark's own and
the Tencent Cloud API emulator (its own process) enforcing the account's rate limit of
20 calls/s; the catalog's rollups built for that database in a rollup schema of its
own. Three runs, one after another, same load:

- ``per instance``: no ``REDIS_URL`` (each instance its own cache and token bucket);
- ``redis``: a private redis-server (never the machine's): shared pieces and Cloud
  Monitor series, coalescing, one rate limit per account;
- ``redis, aligned``: the same with ``ALIGN_RANGE_START`` (first buckets whole).

Measured: MySQL statements (``SELECT``s counted by a TCP proxy of ours in front of
MariaDB) per business panel per refresh window (the windows: from the start to the end
of the last refresh, over the period); Cloud Monitor calls per second (the
emulator's counters, read every second), GetMonitorData calls alone (what the series
caches save) and RequestLimitExceeded answers; p50/p99 per panel; the dashboard
refreshes done, and how many took longer than the period (the machine falling behind).
Printed as ratios against the per-instance run. The proxy also counts the reads of the
rollup state (``state reads``, included in the SELECTs).

    .venv/bin/python bench/bench_shared_cache.py [--viewers 10] [--seconds 60] [--period 10]
        [--runs per-instance,redis,aligned]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

import bench_fanout  # noqa: E402
from bench_fanout import Emulator  # noqa: E402

from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY  # noqa: E402
from labelhub_tools.local import start_runner  # noqa: E402
from support.grafana_scenes import GRAFANA_LINES, GrafanaScenes  # noqa: E402
from support.names import run_name  # noqa: E402
from support.private_redis import private_redis  # noqa: E402

DASHBOARDS = {"business": "business-overview.json", "cloudmonitor": "infrastructure.json"}
RO_USER, RO_PASSWORD = run_name("lh_bench_ro"), "labelhub-bench-ro"
ROLLUP_SCHEMA = run_name("labelhub_bench_rollup")
RUNS = ("per-instance", "redis", "aligned")


class StatementCounter:
    """A TCP proxy in front of MariaDB counting the ``SELECT`` statements clients send (COM_QUERY)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.selects = 0
        self.state_reads = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self) -> tuple[int, int]:
        """(SELECTs, of which reads of the rollup state) since the last call."""
        with self._lock:
            counts = self.selects, self.state_reads
            self.selects = self.state_reads = 0
            return counts

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        pending = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if from_client:
                    pending = self._count(pending + data)
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.close()

    def _count(self, buffer: bytes) -> bytes:
        while len(buffer) >= 4:
            length = int.from_bytes(buffer[:3], "little")
            if len(buffer) < 4 + length:
                break
            payload = buffer[4 : 4 + length]
            if payload[:1] == b"\x03" and payload[1:].lstrip()[:6].upper() == b"SELECT":
                state_read = b"rollup_state" in payload and b"JOIN" not in payload
                with self._lock:
                    self.selects += 1
                    self.state_reads += state_read
            buffer = buffer[4 + length :]
        return buffer


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def grafana_requests(urls: dict[str, str]) -> list[tuple[str, str, dict]]:
    """``(function, panel, body)`` of every ``/query`` Grafana sends opening both dashboards."""
    datasources = {
        f"labelhub-{fn}": {
            "type": "simpod-json-datasource",
            "isDefault": fn == "business",
            "url": url.rstrip("/"),
        }
        for fn, url in urls.items()
    }
    out = []
    with GrafanaScenes(GRAFANA_LINES[-1]) as scenes:
        for fn, name in DASHBOARDS.items():
            dashboard = json.loads((ROOT / "dashboards" / name).read_text())
            report = scenes.open(dashboard, datasources, int(time.time() * 1000))
            for exchange in report["exchanges"]:
                if exchange["url"].endswith("/query") and exchange["status"] == 200:
                    body = exchange["body"]
                    names = "+".join(str(t.get("target")) for t in body.get("targets", []))
                    kind = "annotation " if str(body.get("requestId", "")).startswith("AQ") else ""
                    out.append((fn, kind + names, body))
    return out


def moved(body: dict, delta_ms: int) -> dict:
    """``body`` with its range ``delta_ms`` later (a refresh: "now" has moved on)."""

    def later(iso: str) -> str:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) + dt.timedelta(milliseconds=delta_ms)
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"

    span = body["range"]
    return {**body, "range": {**span, "from": later(span["from"]), "to": later(span["to"])}}


class Load:
    """Viewers on a shared pool of connections; latencies per (function, panel)."""

    def __init__(self, urls: dict[str, str], args: argparse.Namespace) -> None:
        self.urls, self.args = urls, args
        self.opened_ms = int(time.time() * 1000)
        self.requests = grafana_requests(urls)
        self.latencies: dict[tuple[str, str], list[float]] = {}
        self.failures = 0
        self.refreshes = 0
        self.elapsed_s = 0.0
        self.late = 0
        """Dashboard refreshes done, and those that took longer than the period (behind)."""
        self._lock = threading.Lock()

    def refresh(self, pool: ThreadPoolExecutor) -> list:
        delta = int(time.time() * 1000) - self.opened_ms
        return [pool.submit(self._timed, fn, title, moved(body, delta)) for fn, title, body in self.requests]

    def _timed(self, fn: str, title: str, body: dict) -> None:
        started = time.perf_counter()
        status, _ = post(self.urls[fn] + "query", body)
        elapsed = time.perf_counter() - started
        with self._lock:
            self.latencies.setdefault((fn, title), []).append(elapsed)
            self.failures += status != 200

    def run(self, seconds: float) -> None:
        """Refreshes start until ``seconds`` have passed; ``elapsed_s`` is until the last ended."""
        args = self.args
        began = time.monotonic()
        stop_at = began + seconds
        with ThreadPoolExecutor(args.connections) as pool:

            def viewer(index: int) -> None:
                time.sleep(index * args.period / args.viewers)  # staggered starts
                while time.monotonic() < stop_at:
                    started = time.monotonic()
                    for future in self.refresh(pool):
                        future.result()
                    took = time.monotonic() - started
                    with self._lock:
                        self.refreshes += 1
                        self.late += took > args.period
                    time.sleep(max(0.0, args.period - took))

            threads = [threading.Thread(target=viewer, args=(i,)) for i in range(args.viewers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self.elapsed_s = time.monotonic() - began


class CallRate:
    """Cloud Monitor calls per second, from the emulator's counters read every second."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator, self.per_second, self._stop = emulator, [], threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def totals(self) -> tuple[int, int]:
        actions = self.emulator.stats()["actions"].values()
        calls = sum(a.get("calls", 0) for a in actions)
        refused = sum(a.get("outcomes", {}).get("RequestLimitExceeded", 0) for a in actions)
        return calls, refused

    def series_calls(self) -> int:
        """GetMonitorData calls alone (what the series caches and coalescing save)."""
        return self.emulator.stats()["actions"].get("GetMonitorData", {}).get("calls", 0)

    def _watch(self) -> None:
        last = self.totals()[0]
        while not self._stop.wait(1.0):
            now = self.totals()[0]
            self.per_second.append(now - last)
            last = now

    def __enter__(self) -> CallRate:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def seed_database(name: str) -> None:
    """The demo data up to now, and every rollup of the catalog built up to the current
    hour in the benchmark's own rollup schema (as deployed: planned answers), readable by
    the read-only user."""
    import pymysql

    from grafana_scf.catalog_file import load_catalog_file
    from grafana_scf.sources.mysql.catalog import load_catalog
    from labelhub_tools.demo.generator import DemoConfig
    from labelhub_tools.demo.loader import seed
    from support.rollups import build_rollups

    until = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    seed(
        DemoConfig(until=until, days=10), database=name, readonly_user=RO_USER, readonly_password=RO_PASSWORD
    )
    catalog = load_catalog(load_catalog_file(ROOT / "datasource" / "business" / "catalog.yaml"))
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=name,
                           init_command="SET time_zone = '+00:00'")  # fmt: skip
    with conn:
        build_rollups(
            conn, catalog.rollups.values(), ROLLUP_SCHEMA, until.replace(minute=0, second=0, microsecond=0)
        )
        with conn.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute(f"GRANT SELECT ON `{ROLLUP_SCHEMA}`.* TO %s@%s", (RO_USER, host))


def drop_database(name: str) -> None:
    import pymysql

    connection = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with connection as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"DROP DATABASE IF EXISTS `{ROLLUP_SCHEMA}`")
        for host in ("%", "localhost"):
            cursor.execute("DROP USER IF EXISTS %s@%s", (RO_USER, host))


def run_mode(label: str, extra: dict, database: str, args: argparse.Namespace) -> dict:
    counter = StatementCounter(("127.0.0.1", 3306))
    with Emulator(latency_ms=40) as emulator:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "MYSQL_HOST": "127.0.0.1",
            "MYSQL_PORT": str(counter.port),
            "MYSQL_USER": RO_USER,
            "MYSQL_PASSWORD": RO_PASSWORD,
            "MYSQL_DATABASE": database,
            "ROLLUP_SCHEMA": ROLLUP_SCHEMA,
            "CLOUD_API_ENDPOINT": emulator.url,
            "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
            "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
            "CLOUD_API_RATE_LIMIT": str(args.cm_limit),
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        with start_runner(ROOT, max_instances=args.instances, environ=environ) as runner:
            urls = {fn: runner.function_url(fn) for fn in DASHBOARDS}
            load = Load(urls, args)
            with ThreadPoolExecutor(args.instances) as pool:  # warm every instance (cold starts apart)
                for future in [f for _ in range(args.instances) for f in load.refresh(pool)]:
                    future.result()
            load.latencies.clear()
            load.failures = 0
            counter.take()
            emulator.reset()
            with CallRate(emulator) as rate:
                load.run(args.seconds)
            calls, refused = rate.totals()
            series_calls = rate.series_calls()
    windows = load.elapsed_s / args.period  # the last refreshes end after args.seconds
    business_panels = sum(fn == "business" for fn, _, _ in load.requests)
    statements, state_reads = counter.take()
    return {
        "label": label,
        "statements": statements,
        "state_reads": state_reads,
        "windows": windows,
        "business_panels": business_panels,
        "calls": calls,
        "series_calls": series_calls,
        "refused": refused,
        "peak_calls_s": max(rate.per_second, default=0),
        "latencies": load.latencies,
        "failures": load.failures,
        "refreshes": load.refreshes,
        "late": load.late,
    }


def report(results: list[dict], args: argparse.Namespace) -> None:
    base = results[0] if results[0]["label"] == "per instance" else None
    ended = ", ".join(f"{r['windows'] * args.period:.1f}" for r in results)
    print(f"{args.viewers} viewers x 2 dashboards every {args.period:g} s (staggered), {args.seconds:g} s "
          f"(the last refreshes ended after {ended} s: the windows counted), "
          f"{args.instances} instances per function, {args.connections} connections, "
          f"Cloud Monitor limit {args.cm_limit} calls/s")  # fmt: skip
    for r in results:
        r["statements_per_panel_window"] = r["statements"] / (r["business_panels"] * r["windows"])
    print(f"\n{'run':<16}{'SELECTs':>9}{'state reads':>13}{'per panel/window':>18}{'CM calls':>10}"
          f"{'GetMonitorData':>16}{'peak/s':>8}{'mean/s':>8}{'refused':>9}{'failed':>8}"
          f"{'refreshes':>11}{'late':>6}")  # fmt: skip
    for r in results:
        mean = r["calls"] / args.seconds
        selects = f"{r['statements']:>9}{r['state_reads']:>13}{r['statements_per_panel_window']:>18.2f}"
        calls = f"{r['calls']:>10}{r['series_calls']:>16}{r['peak_calls_s']:>8}{mean:>8.1f}"
        outcome = f"{r['refused']:>9}{r['failures']:>8}{r['refreshes']:>11}{r['late']:>6}"
        print(f"{r['label']:<16}{selects}{calls}{outcome}")
    for r in results[1:] if base else []:
        ratio = r["statements"] / max(1, base["statements"])
        series_ratio = r["series_calls"] / max(1, base["series_calls"])
        print(f"{r['label']}: statements / per instance = {ratio:.3f}; "
              f"GetMonitorData / per instance = {series_ratio:.3f}; "
              f"RequestLimitExceeded {r['refused']} against {base['refused']}")  # fmt: skip
    print(f"\n{'panel':<42}" + "".join(f"{r['label'] + ' p50/p99 ms':>30}" for r in results))
    for key in sorted(results[0]["latencies"]):
        cells = []
        for r in results:
            values = r["latencies"].get(key, [0.0])
            cells.append(f"{percentile(values, 0.5) * 1e3:>14.0f} /{percentile(values, 0.99) * 1e3:>7.0f}")
        print(f"{(key[0][:5] + ' ' + key[1])[:41]:<42}" + "".join(f"{c:>30}" for c in cells))
    for r in results[1:] if base else []:
        p50 = [statistics.median(v) for v in r["latencies"].values()]
        base50 = [statistics.median(base["latencies"][k]) for k in r["latencies"] if k in base["latencies"]]
        ratio = statistics.median(p50) / statistics.median(base50)
        print(f"{r['label']}: median of panel p50s / per instance = {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--period", type=float, default=10)
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--cm-limit",
        type=int,
        default=20,
        help="the account's Cloud Monitor calls/s, both sides",
    )
    parser.add_argument(
        "--runs",
        type=lambda text: text.split(","),
        default=list(RUNS),
        help=f"which runs, comma-separated (default: {','.join(RUNS)}); ratios need per-instance",
    )
    args = parser.parse_args()
    if set(args.runs) - set(RUNS):
        parser.error(f"--runs: choose from {', '.join(RUNS)}")
    bench_fanout.RATE = args.cm_limit  # the emulator's --rate-limit
    database = run_name("labelhub_bench")
    seed_database(database)
    results = []
    try:
        if "per-instance" in args.runs:
            results.append(run_mode("per instance", {}, database, args))
        with private_redis(maxmemory="128mb") as redis_server:
            if "redis" in args.runs:
                results.append(run_mode("redis", {"REDIS_URL": redis_server.url}, database, args))
                redis_server.client().flushall()
            if "aligned" in args.runs:
                aligned = {"REDIS_URL": redis_server.url, "ALIGN_RANGE_START": "true"}
                results.append(run_mode("redis, aligned", aligned, database, args))
    finally:
        drop_database(database)
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
