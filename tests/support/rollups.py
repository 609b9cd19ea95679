"""A test-only build of the catalog's rollups, as the refresher leaves them.

``build_rollups`` aggregates every rollup over everything before a watermark (``INSERT
INTO table SELECT`` the rollup SQL) and writes ``rollup_state`` with the watermark and
the definition hash, exactly as docs/catalog.md describes the tables; ``refresh_window``
re-aggregates a bucket range (DELETE then INSERT … SELECT, one transaction) and moves the
watermark, as one refresher tick does. Tests and the benchmark use these to check
planning independently of the refresher.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from grafana_scf.sources.mysql.rollups import Rollup, compile_rollup_sql, quote_identifier

EPOCH = dt.datetime(1970, 1, 1)

STATE_TABLE = """
CREATE TABLE IF NOT EXISTS {schema}.rollup_state (
  rollup          VARCHAR(64) NOT NULL PRIMARY KEY,
  definition_hash CHAR(64) NOT NULL,
  watermark       DATETIME NULL,
  origin          DATETIME NULL,
  refreshed_at    DATETIME NOT NULL,
  rows_written    BIGINT NOT NULL DEFAULT 0
)"""


def create_schema(cursor, schema: str) -> None:
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(schema)}")
    cursor.execute(STATE_TABLE.format(schema=quote_identifier(schema)))


def build_rollups(
    conn,
    rollups: Iterable[Rollup],
    schema: str,
    watermark: dt.datetime,
    since: dt.datetime = EPOCH,
    chunk: dt.timedelta | None = None,
    reuse: bool = False,
) -> dict[str, int]:
    """Every rollup rebuilt from scratch over ``[since, watermark)``, both floored to the
    rollup's grain as the refresher floors them; rows written per rollup.

    ``conn`` uses the source database as its current database (the rollup SQL names
    the source tables unqualified) and a UTC session. ``chunk`` aggregates that much
    time per statement (large data); ``reuse`` keeps a rollup already built to this
    watermark with this definition.
    """
    written = {}
    with conn.cursor() as cursor:
        create_schema(cursor, schema)
        # Keep the aggregation's temporary tables in memory.
        cursor.execute("SET SESSION tmp_table_size = 1073741824, max_heap_table_size = 1073741824")
        for rollup in rollups:
            span = (rollup.floor(since), rollup.floor(watermark))
            if reuse and _built(cursor, rollup, schema, span[1]):
                continue
            written[rollup.name] = _build_one(cursor, rollup, schema, span, chunk)
            conn.commit()
    conn.commit()
    return written


def _built(cursor, rollup: Rollup, schema: str, watermark: dt.datetime) -> bool:
    cursor.execute(
        f"SELECT definition_hash, watermark FROM {quote_identifier(schema)}.rollup_state WHERE rollup = %s",
        (rollup.name,),
    )
    return cursor.fetchone() == (rollup.definition_hash, watermark)


def _build_one(
    cursor, rollup: Rollup, schema: str, span: tuple[dt.datetime, dt.datetime], chunk: dt.timedelta | None
) -> int:
    table = rollup.table(schema)
    since, watermark = span
    bound = compile_rollup_sql(rollup, since, watermark)
    keys = ", ".join(quote_identifier(c) for c in ("bucket", *rollup.dimensions))
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    # Column types from the rollup SQL itself; the key makes range reads by bucket cheap.
    cursor.execute(
        f"CREATE TABLE {table} (PRIMARY KEY ({keys})) SELECT * FROM ({bound.text}) AS r LIMIT 0", bound.params
    )
    rows, start = 0, since
    while start < watermark:
        end = min(watermark, start + chunk) if chunk else watermark
        bound = compile_rollup_sql(rollup, start, end)
        cursor.execute(f"INSERT INTO {table} SELECT * FROM ({bound.text}) AS r", bound.params)
        rows += cursor.rowcount
        start = end
    _write_state(cursor, rollup, schema, watermark, rows)
    return rows


def refresh_window(conn, rollup: Rollup, schema: str, start: dt.datetime, end: dt.datetime) -> int:
    """Re-aggregate the buckets in ``[start, end)`` (floored to the grain) and set the
    watermark to ``end``."""
    table = rollup.table(schema)
    start, end = rollup.floor(start), rollup.floor(end)
    bound = compile_rollup_sql(rollup, start, end)
    with conn.cursor() as cursor:
        cursor.execute("START TRANSACTION")
        cursor.execute(f"DELETE FROM {table} WHERE bucket >= %s AND bucket < %s", (start, end))
        cursor.execute(f"INSERT INTO {table} SELECT * FROM ({bound.text}) AS r", bound.params)
        rows = cursor.rowcount
        _write_state(cursor, rollup, schema, end, rows)
        cursor.execute("COMMIT")
    return rows


def _write_state(cursor, rollup: Rollup, schema: str, watermark: dt.datetime, rows: int) -> None:
    cursor.execute(
        f"REPLACE INTO {quote_identifier(schema)}.rollup_state "
        "(rollup, definition_hash, watermark, refreshed_at, rows_written) "
        "VALUES (%s, %s, %s, UTC_TIMESTAMP(), %s)",
        (rollup.name, rollup.definition_hash, watermark, rows),
    )


def set_definition_hash(conn, schema: str, rollup: str, definition_hash: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote_identifier(schema)}.rollup_state SET definition_hash = %s WHERE rollup = %s",
            (definition_hash, rollup),
        )
    conn.commit()
