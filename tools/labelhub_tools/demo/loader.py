"""Write the demo data into MySQL/MariaDB, or into a plain SQL script.

``seed`` (re)creates the schema in a database (created if missing), loads the
generated rows with multi-row INSERTs (one transaction per batch, foreign-key and
unique checks off during the load, secondary indexes built after it), then creates or
updates the read-only user. ``write_sql`` writes the same statements to a file that
the ``mysql`` client (or a MySQL container's init directory) can run. Passwords are
never printed or logged.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any, TextIO

from labelhub_tools.demo.generator import COLUMNS, TABLES, DemoConfig, estimate_rows, generate

Progress = Callable[[int, int], None]  # (rows written so far, rows expected in all)
BATCH_ROWS = 5000
SCRIPT_BATCH_ROWS = 1000
SQL_MODE = (
    "STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_$]{1,64}")
_USER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
READONLY_HOSTS = ("%", "localhost")
_NO_GRANT_OR_USER = (1141, 1133, 1269, 1396)  # no such grant / user / account


@dataclass(frozen=True)
class SeedReport:
    """What a seed wrote: rows per table and how long it took."""

    database: str
    rows: dict[str, int]
    seconds: float
    target: str  # "host:port", or the SQL script written
    readonly_user: str | None = None
    script: bool = False  # written to a SQL script, not to a server

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_s(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        verb = "wrote a script for" if self.script else "seeded"
        lines = [
            f"{verb} {self.database} ({self.target}): {self.total_rows:,} rows in "
            f"{self.seconds:.1f} s ({self.rows_per_s:,.0f} rows/s)"
        ]
        lines += [f"  {table:<12} {self.rows.get(table, 0):>12,}" for table in TABLES]
        if self.readonly_user:
            lines.append(f"read-only user {self.readonly_user}: SELECT on {self.database}.*")
        return "\n".join(lines)


def schema_sql() -> str:
    """The text of schema.sql."""
    return resources.files("labelhub_tools.demo").joinpath("schema.sql").read_text("utf-8")


def split_sql(text: str) -> list[str]:
    """Statements of a script whose statements end with ';' at a line end ('--' comments)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    parts = re.split(r";[ \t]*(?:\n|$)", "\n".join(lines))
    return [part.strip() for part in parts if part.strip()]


def schema_statements() -> tuple[list[str], list[str]]:
    """schema.sql as (statements to run before the load, the ALTER TABLEs to run after)."""
    statements = split_sql(schema_sql())
    after = [s for s in statements if s.upper().startswith("ALTER TABLE")]
    return [s for s in statements if s not in after], after


def _str_literal(value: str) -> str:
    if "\\" in value or "\0" in value:
        value = value.replace("\\", "\\\\").replace("\0", "\\0")
    return "'" + value.replace("'", "''") + "'"


_LITERALS: dict[type, Callable[[Any], str]] = {
    int: str,
    float: repr,
    str: _str_literal,
    type(None): lambda _: "NULL",
    bool: lambda value: "1" if value else "0",
    datetime: lambda value: "'" + value.isoformat(" ") + "'",
    date: lambda value: "'" + value.isoformat() + "'",
}


def sql_literal(value: object) -> str:
    """``value`` as a MySQL literal (for the sql_mode this module sets: backslash escapes on)."""
    try:
        return _LITERALS[type(value)](value)
    except KeyError:
        raise TypeError(f"no SQL literal for {type(value).__name__}") from None


def insert_statement(table: str, rows: list[tuple]) -> str:
    """One multi-row INSERT of ``rows`` (tuples in ``COLUMNS[table]`` order)."""
    literals = _LITERALS
    values = ",".join("(" + ",".join([literals[type(v)](v) for v in row]) + ")" for row in rows)
    columns = ",".join(f"`{column}`" for column in COLUMNS[table])
    return f"INSERT INTO `{table}` ({columns}) VALUES {values}"


def iter_batches(config: DemoConfig, batch_rows: int) -> Iterator[tuple[str, list[tuple]]]:
    """``generate(config)`` grouped into per-table batches of at most ``batch_rows`` rows."""
    buffers: dict[str, list[tuple]] = {table: [] for table in TABLES}
    for table, row in generate(config):
        buffer = buffers[table]
        buffer.append(row)
        if len(buffer) >= batch_rows:
            yield table, buffer
            buffers[table] = []
    for table, buffer in buffers.items():
        if buffer:
            yield table, buffer


def readonly_user_statements(database: str, user: str, password: str) -> list[str]:
    """Create or update ``user`` at '%' and 'localhost' with SELECT on ``database`` only."""
    _check_name(database, user)
    return account_statements(user, password, [f"SELECT ON `{database}`.*"])


