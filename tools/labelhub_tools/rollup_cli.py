"""``labelhub rollup status | refresh | backfill [--from --to] | drop``: the catalog's rollups.

Runs the engine's refresher (``grafana_scf.sources.mysql.refresh``) in-process as the
rollup writer (ROLLUP_MYSQL_USER/ROLLUP_MYSQL_PASSWORD on ROLLUP_MYSQL_HOST/PORT, else
MYSQL_HOST/PORT), on the business function's catalog. Only the standard library is
imported at module level.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from labelhub_tools import REPO_ROOT

if TYPE_CHECKING:
    from grafana_scf.sources.mysql.refresh import Refresher

ACTIONS = ("status", "refresh", "backfill", "drop")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "action",
        choices=ACTIONS,
        help="status: watermarks and freshness; refresh: one timer tick; backfill: re-aggregate "
        "a range (default: everything); drop: drop the tables and their state",
    )
    add("--rollup", action="append", metavar="NAME", help="only this rollup (repeatable; default: all)")
    add(
        "--from",
        dest="from_",
        type=_when,
        metavar="ISO",
        help="backfill: range start, UTC (default: ROLLUP_HISTORY_DAYS ago)",
    )
    add("--to", type=_when, metavar="ISO", help="backfill: range end, UTC (default: now)")
    add("--unbounded", action="store_true", help="refresh: ignore the per-tick bucket and row bounds")
    add(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="before a rebuild or drop empties a table, leave it this long to requests that planned "
        "from the rollup's state (default: ROLLUP_STATE_TTL_S + the functions' 30 s timeout; "
        "0 when no function serves this schema)",
    )
    add("--database", help="source database (default: MYSQL_DATABASE)")
    add(
        "--catalog",
        type=Path,
        default=REPO_ROOT / "datasource" / "business" / "catalog.yaml",
        help="catalog declaring the rollups (default: the business function's)",
    )
    add("--quiet", "-q", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from grafana_scf.catalog_file import CatalogError

    try:
        refresher = _refresher(args)
    except (CatalogError, ValueError) as exc:
        print(f"rollup: {exc}", file=sys.stderr)
        return 2
    try:
        return _act(args, refresher)
    except KeyError as exc:
        print(f"rollup: {exc.args[0]}", file=sys.stderr)
        return 2
    except _mysql_errors() as exc:
        print(f"rollup: {refresher.writer.where}: {exc}", file=sys.stderr)
        return 1


def _refresher(args: argparse.Namespace) -> Refresher:
    from grafana_scf.catalog_file import load_catalog_file
    from grafana_scf.settings import read_settings
    from grafana_scf.sources.mysql.catalog import load_catalog
    from grafana_scf.sources.mysql.refresh import Refresher

    overrides = {"MYSQL_DATABASE": args.database} if args.database else {}
    settings = read_settings(**overrides)
    catalog = load_catalog(load_catalog_file(args.catalog))
    refresher = Refresher.from_settings(catalog.rollups, settings)
    if args.grace is not None:
        refresher.limits = dataclasses.replace(refresher.limits, reader_grace_s=max(0.0, args.grace))
    return refresher


def _act(args: argparse.Namespace, refresher: Refresher) -> int:
    if args.action == "status":
        print_status(refresher.status(), sys.stdout)
        return 0
    if args.action == "drop":
        for name in refresher.drop(args.rollup):
            print(f"dropped {refresher.schema}.{name}")
        return 0
    bar = None if args.quiet else BucketBar(sys.stderr)
    if args.action == "refresh":
        summary = refresher.tick(only=args.rollup, bounded=not args.unbounded, progress=bar)
    else:
        summary = refresher.backfill(args.from_, args.to, only=args.rollup, progress=bar)
    if bar is not None:
        bar.finish()
    print(json.dumps(summary.to_json(), default=str))
    return {"ok": 0, "partial": 0, "skipped": 3}.get(summary.status, 1)


def print_status(rows: list[dict[str, Any]], out: TextIO) -> None:
    """One line per rollup: name, grain, state, watermark, last tick, snapshots (when kept)."""
    out.write(f"{'rollup':<22} {'grain':>6} {'state':<9} {'watermark (UTC)':<20} {'last tick':<30}\n")
    for row in rows:
        mark = row.get("watermark")
        tick = ""
        if row.get("refreshed_at"):
            tick = f"{row['buckets']} buckets, {row['rows_written']:,} rows, {row['tick_ms']} ms"
        if "snapshots" in row:
            last = row["last_snapshot"]
            tick += f"; {row['snapshots']} snapshots every {row['snapshot_s']}s"
            tick += f", last {last.isoformat(' ')}" if last else ""
        out.write(
            f"{row['rollup']:<22} {row['grain_s']:>5}s {row['state']:<9} "
            f"{mark.isoformat(' ') if mark else '-':<20} {tick}\n"
        )


class BucketBar:
    """Progress of a long backfill on one stderr line (redrawn on a terminal, else every 10 s)."""

    def __init__(self, stream: TextIO, width: int = 28) -> None:
        self.stream, self.width = stream, width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = 0.2 if self.tty else 10.0
        self.began = self.shown = time.monotonic()
        self.drawn = False

    def __call__(self, rollup: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < self.interval and done < total:
            return
        self.shown = now
        fraction = done / total if total else 1.0
        filled = int(fraction * self.width)
        rate = done / max(now - self.began, 1e-6)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} {rollup:<22} "
            f"{done:>7,}/{total:,} buckets {rate:>8,.0f}/s"
        )
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _when(text: str) -> Any:
    from labelhub_tools.demo.cli import parse_until

    return parse_until(text)


def _mysql_errors() -> tuple[type[BaseException], ...]:
    from pymysql import MySQLError

    return (MySQLError, OSError)
