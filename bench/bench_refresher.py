"""The rollup refresher: one timer tick with 5 minutes of new data vs a full rebuild.

On a seeded database (``labelhub seed``; the data ends at ``--until``), it builds every
rollup of the business catalog from scratch up to 5 minutes before the end of the data
(the baseline: a full rebuild, timed, with the rows the server read), then runs one
timer tick at the end of the data, as the 5-minute trigger would: the lateness window
plus the new buckets. Prints per rollup and in all: seconds and rows read (the server's
``Handler_read_*``), and the tick as a fraction of the rebuild. The rollup tables are
dropped afterwards.

    MYSQL_DATABASE=labelhub ROLLUP_SCHEMA=... ROLLUP_MYSQL_USER=... ROLLUP_MYSQL_PASSWORD=... \\
        .venv/bin/python bench/bench_refresher.py --until 2026-12-03T10:00Z --days 90 [--ticks 3]
"""

from __future__ import annotations

import argparse
import statistics
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", required=True, help="end of the seeded data, UTC (seed --until)")
    parser.add_argument("--days", type=int, default=90, help="days of seeded data (seed --days)")
    parser.add_argument("--ticks", type=int, default=3, help="ticks to measure (the median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the rollup tables")
    parser.add_argument("--rollup", action="append", metavar="NAME", help="only this rollup (repeatable)")
    args = parser.parse_args()

    from grafana_scf.catalog_file import load_catalog_file
    from grafana_scf.settings import read_settings
    from grafana_scf.sources.mysql.catalog import load_catalog
    from grafana_scf.sources.mysql.refresh import Refresher
    from labelhub_tools.demo.cli import parse_until

    until = parse_until(args.until)
    catalog = load_catalog(load_catalog_file(ROOT / "datasource" / "business" / "catalog.yaml"))
    refresher = Refresher.from_settings(catalog.rollups, read_settings())
    refresher.drop(args.rollup)
    start = until - timedelta(days=args.days + 1)
    rebuild = refresher.backfill(start, until - timedelta(minutes=5), only=args.rollup)
    ticks = []
    for _ in range(args.ticks):
        ticks.append(refresher.tick(now=until, only=args.rollup))
    try:
        _report(rebuild, ticks, until)
    finally:
        if not args.keep:
            refresher.drop(args.rollup)
    return 0


def _report(rebuild: Any, ticks: list[Any], until: datetime) -> None:
    print(
        f"full rebuild up to {until - timedelta(minutes=5)}Z, then ticks at {until}Z (5 minutes of new data)"
    )
    print(f"{'rollup':<22} {'rebuild read':>13} {'tick read':>10} {'buckets':>8} {'ratio':>8}")
    by_name = {o.rollup: o for o in rebuild.rollups}
    first_tick = ticks[0]
    for outcome in first_tick.rollups:
        base = by_name[outcome.rollup]
        ratio = outcome.rows_read / base.rows_read if base.rows_read else 0.0
        print(
            f"{outcome.rollup:<22} {base.rows_read:>13,} {outcome.rows_read:>10,} "
            f"{outcome.buckets:>8} {ratio:>8.4f}"
        )
    rebuild_read = sum(o.rows_read for o in rebuild.rollups)
    tick_read = statistics.median(sum(o.rows_read for o in t.rollups) for t in ticks)
    tick_s = statistics.median(t.seconds for t in ticks)
    print(
        f"{'all':<22} {rebuild_read:>13,} {int(tick_read):>10,}\n"
        f"tick: {tick_s:.3f} s (median of {len(ticks)}) = {tick_s / rebuild.seconds:.4f} of the rebuild's "
        f"{rebuild.seconds:.2f} s; rows read {tick_read / rebuild_read:.4f} of the rebuild's"
    )


if __name__ == "__main__":
    raise SystemExit(main())
