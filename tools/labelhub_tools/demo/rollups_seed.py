"""After ``seed``: the rollup schema, the writer, the reader's grant, and the rollups backfilled."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import timedelta
from typing import Any

from labelhub_tools import REPO_ROOT


def seed_rollups(args: argparse.Namespace, config: Any, database: str, settings: Any) -> None:
    """Create ROLLUP_SCHEMA and ROLLUP_MYSQL_USER, grant MYSQL_USER SELECT on it, rebuild every rollup."""
    import pymysql

    from grafana_scf.catalog_file import load_catalog_file
    from grafana_scf.settings import read_settings
    from grafana_scf.sources.mysql.catalog import load_catalog
    from grafana_scf.sources.mysql.refresh import Refresher
    from labelhub_tools.demo.rollup_setup import setup_rollup_access
    from labelhub_tools.rollup_cli import BucketBar

    admin_password = args.admin_password
    if admin_password is None:
        admin_password = os.environ.get("MYSQL_ADMIN_PASSWORD", "")
    conn = pymysql.connect(
        host=settings.mysql_host,
        port=settings.mysql_port,
        user=args.admin_user or os.environ.get("MYSQL_ADMIN_USER") or "root",
        password=admin_password,
        autocommit=True,
    )
    reader = None if args.no_readonly_user else settings.mysql_user
    with conn, conn.cursor() as cursor:
        setup_rollup_access(
            cursor, database, settings.rollup_schema, settings.rollup_mysql_user,
            settings.rollup_mysql_password, reader,
        )  # fmt: skip
    catalog = load_catalog(load_catalog_file(REPO_ROOT / "datasource" / "business" / "catalog.yaml"))
    refresher = Refresher.from_settings(catalog.rollups, read_settings(MYSQL_DATABASE=database))
    # The source rows were just rewritten: every rollup starts again, and there is nothing
    # left for a request that planned from the old state to read right (no grace to wait).
    refresher.limits = dataclasses.replace(refresher.limits, reader_grace_s=0)
    refresher.drop()
    bar = None if args.quiet else BucketBar(sys.stderr)
    start = config.until - timedelta(days=config.days + 1)
    summary = refresher.backfill(start, None, progress=bar)
    if bar is not None:
        bar.finish()
    if not args.quiet:
        written = sum(o.rows_written for o in summary.rollups)
        print(
            f"rollups: {len(summary.rollups)} built in {settings.rollup_schema} ({written:,} rows, "
            f"{summary.seconds:.1f} s); writer {settings.rollup_mysql_user}: SELECT on {database}.*, "
            f"ALL on {settings.rollup_schema}.*"
            + (f"; {reader}: SELECT on {settings.rollup_schema}.*" if reader else "")
        )
