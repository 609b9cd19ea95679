"""One PyMySQL connection per warm instance, and the error mapping around it.

The connection opens lazily on first use, is pinged before each query (and
replaced if dead), and speaks utf8mb4 in autocommit with the session time zone at
UTC. Every wait is bounded, and never beyond the request's deadline
(``deadline.current()``):

- connect and ping: ``MYSQL_CONNECT_TIMEOUT_S``;
- a query: the server stops it at its time limit (``max_statement_time`` in seconds on
  MariaDB, ``max_execution_time`` in ms on MySQL), and the socket gives up a little
  later (``MYSQL_READ_TIMEOUT_S``, by default the time limit + 2 s) in case the server
  itself stalls;
- the health check: ``MYSQL_HEALTH_TIMEOUT_S`` for connect and ping together.

PyMySQL takes its read/write timeouts once, per connection; it applies them to the
socket from the connection's ``_read_timeout``/``_write_timeout`` before each read and
write (1.x and 2.x alike), so ``_set_io_timeout`` sets those two per operation.

Each failure gets its own message (``translate``): the server's time limit and a silent
server (504), a lost connection, a refused connection or reconnect, a killed query,
access denied (502). Messages name the server and the user, never the password.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from grafana_scf import deadline
from grafana_scf.errors import BadRequestError, DownstreamError, ServiceError
from grafana_scf.settings import Settings

log = logging.getLogger("grafana_scf.mysql")

# Server and client error codes (MariaDB and MySQL).
_TIME_LIMIT_CODES = {1969, 3024}  # max_statement_time (MariaDB), max_execution_time (MySQL)
_KILLED_CODES = {1317}  # KILL QUERY: "Query execution was interrupted"
_LOST_CODES = {2013, 2006, 2055, 1927, 4031}  # lost / gone away / killed or idle-closed connection
_CONNECT_CODES = {2002, 2003, 2005}  # refused, unreachable, unknown host
_LOCK_WAIT_CODES = {1205}
# Access denied: to the account (1045; 1698 when no authentication method of the account
# succeeded, as MariaDB answers for an unknown user at times), the database or a table.
_ACCESS_CODES = {1044, 1045, 1049, 1142, 1143, 1698}
# The server turned a new connection away: too many connections, blocked or unknown host, a
# user's connection or resource limit, an expired password or a locked account.
_TURNED_AWAY_CODES = {1040, 1129, 1130, 1203, 1226, 1820, 1862, 3118, 4151}
_REGEXP_ERROR = 1139

READ_MARGIN_S = 2.0
"""The socket waits this much longer than the server's time limit before giving up."""
_REQUEST_BUDGET, _HEALTH_BUDGET = "the request's time limit", "MYSQL_HEALTH_TIMEOUT_S"
_MIN_WAIT_S = 0.05
"""Less time than this left in the request: do not start a database call at all."""


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
    read_timeout_s: int | None = None
    query_timeout_ms: int = 10_000
    health_timeout_s: int = 3

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
            health_timeout_s=settings.mysql_health_timeout_s,
        )

    @property
    def where(self) -> str:
        """How errors name the server: never with the password."""
        return f"MySQL {self.user}@{self.host}:{self.port}/{self.database}"

    def read_timeout_for(self, limit_ms: int) -> float:
        """How long the socket waits for a query whose server-side limit is ``limit_ms``."""
        if self.read_timeout_s is not None:
            return float(self.read_timeout_s)
        return limit_ms / 1000 + READ_MARGIN_S


@dataclass(frozen=True)
class _Wait:
    """The socket timeout in force, what it was for, and whether the deadline cut it."""

    seconds: float
    what: str
    by_deadline: bool


