"""A small source database of events with one rollup, its rollup schema and writer user.

Everything carries this run's suffix and is dropped at the end of the module. The
source table is private to the module, so tests may insert, update and delete rows.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from conftest import admin_connection
from grafana_scf.sources.mysql.catalog import load_catalog
from grafana_scf.sources.mysql.database import ConnectionSettings
from grafana_scf.sources.mysql.refresh import Refresher, RefreshLimits
from labelhub_tools.demo.rollup_setup import drop_rollup_access, setup_rollup_access
from support.names import run_name

NOW = datetime(2026, 6, 1, 12, 0, 0)
DAYS = 2
WRITER_PASSWORD = "rollup-test-rw"
EVENTS_SQL = (
    "SELECT $__bucket AS bucket, e.kind, COUNT(*) AS n, SUM(e.amount) AS amount, MAX(e.amount) AS biggest "
    "FROM events e WHERE $__bucketRange GROUP BY 1, 2"
)
CATALOG = {
    "source": "mysql",
    "rollups": {
        "events_5m": {
            "grain": "5m",
            "lateness": 3,
            "time_column": "e.created_at",
            "dimensions": ["kind"],
            "measures": {"n": "sum", "amount": "sum", "biggest": "max"},
            "sql": EVENTS_SQL,
        }
    },
    "metrics": {"events": {"sql": "SELECT 1 AS x"}},
}
EXPECTED_SQL = """
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(created_at) DIV 300 * 300) AS bucket, kind,
       COUNT(*), SUM(amount), MAX(amount)
FROM events WHERE created_at >= %s AND created_at < %s GROUP BY 1, 2 ORDER BY 1, 2
"""


class RollupWorld:
    """The module's databases, and helpers to build refreshers and read tables."""

    def __init__(self, source: str, schema: str, writer: str) -> None:
        self.source, self.schema, self.writer = source, schema, writer
        self.rollups = load_catalog(CATALOG).rollups

    def connection_settings(self, **overrides) -> ConnectionSettings:
        import os

        base = {
            "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "port": int(os.environ.get("MYSQL_PORT", "3306")),
            "user": self.writer,
            "password": WRITER_PASSWORD,
            "database": self.source,
        }
        return ConnectionSettings(**{**base, **overrides})

    def refresher(self, rollups=None, **limits) -> Refresher:
        defaults = {"history_days": DAYS + 1, "chunk_buckets": 48, "reader_grace_s": 0}
        return Refresher(
            rollups or self.rollups,
            self.connection_settings(),
            self.schema,
            RefreshLimits(**{**defaults, **limits}),
        )

    def execute(self, sql: str, params=None) -> list[tuple]:
        with admin_connection(self.source) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def table(self, name: str = "events_5m") -> list[tuple]:
        rows = self.execute(
            f"SELECT bucket, kind, n, amount, biggest FROM `{self.schema}`.`{name}` ORDER BY 1, 2"
        )
        return [tuple(int(v) if not isinstance(v, (datetime, str)) else v for v in row) for row in rows]

    def expected(self, until: datetime, since: datetime = datetime(1970, 1, 1)) -> list[tuple]:
        rows = self.execute(EXPECTED_SQL, (since, until))
        return [tuple(int(v) if not isinstance(v, (datetime, str)) else v for v in row) for row in rows]

    def origin(self, name: str = "events_5m") -> datetime | None:
        rows = self.execute(f"SELECT origin FROM `{self.schema}`.rollup_state WHERE rollup = %s", (name,))
        return rows[0][0] if rows else None

    def watermark(self, name: str = "events_5m") -> datetime | None:
        known = self.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'rollup_state'",
            (self.schema,),
        )
        if not known[0][0]:
            return None
        rows = self.execute(f"SELECT watermark FROM `{self.schema}`.rollup_state WHERE rollup = %s", (name,))
        return rows[0][0] if rows else None

    def reset(self) -> None:
        """The source rows as generated, and no rollup state."""
        self.execute("DELETE FROM events")
        rng = random.Random(12)
        rows = []
        for i in range(4000):
            at = NOW - timedelta(seconds=rng.randrange(DAYS * 86_400))
            rows.append((i + 1, at, rng.choice("abcd"), rng.randrange(1, 100)))
        with admin_connection(self.source) as conn, conn.cursor() as cursor:
            cursor.executemany("INSERT INTO events VALUES (%s, %s, %s, %s)", rows)
            cursor.execute(f"DROP TABLE IF EXISTS `{self.schema}`.events_5m")
            cursor.execute(f"DROP TABLE IF EXISTS `{self.schema}`.events_5m__snapshot")
            cursor.execute(f"DROP TABLE IF EXISTS `{self.schema}`.rollup_state")


@pytest.fixture(scope="module")
def world():
    source, schema, writer = run_name("lh_rollsrc"), run_name("lh_rollup"), run_name("lh_rw")[:32]
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{source}`")
        cursor.execute(
            f"CREATE TABLE `{source}`.events (id INT PRIMARY KEY, created_at DATETIME NOT NULL, "
            "kind VARCHAR(10) NOT NULL, amount INT NOT NULL, KEY ix_events_created (created_at))"
        )
        setup_rollup_access(cursor, source, schema, writer, WRITER_PASSWORD, None)
    world = RollupWorld(source, schema, writer)
    yield world
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{source}`")
        drop_rollup_access(cursor, schema, writer)


@pytest.fixture
def fresh(world):
    """The world with its generated rows and no rollup yet."""
    world.reset()
    return world