def account_statements(user: str, password: str, grants: list[str]) -> list[str]:
    """Create or update ``user`` at each of ``READONLY_HOSTS`` with ``password`` and ``grants``
    (``"SELECT ON `db`.*"``); the names are checked by the caller."""
    statements = []
    for host in READONLY_HOSTS:
        account = f"{sql_literal(user)}@{sql_literal(host)}"
        secret = sql_literal(password)
        statements += [
            f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {secret}",
            f"ALTER USER {account} IDENTIFIED BY {secret}",
            *(f"GRANT {grant} TO {account}" for grant in grants),
        ]
    return statements


def _check_name(database: str, user: str | None = None) -> None:
    if not _DATABASE_NAME.fullmatch(database):
        raise ValueError(f"database name {database!r}: use letters, digits, '_' or '$'")
    if user is not None and not _USER_NAME.fullmatch(user):
        raise ValueError(f"user name {user!r}: use letters, digits, '_', '.' or '-'")


def _check_readonly_user(user: str | None, admin_user: str) -> None:
    if user is not None and user in ("root", admin_user):
        raise ValueError(f"the read-only user may not be {user!r} (an admin user)")


def _session_statements() -> list[str]:
    return [
        "SET NAMES utf8mb4",
        "SET time_zone = '+00:00'",
        f"SET sql_mode = '{SQL_MODE}'",
        "SET foreign_key_checks = 0",
        "SET unique_checks = 0",
    ]


MARKER_TABLE = "labelhub_demo_seed"
"""Written by seed into every database it fills: only such a database has its tables replaced."""


class SeedRefused(ValueError):
    """The database has demo-named tables that seed did not create."""


def marker_statements(config: DemoConfig) -> list[str]:
    """Create and fill ``MARKER_TABLE``: this database's demo tables are seed's to replace."""
    note = (
        f"labelhub seed replaces {', '.join(TABLES)} here on every run "
        f"(last: seed={config.seed}, days={config.days}, scale={config.scale:g})"
    )
    return [
        f"CREATE TABLE IF NOT EXISTS `{MARKER_TABLE}` "
        "(id TINYINT PRIMARY KEY, seeded_at DATETIME NOT NULL, note VARCHAR(255) NOT NULL)",
        f"REPLACE INTO `{MARKER_TABLE}` VALUES (1, UTC_TIMESTAMP(), {sql_literal(note)})",
    ]


def check_tables_are_seeds(cursor, database: str, where: str) -> None:
    """Refuse a database holding demo-named tables but no ``MARKER_TABLE``: not seed's."""
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
    existing = {row[0].lower() for row in cursor.fetchall()}
    theirs = [table for table in TABLES if table in existing]
    if theirs and MARKER_TABLE not in existing:
        raise SeedRefused(
            f"database `{database}` on {where} has tables seed did not create ({', '.join(theirs)}: "
            f"no `{MARKER_TABLE}` table); seed would drop and recreate them. Pick another database "
            "with --database, or pass --force to replace them"
        )


def _database_statements(database: str) -> list[str]:
    return [
        f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        f"USE `{database}`",
    ]


def seed(
    config: DemoConfig,
    *,
    database: str,
    host: str = "127.0.0.1",
    port: int = 3306,
    admin_user: str = "root",
    admin_password: str = "",
    readonly_user: str | None = None,
    readonly_password: str = "",
    batch_rows: int = BATCH_ROWS,
    connect_timeout: int = 10,
    progress: Progress | None = None,
    force: bool = False,
) -> SeedReport:
    """(Re)create ``database``'s demo tables from ``config`` and the read-only user.

    Idempotent: the same config gives the same rows. ``readonly_user=None`` leaves users
    alone. Connects as the admin user; raises ``pymysql.MySQLError`` on server errors and
    ``SeedRefused`` (before dropping anything) when the database holds demo-named tables
    that seed did not create, unless ``force``.
    """
    import pymysql

    _check_name(database, readonly_user)
    _check_readonly_user(readonly_user, admin_user)
    began = time.perf_counter()
    conn = pymysql.connect(
        host=host,
        port=port,
        user=admin_user,
        password=admin_password,
        charset="utf8mb4",
        autocommit=False,
        connect_timeout=connect_timeout,
    )
    try:
        with conn.cursor() as cursor:
            if readonly_user is not None:
                _refuse_privileged(cursor, readonly_user)
            before, after = schema_statements()
            for statement in [*_session_statements(), *_database_statements(database)]:
                cursor.execute(statement)
            if not force:
                check_tables_are_seeds(cursor, database, f"{host}:{port}")
            for statement in [*marker_statements(config), *before]:
                cursor.execute(statement)
            rows = _load(conn, cursor, config, batch_rows, progress)
            for statement in [*after, "SET foreign_key_checks = 1", "SET unique_checks = 1"]:
                cursor.execute(statement)
            if readonly_user is not None:
                _grant_readonly(cursor, database, readonly_user, readonly_password)
        conn.commit()
    finally:
        conn.close()
    return SeedReport(database, rows, time.perf_counter() - began, f"{host}:{port}", readonly_user)


