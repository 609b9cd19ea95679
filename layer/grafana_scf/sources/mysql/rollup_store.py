"""The rollup schema on the writer's connection: tables, the state table, one chunk's rewrite.

``<schema>.rollup_state`` keeps one row per rollup: the definition hash its table was
built from, the origin and the watermark (every source row in ``[origin, watermark)`` is
aggregated, as of ``refreshed_at``; both grain boundaries; rows before the origin were
never read), and what the last tick did. A rollup's table
is created from its SQL (``CREATE TABLE … SELECT … LIMIT 0`` infers the column types)
with ``PRIMARY KEY (bucket, dimensions…)``. A chunk is rewritten in one transaction:
DELETE of its bucket range, INSERT … SELECT of the aggregation, the state row updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from grafana_scf.sources.mysql.rollups import Rollup, compile_rollup_sql, from_epoch, quote_identifier

STATE_TABLE = "rollup_state"
_STATE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
  rollup          VARCHAR(64) NOT NULL PRIMARY KEY,
  definition_hash CHAR(64) NOT NULL,
  watermark       DATETIME NULL,
  origin          DATETIME NULL,
  refreshed_at    DATETIME NULL,
  rows_written    BIGINT NOT NULL DEFAULT 0,
  rows_read       BIGINT NOT NULL DEFAULT 0,
  buckets         BIGINT NOT NULL DEFAULT 0,
  tick_ms         BIGINT NOT NULL DEFAULT 0
) DEFAULT CHARSET=utf8mb4"""
_READ_HANDLERS = ("Handler_read_first", "Handler_read_key", "Handler_read_last", "Handler_read_next",
                  "Handler_read_prev", "Handler_read_rnd", "Handler_read_rnd_next")  # fmt: skip


class RollupShapeError(ValueError):
    """A rollup's SQL does not answer the columns the catalog declares."""


@dataclass(frozen=True)
class RollupState:
    """One row of ``rollup_state``."""

    rollup: str
    definition_hash: str
    watermark: datetime | None
    refreshed_at: datetime | None
    origin: datetime | None = None
    rows_written: int = 0
    rows_read: int = 0
    buckets: int = 0
    tick_ms: int = 0


class RollupStore:
    """Statements on one open writer connection (PyMySQL, autocommit off)."""

    def __init__(self, conn: Any, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.state_table = f"{quote_identifier(schema)}.{quote_identifier(STATE_TABLE)}"

    def _run(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def ensure_state_table(self) -> None:
        self._run(_STATE_DDL.format(table=self.state_table))
        self.conn.commit()

    def states(self) -> dict[str, RollupState]:
        rows = self._run(
            f"SELECT rollup, definition_hash, watermark, refreshed_at, origin, rows_written, rows_read, "
            f"buckets, tick_ms FROM {self.state_table}"
        )
        self.conn.commit()
        return {row[0]: RollupState(*row) for row in rows}

    def table_exists(self, rollup: Rollup) -> bool:
        rows = self._run(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (self.schema, rollup.name),
        )
        return bool(rows[0][0])

    def rebuild(self, rollup: Rollup) -> None:
        """Drop and recreate the table empty, the state row with a NULL watermark."""
        table = rollup.table(self.schema)
        self._run(f"DROP TABLE IF EXISTS {table}")
        bound = compile_rollup_sql(rollup, from_epoch(0), from_epoch(rollup.grain_s))
        columns = ", ".join(quote_identifier(c) for c in rollup.columns)
        self._run(
            f"CREATE TABLE {table} AS SELECT {columns} FROM ({bound.text}) AS src LIMIT 0", bound.params
        )
        self._check_columns(rollup)
        key = ", ".join(quote_identifier(c) for c in ("bucket", *rollup.dimensions))
        self._run(f"ALTER TABLE {table} ADD PRIMARY KEY ({key})")
        self._run(
            f"REPLACE INTO {self.state_table} (rollup, definition_hash, watermark) VALUES (%s, %s, NULL)",
            (rollup.name, rollup.definition_hash),
        )
        self.conn.commit()

    def _check_columns(self, rollup: Rollup) -> None:
        rows = self._run(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (self.schema, rollup.name),
        )
        types = {name.lower(): kind.lower() for name, kind in rows}
        if types.get("bucket") not in ("datetime", "timestamp"):
            raise RollupShapeError(
                f"rollup {rollup.name}: its SQL must answer bucket as a DATETIME ($__bucket AS bucket), "
                f"got {types.get('bucket')}"
            )

    def drop(self, name: str) -> None:
        self._run(f"DROP TABLE IF EXISTS {quote_identifier(self.schema)}.{quote_identifier(name)}")
        self._run(f"DELETE FROM {self.state_table} WHERE rollup = %s", (name,))
        self.conn.commit()

    def rewrite(
        self,
        rollup: Rollup,
        start: datetime,
        end: datetime,
        watermark: datetime | None,
        origin: datetime | None,
    ) -> tuple[int, int]:
        """Re-aggregate the buckets in ``[start, end)``, set the watermark and origin, in one transaction.

        Returns (rows written, rows the server read doing it).
        """
        table = rollup.table(self.schema)
        bound = compile_rollup_sql(rollup, start, end)
        columns = ", ".join(quote_identifier(c) for c in rollup.columns)
        before = self.rows_read()
        try:
            self._run(f"DELETE FROM {table} WHERE bucket >= %s AND bucket < %s", (start, end))
            with self.conn.cursor() as cursor:
                written = cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ({bound.text}) AS src",
                    bound.params,
                )
            self._run(
                f"UPDATE {self.state_table} SET watermark = %s, origin = %s, refreshed_at = UTC_TIMESTAMP() "
                "WHERE rollup = %s",
                (watermark, origin, rollup.name),
            )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return int(written), self.rows_read() - before

    def record_tick(self, name: str, rows_written: int, rows_read: int, buckets: int, tick_ms: int) -> None:
        self._run(
            f"UPDATE {self.state_table} SET rows_written = %s, rows_read = %s, buckets = %s, tick_ms = %s "
            "WHERE rollup = %s",
            (rows_written, rows_read, buckets, tick_ms, name),
        )
        self.conn.commit()

    def rows_read(self) -> int:
        """Rows this session's handlers have read so far (``Handler_read_*``)."""
        rows = self._run("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        return sum(int(value) for name, value in rows if name in _READ_HANDLERS)

    def try_lock(self) -> bool:
        rows = self._run("SELECT GET_LOCK(%s, 0)", (self.lock_name,))
        return rows[0][0] == 1

    def release_lock(self) -> None:
        self._run("SELECT RELEASE_LOCK(%s)", (self.lock_name,))

    @property
    def lock_name(self) -> str:
        return f"{self.schema}.refresh"

    def now(self) -> datetime:
        value: datetime = self._run("SELECT UTC_TIMESTAMP()")[0][0]
        self.conn.commit()
        return value
