"""One PyMySQL connection per warm instance, and the error mapping around it.

The connection opens lazily on first use, is pinged before each query (and
replaced if dead), speaks utf8mb4 in autocommit with the session time zone at UTC,
and carries connect/read timeouts. The per-query time limit is enforced by the
server: ``max_statement_time`` (seconds) on MariaDB, ``max_execution_time``
(ms) on MySQL. Database errors become 502/504 messages that name the server
and the user, never the password.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from grafana_scf.errors import BadRequestError, DownstreamError, ServiceError
from grafana_scf.settings import Settings

log = logging.getLogger("grafana_scf.mysql")

# Server error codes: statement time limits (MariaDB 1969, MySQL 3024), lost/gone connection,
# connect failures, access denied, unknown database, lock wait timeouts.
_TIME_LIMIT_CODES = {1969, 3024, 1317}
_TIMEOUT_CODES = {2013, 1205}
_CONNECT_CODES = {2002, 2003, 2005, 2006, 2055}
_ACCESS_CODES = {1044, 1045, 1049, 1142, 1143}
_REGEXP_ERROR = 1139


class RegexpError(BadRequestError):
    """The server refused a regular expression: a client's ``=~``/``!~`` value (400)."""


@dataclass
class QueryResult:
    """Rows of one statement, their column descriptions, and what happened."""

    columns: list[tuple[str, int]]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    executed: str = ""
    duration_ms: float = 0.0
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    user: str
    password: str
    database: str
    connect_timeout_s: int = 3
    read_timeout_s: int = 30
    query_timeout_ms: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionSettings:
        return cls(
            host=settings.mysql_host,
            port=settings.mysql_port,
            user=settings.mysql_user,
            password=settings.mysql_password or "",
            database=settings.mysql_database,
            connect_timeout_s=settings.mysql_connect_timeout_s,
            read_timeout_s=settings.mysql_read_timeout_s,
            query_timeout_ms=settings.mysql_query_timeout_ms,
        )

    @property
    def where(self) -> str:
        """How errors name the server: never with the password."""
        return f"MySQL {self.user}@{self.host}:{self.port}/{self.database}"


class Database:
    """A lazily opened, self-healing connection; one statement at a time."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timeout_ms: int | None = None
        self.is_mariadb = False
        self.server_version = ""

    def connect(self) -> Any:
        import pymysql

        s = self.settings
        conn = pymysql.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password,
            database=s.database,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=s.connect_timeout_s,
            read_timeout=s.read_timeout_s,
            write_timeout=s.read_timeout_s,
            init_command="SET time_zone = '+00:00'",
        )
        # types-PyMySQL leaves get_server_info unannotated; it returns the server's version string.
        self.server_version = conn.get_server_info()  # type: ignore[no-untyped-call]
        self.is_mariadb = "mariadb" in self.server_version.lower()
        self._timeout_ms = None
        log.info("connected to %s (%s)", s.where, self.server_version)
        return conn

    def _connection(self) -> Any:
        """The open connection, checked with a ping; a dead one is replaced.

        PyMySQL 1.2 deprecates ``ping(reconnect=True)`` in favour of opening a new
        connection, which is what this does (re-running ``init_command`` too).
        """
        if self._conn is not None:
            try:
                self._conn.ping(reconnect=False)
                return self._conn
            except Exception:
                log.info("connection to %s lost; reconnecting", self.settings.where)
                self._discard()
        self._conn = self.connect()
        return self._conn

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("close failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._discard()

    def execute(
        self, sql: str, params: dict[str, Any], *, max_rows: int, timeout_ms: int | None = None
    ) -> QueryResult:
        """Run one SELECT; fetch at most ``max_rows`` rows (``truncated`` says if more existed)."""
        with self._lock:
            try:
                return self._execute(sql, params, max_rows, timeout_ms or self.settings.query_timeout_ms)
            except ServiceError:
                raise
            except Exception as exc:
                raise self.translate(exc) from None

    def _execute(self, sql: str, params: dict[str, Any], max_rows: int, timeout_ms: int) -> QueryResult:
        conn = self._connection()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            self._set_time_limit(cursor, timeout_ms)
            executed = cursor.mogrify(sql, params)
            cursor.execute(executed)
            rows = cursor.fetchmany(max_rows + 1)
            columns = [(d[0], d[1]) for d in cursor.description or ()]
        truncated = len(rows) > max_rows
        if truncated:
            rows = rows[:max_rows]
        duration = (time.perf_counter() - started) * 1000
        return QueryResult(columns, list(rows), truncated, executed, duration)

    def _set_time_limit(self, cursor: Any, timeout_ms: int) -> None:
        if timeout_ms == self._timeout_ms:
            return
        if self.is_mariadb:
            cursor.execute("SET SESSION max_statement_time = %s", (timeout_ms / 1000,))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (int(timeout_ms),))
        self._timeout_ms = timeout_ms

    def ping(self) -> str:
        """Check the connection end to end; returns the server version."""
        with self._lock:
            try:
                with self._connection().cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchall()
            except Exception as exc:
                raise self.translate(exc) from None
        return self.server_version

    def translate(self, exc: Exception) -> ServiceError:
        """A database exception as a clear 502/504 naming the server, never the password."""
        where = self.settings.where
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = _message(exc)
        if code in _TIME_LIMIT_CODES:
            limit = self._timeout_ms or self.settings.query_timeout_ms
            return DownstreamError(
                f"query exceeded the {limit} ms time limit and was stopped by {where}",
                HTTPStatus.GATEWAY_TIMEOUT,
            )
        if code in _CONNECT_CODES or code in _TIMEOUT_CODES:
            self._discard()
        if code in _TIMEOUT_CODES:
            return DownstreamError(f"{where} did not answer in time: {text}", HTTPStatus.GATEWAY_TIMEOUT)
        if code in _CONNECT_CODES:
            return DownstreamError(f"cannot reach {where}: {text}", HTTPStatus.BAD_GATEWAY)
        if code in _ACCESS_CODES:
            return DownstreamError(f"{where} refused access: {text}", HTTPStatus.BAD_GATEWAY)
        if code == _REGEXP_ERROR:
            return RegexpError(f"invalid regular expression: {text}")
        if code is not None and 1000 <= code < 2000:
            return ServiceError(f"{where} rejected the catalog SQL: {text}", HTTPStatus.INTERNAL_SERVER_ERROR)
        if isinstance(exc, OSError | TimeoutError):
            self._discard()
            return DownstreamError(f"cannot reach {where}: {exc.__class__.__name__}", HTTPStatus.BAD_GATEWAY)
        log.error("unexpected database error from %s: %r", where, exc)
        return DownstreamError(f"{where} failed: {text}", HTTPStatus.BAD_GATEWAY)


def _message(exc: Exception) -> str:
    """The server's message of a PyMySQL error; only the class name of anything else
    (a UnicodeEncodeError's arguments hold the whole SQL text, for one)."""
    import pymysql

    if isinstance(exc, pymysql.err.Error) and len(exc.args) >= 2 and isinstance(exc.args[1], str):
        return exc.args[1]
    return exc.__class__.__name__