class Database:
    """A lazily opened, self-healing connection; one statement at a time, every wait bounded."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timeout_ms: int | None = None
        self._limit = (settings.query_timeout_ms, False)  # the statement limit of the last query
        self._wait = _Wait(float(settings.connect_timeout_s), "connect", False)
        self._reconnecting = False
        self._budget = _REQUEST_BUDGET
        self.is_mariadb = False
        self.server_version = ""

    # -- time ------------------------------------------------------------------

    def _bounded_wait(self, seconds: float, what: str) -> _Wait:
        """``seconds``, or what is left of the request if less; none left is a 504 now."""
        left = deadline.current().remaining_s()
        if left < _MIN_WAIT_S:
            raise deadline.DeadlineExceeded(f"{self.settings.where}: no time left in the request for {what}")
        wait = _Wait(min(float(seconds), left), what, left < seconds)
        self._wait = wait
        return wait

    def _set_io_timeout(self, conn: Any, seconds: float, what: str) -> None:
        wait = self._bounded_wait(seconds, what)
        conn._read_timeout = wait.seconds
        conn._write_timeout = wait.seconds

    # -- connection --------------------------------------------------------------

    def connect(self) -> Any:
        import pymysql

        s = self.settings
        wait = self._bounded_wait(s.connect_timeout_s, "connect")
        try:
            conn = pymysql.connect(
                host=s.host,
                port=s.port,
                user=s.user,
                password=s.password,
                database=s.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=wait.seconds,
                read_timeout=wait.seconds,
                write_timeout=wait.seconds,
                init_command="SET time_zone = '+00:00'",
            )
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, connecting=True) from None
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
        self._reconnecting = False
        if self._conn is not None:
            try:
                self._set_io_timeout(self._conn, self.settings.connect_timeout_s, "ping")
                self._conn.ping(reconnect=False)
                return self._conn
            except ServiceError:
                raise
            except Exception as exc:
                if _timed_out(exc):  # a silent server: reconnecting would only wait again
                    raise
                log.info("connection to %s lost; reconnecting", self.settings.where)
                self._discard()
                self._reconnecting = True
        self._conn = self.connect()
        self._reconnecting = False
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

    def _acquire(self) -> None:
        """Wait for the connection no longer than the request may."""
        left = deadline.current().remaining_s()
        if not self._lock.acquire(timeout=-1 if math.isinf(left) else left):
            raise deadline.DeadlineExceeded(f"{self.settings.where}: the connection stayed busy")

    # -- statements ----------------------------------------------------------------

    def execute(
        self, sql: str, params: dict[str, Any], *, max_rows: int, timeout_ms: int | None = None
    ) -> QueryResult:
        """Run one SELECT; fetch at most ``max_rows`` rows (``truncated`` says if more existed)."""
        self._acquire()
        try:
            return self._execute(sql, params, max_rows, timeout_ms or self.settings.query_timeout_ms)
        except ServiceError:
            raise
        except Exception as exc:
            raise self.translate(exc) from None
        finally:
            self._lock.release()

    def _execute(self, sql: str, params: dict[str, Any], max_rows: int, timeout_ms: int) -> QueryResult:
        conn = self._connection()
        started = time.perf_counter()
        limit_ms = self._statement_limit_ms(timeout_ms)
        self._set_io_timeout(conn, self.settings.read_timeout_for(limit_ms), "query")
        with conn.cursor() as cursor:
            self._set_time_limit(cursor, limit_ms)
            executed = cursor.mogrify(sql, params)
            cursor.execute(executed)
            rows = cursor.fetchmany(max_rows + 1)
            columns = [(d[0], d[1]) for d in cursor.description or ()]
        truncated = len(rows) > max_rows
        if truncated:
            rows = rows[:max_rows]
        duration = (time.perf_counter() - started) * 1000
        return QueryResult(columns, list(rows), truncated, executed, duration)

    def _statement_limit_ms(self, timeout_ms: int) -> int:
        """The server-side limit: the query's own, or the request's time left if less."""
        left_ms = deadline.current().remaining_s() * 1000
        if left_ms >= timeout_ms:
            self._limit = (timeout_ms, False)
        else:  # whole 100 ms steps, so a warm instance rarely has to SET it again
            self._limit = (max(100, int(left_ms) // 100 * 100), True)
        return self._limit[0]

    def _set_time_limit(self, cursor: Any, timeout_ms: int) -> None:
        if timeout_ms == self._timeout_ms:
            return
        if self.is_mariadb:
            cursor.execute("SET SESSION max_statement_time = %s", (timeout_ms / 1000,))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (int(timeout_ms),))
        self._timeout_ms = timeout_ms

    def ping(self) -> str:
        """Check the connection end to end within ``health_timeout_s``; returns the server version."""
        budget = deadline.current().cap_s(self.settings.health_timeout_s)
        with deadline.bind(deadline.Deadline.after(budget)):
            self._acquire()
            self._budget = _HEALTH_BUDGET
            try:
                conn = self._connection()
                self._set_io_timeout(conn, self.settings.connect_timeout_s, "health check")
                with conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchall()
            except ServiceError:
                raise
            except Exception as exc:
                raise self.translate(exc) from None
            finally:
                self._budget = _REQUEST_BUDGET
                self._lock.release()
        return self.server_version

    # -- errors ----------------------------------------------------------------------

    def translate(self, exc: Exception, connecting: bool = False) -> ServiceError:
        """A database exception as a clear 502/504 naming the server, never the password.

        ``connecting``: raised while opening the connection, where any server error but an
        access refusal is the server turning the connection away (502), never a catalog fault.
        """
        where = self.settings.where
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = _message(exc)
        server_error = code is not None and 1000 <= code < 2000
        if connecting and server_error and code not in _ACCESS_CODES:
            return DownstreamError(f"{where} turned the connection away: {text}", HTTPStatus.BAD_GATEWAY)
        if code in _TIME_LIMIT_CODES:
            return self._time_limit_error()
        if code in _KILLED_CODES:
            return DownstreamError(
                f"the query was killed on {where} (KILL QUERY or a server shutdown): {text}",
                HTTPStatus.BAD_GATEWAY,
            )
        if code in _LOST_CODES or code in _CONNECT_CODES or isinstance(exc, OSError):
            self._discard()
        if _timed_out(exc):
            return self._silence_error()
        if code in _LOST_CODES:
            return DownstreamError(f"lost the connection to {where}: {text}", HTTPStatus.BAD_GATEWAY)
        if code in _CONNECT_CODES:
            lead = (
                "lost the connection to {} and could not reconnect"
                if self._reconnecting
                else "cannot reach {}"
            )
            return DownstreamError(f"{lead.format(where)}: {text}", HTTPStatus.BAD_GATEWAY)
        if code in _LOCK_WAIT_CODES:
            return DownstreamError(f"{where} gave up waiting for a lock: {text}", HTTPStatus.GATEWAY_TIMEOUT)
        if code in _ACCESS_CODES:
            return DownstreamError(f"{where} refused access: {text}", HTTPStatus.BAD_GATEWAY)
        if code in _TURNED_AWAY_CODES:
            return DownstreamError(f"{where} turned the connection away: {text}", HTTPStatus.BAD_GATEWAY)
        if code == _REGEXP_ERROR:
            return RegexpError(f"invalid regular expression: {text}")
        if server_error:
            return ServiceError(f"{where} rejected the catalog SQL: {text}", HTTPStatus.INTERNAL_SERVER_ERROR)
        if isinstance(exc, OSError):
            return DownstreamError(f"cannot reach {where}: {exc.__class__.__name__}", HTTPStatus.BAD_GATEWAY)
        log.error("unexpected database error from %s: %r", where, exc)
        return DownstreamError(f"{where} failed: {text}", HTTPStatus.BAD_GATEWAY)

    def _time_limit_error(self) -> ServiceError:
        where = self.settings.where
        limit_ms, by_deadline = self._limit
        if by_deadline:
            log.warning("query stopped by %s at the request's time limit (%d ms were left)", where, limit_ms)
            return deadline.current().exceeded("MySQL")
        return DownstreamError(
            f"query exceeded the {limit_ms} ms time limit and was stopped by {where}",
            HTTPStatus.GATEWAY_TIMEOUT,
        )

    def _silence_error(self) -> ServiceError:
        """The socket timed out: the server (or the network to it) went quiet."""
        wait, where = self._wait, self.settings.where
        doing = "open the connection" if wait.what == "connect" else f"answer the {wait.what}"
        if wait.by_deadline and self._budget == _REQUEST_BUDGET:
            # The request's deadline was the binding limit: the same 504 as every other refId
            # the time ran out on, so the answer names them together.
            log.warning("%s did not %s within %.1f s (the request's time limit)", where, doing, wait.seconds)
            return deadline.current().exceeded("MySQL")
        limit = self._budget if wait.by_deadline else _TIMEOUT_NAMES.get(wait.what, "timeout")
        if wait.what == "query" and not wait.by_deadline and self.settings.read_timeout_s is None:
            limit = f"the query's time limit + {READ_MARGIN_S:g} s"
        return DownstreamError(
            f"{where} did not {doing} within {wait.seconds:.1f} s ({limit}); the connection was dropped",
            HTTPStatus.GATEWAY_TIMEOUT,
        )


_TIMEOUT_NAMES = {
    "connect": "MYSQL_CONNECT_TIMEOUT_S",
    "ping": "MYSQL_CONNECT_TIMEOUT_S",
    "health check": "MYSQL_CONNECT_TIMEOUT_S",
    "query": "MYSQL_READ_TIMEOUT_S",
}


def _timed_out(exc: BaseException) -> bool:
    """A socket timeout, raw or wrapped by PyMySQL (2003 on connect, 2013/2006 after)."""
    for cause in (exc, getattr(exc, "original_exception", None), exc.__context__, exc.__cause__):
        if isinstance(cause, TimeoutError):
            return True
    return False


def _message(exc: Exception) -> str:
    """The server's message of a PyMySQL error; only the class name of anything else
    (a UnicodeEncodeError's arguments hold the whole SQL text, for one)."""
    import pymysql

    if isinstance(exc, pymysql.err.Error) and len(exc.args) >= 2 and isinstance(exc.args[1], str):
        return exc.args[1]
    return exc.__class__.__name__
