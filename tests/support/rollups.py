"""A test-only build of the catalog's rollups, as the refresher leaves them.

``build_rollups`` aggregates every rollup over everything before a watermark (``INSERT
INTO table SELECT`` the rollup SQL), builds its snapshots (the engine's
``refresh_snapshots``, as the refresher does) and writes ``rollup_state`` with the
watermark, the origin and the definition hash, exactly as docs/catalog.md describes the
tables; ``refresh_window`` re-aggregates a bucket range (DELETE then INSERT … SELECT and
the snapshots after it, one transaction) and moves the watermark, as one refresher tick
does. Tests and the benchmark use these to check planning independently of the refresher.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from grafana_scf.sources.mysql.rollups import MEASURE_AGGREGATE, Rollup, compile_rollup_sql, quote_identifier
from grafana_scf.sources.mysql.snapshots import (
    boundaries,
    create_statements,
    refresh_snapshots,
    snapshot_table,
)

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
    origin = since
    if since == EPOCH:  # everything is stored: any origin at or before the first bucket is true
        cursor.execute(f"SELECT MIN(bucket) FROM {table}")
        origin = cursor.fetchone()[0] or watermark
    for statement in create_statements(rollup, schema):
        cursor.execute(statement)
    refresh_snapshots(cursor, rollup, schema, origin, origin, watermark)
    _write_state(cursor, rollup, schema, watermark, origin, rows)
    return rows


def refresh_window(conn, rollup: Rollup, schema: str, start: dt.datetime, end: dt.datetime) -> int:
    """Re-aggregate the buckets in ``[start, end)`` (floored to the grain) and set the
    watermark to ``end``."""
    table = rollup.table(schema)
    start, end = rollup.floor(start), rollup.floor(end)
    bound = compile_rollup_sql(rollup, start, end)
    with conn.cursor() as cursor:
        cursor.execute("START TRANSACTION")
        origin = _origin(cursor, rollup, schema)
        cursor.execute(f"DELETE FROM {table} WHERE bucket >= %s AND bucket < %s", (start, end))
        cursor.execute(f"INSERT INTO {table} SELECT * FROM ({bound.text}) AS r", bound.params)
        rows = cursor.rowcount
        refresh_snapshots(cursor, rollup, schema, origin, start, end)
        _write_state(cursor, rollup, schema, end, origin, rows)
        cursor.execute("COMMIT")
    return rows


def move_origin(conn, rollup: Rollup, schema: str, origin: dt.datetime) -> None:
    """Set the rollup's origin and recompute its snapshots (they cover ``[origin, D)``); the
    caller has made the stored rows match (none before the origin)."""
    state = f"{quote_identifier(schema)}.rollup_state"
    with conn.cursor() as cursor:
        cursor.execute(f"UPDATE {state} SET origin = %s WHERE rollup = %s", (origin, rollup.name))
        cursor.execute(f"SELECT watermark FROM {state} WHERE rollup = %s", (rollup.name,))
        refresh_snapshots(cursor, rollup, schema, origin, origin, cursor.fetchone()[0])
    conn.commit()


def _origin(cursor, rollup: Rollup, schema: str) -> dt.datetime:
    cursor.execute(
        f"SELECT origin FROM {quote_identifier(schema)}.rollup_state WHERE rollup = %s", (rollup.name,)
    )
    return cursor.fetchone()[0]


def _write_state(
    cursor, rollup: Rollup, schema: str, watermark: dt.datetime, origin: dt.datetime, rows: int
) -> None:
    cursor.execute(
        f"REPLACE INTO {quote_identifier(schema)}.rollup_state "
        "(rollup, definition_hash, watermark, origin, refreshed_at, rows_written) "
        "VALUES (%s, %s, %s, %s, UTC_TIMESTAMP(), %s)",
        (rollup.name, rollup.definition_hash, watermark, origin, rows),
    )


def set_definition_hash(conn, schema: str, rollup: str, definition_hash: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote_identifier(schema)}.rollup_state SET definition_hash = %s WHERE rollup = %s",
            (definition_hash, rollup),
        )
    conn.commit()


def snapshot_mismatches(cursor, rollup: Rollup, schema: str) -> list[tuple]:
    """Snapshot rows unlike a recomputation from the stored rows, either way (empty: all equal).

    The recomputation is plain SQL over the rollup table: for every boundary ``D`` in
    ``(origin, watermark]``, the measures aggregated over the stored buckets in
    ``[origin, D)`` per dimension values; each row comes back tagged ``missing`` (expected,
    not in the snapshot table) or ``extra`` (in the snapshot table, not expected).
    """
    if not rollup.snapshot_ms:
        return []
    cursor.execute(
        f"SELECT origin, watermark FROM {quote_identifier(schema)}.rollup_state WHERE rollup = %s",
        (rollup.name,),
    )
    origin, watermark = cursor.fetchone()
    names = ", ".join(quote_identifier(c) for c in rollup.columns)
    actual = f"SELECT {names} FROM {snapshot_table(rollup, schema)}"
    ats = boundaries(rollup, origin, watermark)
    if not ats:
        cursor.execute(f"SELECT 'extra', {names} FROM {snapshot_table(rollup, schema)}")
        return list(cursor.fetchall())
    dimensions = ", ".join(f"r.{quote_identifier(d)}" for d in rollup.dimensions)
    aggregates = ", ".join(
        f"{MEASURE_AGGREGATE[kind]}(r.{quote_identifier(m)}) AS {quote_identifier(m)}"
        for m, kind in rollup.measures.items()
    )
    moments = " UNION ALL ".join("SELECT CAST(%s AS DATETIME) AS at" for _ in ats)
    expected = (
        f"SELECT d.at AS bucket, {dimensions}, {aggregates} FROM ({moments}) AS d "
        f"JOIN {rollup.table(schema)} AS r ON r.bucket >= %s AND r.bucket < d.at GROUP BY d.at, {dimensions}"
    )
    cursor.execute(
        f"SELECT 'missing', x.* FROM (({expected}) EXCEPT ({actual})) AS x "
        f"UNION ALL SELECT 'extra', y.* FROM (({actual}) EXCEPT ({expected})) AS y",
        (*ats, origin, *ats, origin),
    )
    return list(cursor.fetchall())