def _load(conn, cursor, config: DemoConfig, batch_rows: int, progress: Progress | None):
    rows = dict.fromkeys(TABLES, 0)
    expected, done = (estimate_rows(config) if progress else 0), 0
    writer = _Writer(conn, cursor)
    try:
        for table, batch in iter_batches(config, batch_rows):
            writer.submit(insert_statement(table, batch))
            rows[table] += len(batch)
            done += len(batch)
            if progress:
                progress(done, max(expected, done))
    finally:
        writer.close()
    writer.raise_error()
    return rows


class _Writer:
    """Runs each batch's INSERT and COMMIT in a thread while the caller builds the next.

    The server's time and the generator's overlap (socket waits release the GIL). After
    an error the thread drains and drops what is left; ``raise_error`` re-raises it.
    """

    def __init__(self, conn, cursor, depth: int = 4) -> None:
        self._conn, self._cursor = conn, cursor
        self._queue: queue.Queue[str | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-seed-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (statement := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._cursor.execute(statement)
                    self._conn.commit()
                except BaseException as exc:  # handed to the caller by raise_error
                    self._error = exc

    def submit(self, statement: str) -> None:
        self.raise_error()
        self._queue.put(statement)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error


def _grant_readonly(cursor, database: str, user: str, password: str) -> None:
    import pymysql

    for host in READONLY_HOSTS:
        account = f"{sql_literal(user)}@{sql_literal(host)}"
        try:  # start from no privileges on this database (an older seed may have given more)
            cursor.execute(f"REVOKE ALL PRIVILEGES ON `{database}`.* FROM {account}")
        except pymysql.MySQLError as exc:
            if exc.args[0] not in _NO_GRANT_OR_USER:
                raise
    for statement in readonly_user_statements(database, user, password):
        cursor.execute(statement)


def _refuse_privileged(cursor, user: str) -> None:
    """Never touch an account with global privileges (an admin named as the read-only user)."""
    import pymysql

    for host in READONLY_HOSTS:
        try:
            cursor.execute(f"SHOW GRANTS FOR {sql_literal(user)}@{sql_literal(host)}")
        except pymysql.MySQLError as exc:
            if exc.args[0] in _NO_GRANT_OR_USER:
                continue  # no such account yet
            raise
        for (grant,) in cursor.fetchall():
            if " ON *.* " in grant and not grant.startswith("GRANT USAGE ON *.*"):
                raise ValueError(
                    f"read-only user {user!r}@{host!r} has global privileges; "
                    "refusing to change it (pick another MYSQL_USER)"
                )


def write_sql(
    config: DemoConfig,
    out: TextIO,
    *,
    database: str,
    readonly_user: str | None = None,
    readonly_password: str = "",
    batch_rows: int = SCRIPT_BATCH_ROWS,
    progress: Progress | None = None,
    target: str | None = None,
    access: list[str] | None = None,
) -> SeedReport:
    """Write a script that does what ``seed`` does (database, schema, data, read-only user).

    The script selects ``database`` itself (``CREATE DATABASE IF NOT EXISTS`` + ``USE``);
    it contains ``readonly_password`` when ``readonly_user`` is given. ``access``: more
    statements run last (the rollup schema, its writer and grants). ``target`` names the
    script in the report (default: ``out.name``).
    """
    _check_name(database, readonly_user)
    _check_readonly_user(readonly_user, "root")
    began = time.perf_counter()
    before, after = schema_statements()
    rows = dict.fromkeys(TABLES, 0)
    expected, done = (estimate_rows(config) if progress else 0), 0
    out.write(
        f"-- Labelhub demo data: seed={config.seed} until={config.until.isoformat()}Z "
        f"days={config.days} scale={config.scale:g}\n"
        f"-- For an empty database: it drops and recreates the tables {', '.join(TABLES)}.\n"
    )
    statements = [*_session_statements(), *_database_statements(database), *marker_statements(config)]
    _write(out, [*statements, *before])
    for table, batch in iter_batches(config, batch_rows):
        out.write(insert_statement(table, batch) + ";\n")
        rows[table] += len(batch)
        done += len(batch)
        if progress:
            progress(done, max(expected, done))
    _write(out, [*after, "SET foreign_key_checks = 1", "SET unique_checks = 1"])
    if readonly_user is not None:
        _write(out, readonly_user_statements(database, readonly_user, readonly_password))
    if access:
        _write(out, access)
    return SeedReport(
        database,
        rows,
        time.perf_counter() - began,
        target or str(getattr(out, "name", "-")),
        readonly_user,
        script=True,
    )


def _write(out: TextIO, statements: list[str]) -> None:
    out.writelines(statement + ";\n" for statement in statements)
