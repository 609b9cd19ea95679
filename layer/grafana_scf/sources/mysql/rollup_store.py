"""The rollup schema on the writer's connection: tables, the state table, one chunk's rewrite.

``<schema>.rollup_state`` keeps one row per rollup: the definition hash its table was
built from, the origin and the watermark (every source row in ``[origin, watermark)`` is
aggregated, as of ``refreshed_at``; both grain boundaries; rows before the origin were
never read), and what the last tick did. A rollup's table
is created from its SQL (``CREATE TABLE … SELECT … LIMIT 0`` infers the column types)
with ``PRIMARY KEY (bucket, dimensions…)``. A chunk is rewritten in one transaction:
DELETE of its bucket range, INSERT … SELECT of the aggregation, the state row updated,
and the rollup's snapshots after the chunk's start recomputed (``snapshots.py``), so a
reader never sees stored buckets and snapshots that disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from grafana_scf.sources.mysql import snapshots
from grafana_scf.sources.mysql.rollups import (
    SNAPSHOT_SUFFIX,
    STATE_TABLE,
    Rollup,
    compile_rollup_sql,
    from_epoch,
    quote_identifier,
    state_table,
)

__all__ = ["STATE_TABLE", "RollupShapeError", "RollupState", "RollupStore"]
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
        self.state_table = state_table(schema)

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
        """The rollup table, and its snapshot table when it declares snapshots, are there."""
        names = [rollup.name] + ([rollup.name + SNAPSHOT_SUFFIX] if rollup.snapshot_ms else [])
        rows = self._run(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name IN %s",
            (self.schema, names),
        )
        return rows[0][0] == len(names)

    def withdraw(self, name: str, grace_s: float) -> float:
        """Stop the planner reading ``name``'s table (watermark NULL, committed) before the
        table is emptied or dropped; the seconds left until no request can still use a
        state read before (``grace_s`` after the withdrawal, ``rollup_states.py``).

        0 when no reader can hold a usable state: no row, or built and never refreshed
        since. A row withdrawn by an earlier tick keeps its time (``refreshed_at``)."""
        rows = self._run(
            f"SELECT watermark IS NOT NULL, TIMESTAMPDIFF(SECOND, refreshed_at, UTC_TIMESTAMP()) "
            f"FROM {self.state_table} WHERE rollup = %s FOR UPDATE",
            (name,),
        )
        planned, withdrawn_s = rows[0] if rows else (False, None)
        if planned:
            self._run(
                f"UPDATE {self.state_table} SET watermark = NULL, refreshed_at = UTC_TIMESTAMP() "
                "WHERE rollup = %s",
                (name,),
            )
        self.conn.commit()
        if planned:
            return grace_s
        if withdrawn_s is None:
            return 0.0
        return max(0.0, grace_s - withdrawn_s + 1)  # + 1: refreshed_at holds whole seconds

    def rebuild(self, rollup: Rollup) -> None:
        """Drop and recreate the table (and the snapshot table) empty, the state row with a NULL
        watermark."""
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
        for statement in snapshots.create_statements(rollup, self.schema):
            self._run(statement)
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
        if len(name + SNAPSHOT_SUFFIX) <= 64:
            self._run(f"DROP TABLE IF EXISTS {snapshots.snapshot_table(name, self.schema)}")
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
        """Re-aggregate the buckets in ``[start, end)``, set the watermark and origin, and
        recompute the snapshots after ``start`` (all of them when the origin moved), in one
        transaction.

        Returns (rows written, snapshot rows included; rows the server read doing it).
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
            self._check_counts(rollup, start, end)
            if rollup.snapshot_ms and origin is not None and watermark is not None:
                written += self._refresh_snapshots(rollup, start, watermark, origin)
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

    def _check_counts(self, rollup: Rollup, start: datetime, end: datetime) -> None:
        """Refuse the chunk if a ``count`` measure is below 1 on a row it wrote: the planner
        reads a count that differs by nothing as no rows (``snapshots.collapsed_span``)."""
        for name, kind in rollup.measures.items():
            if kind != "count":
                continue
            column = quote_identifier(name)
            rows = self._run(
                f"SELECT COUNT(*) FROM {rollup.table(self.schema)} "
                f"WHERE bucket >= %s AND bucket < %s AND NOT {column} >= 1",
                (start, end),
            )
            if rows[0][0]:
                raise RollupShapeError(
                    f"rollup {rollup.name}: measure {name!r} is declared count, but {rows[0][0]} of the "
                    f"rows its SQL answered for [{start}, {end}) hold less than 1 (a count measure "
                    "counts source rows, as COUNT(*) does)"
                )

    def _refresh_snapshots(
        self, rollup: Rollup, start: datetime, watermark: datetime, origin: datetime
    ) -> int:
        """The snapshots after ``start``, or all of them when the origin moved (they cover
        ``[origin, D)``); before the state row is updated, so its origin is the previous one."""
        rows = self._run(f"SELECT origin FROM {self.state_table} WHERE rollup = %s", (rollup.name,))
        moved = not rows or rows[0][0] != origin
        with self.conn.cursor() as cursor:
            return snapshots.refresh_snapshots(
                cursor, rollup, self.schema, origin, origin if moved else start, watermark
            )

    def snapshot_summary(self, rollup: Rollup) -> tuple[int, datetime | None]:
        """(snapshots held, the latest): 0 and None for a rollup without snapshots or table."""
        if not rollup.snapshot_ms or not self.table_exists(rollup):
            return 0, None
        with self.conn.cursor() as cursor:
            summary = snapshots.snapshot_summary(cursor, rollup, self.schema)
        self.conn.commit()
        return summary

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
