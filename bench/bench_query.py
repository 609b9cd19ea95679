"""Warm /query: the business handler end to end vs the floor, at 1k / 10k / 100k points.

The floor is what no datasource can beat: the same expanded SQL through PyMySQL,
``fetchall`` and ``json.dumps`` of the rows (the SQL returns epoch ms, so the floor
needs no conversion at all). Ours adds request parsing, the catalog,
macro expansion, shaping into frames and the integrated response. Both run in this
process against the demo database (``python -m labelhub_tools seed``: 90 days hold
over 100k annotations), warm, best of N. Target: ≤ 1.15x the floor at 10k points.

    .venv/bin/python bench/bench_query.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymysql
import yaml

from grafana_scf.app import create_app
from grafana_scf.settings import read_settings

CATALOG = {
    "source": "mysql",
    "metrics": {
        "points": {
            "description": "raw annotation durations: one point per row",
            "params": {"n": {"type": "integer", "required": True, "maximum": 1_000_000}},
            "sql": "SELECT UNIX_TIMESTAMP(a.created_at) * 1000 AS time, a.duration_s AS duration "
            "FROM annotations a "
            "WHERE $__timeFilter(a.created_at) ORDER BY a.created_at LIMIT :n",
        }
    },
}
SIZES = (1_000, 10_000, 100_000)


def build_app(function_dir: Path):
    (function_dir / "catalog.yaml").write_text(yaml.safe_dump(CATALOG))
    return create_app(
        function_dir / "index.py", DATASOURCE_TOKEN=None, LOG_LEVEL="WARNING", MAX_ROWS=1_000_000
    )


def event(n: int) -> dict:
    body = {
        "range": {"from": "2000-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        "targets": [{"refId": "A", "target": "points", "payload": {"n": n}}],
    }
    return {
        "httpMethod": "POST",
        "path": "/query",
        "headers": {},
        "queryString": {},
        "body": json.dumps(body),
    }


def floor(conn, sql: str) -> int:
    with conn.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return len(json.dumps(rows))


def best(func, repeat: int) -> tuple[float, float]:
    """Best and median seconds of ``repeat`` runs (best is the figure least disturbed by noise)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    settings = read_settings()
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        conn = pymysql.connect(
            host=settings.mysql_host, port=settings.mysql_port, user=settings.mysql_user,
            password=settings.mysql_password, database=settings.mysql_database,
            init_command="SET time_zone = '+00:00'",
        )  # fmt: skip
        header = ("points", "ours ms", "(median)", "floor ms", "ratio", "bytes/point")
        print("{:>8} {:>9} {:>9} {:>9} {:>6} {:>12}".format(*header))
        for n in SIZES:
            first = app.handle(event(n), {})
            frames = json.loads(first["body"])
            got = len(frames[0]["fields"][0]["values"])
            if got < n:
                print(f"{n:>8} skipped: the database has only {got} rows (seed with --large)")
                continue
            sql = frames[0]["meta"]["executedQueryString"]
            ours_best, ours_median = best(lambda n=n: app.handle(event(n), {}), args.repeat)
            floor_best, _ = best(lambda sql=sql: floor(conn, sql), args.repeat)
            per_point = len(first["body"]) / n
            print(
                f"{n:>8} {ours_best * 1e3:>9.1f} {ours_median * 1e3:>9.1f} {floor_best * 1e3:>9.1f} "
                f"{ours_best / floor_best:>6.2f} {per_point:>12.1f}"
            )
        conn.close()
        app.source.database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
