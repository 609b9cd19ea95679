"""A private MariaDB server of the test run's own, for tests that stop, restart or reconfigure one.

The machine's server (``MYSQL_HOST``:``MYSQL_PORT``) is shared by every checkout testing at
the same time: a test never stops it, restarts it or changes a GLOBAL setting on it. A
test that needs a server to die, come back or log every statement gets this one instead:
``mariadbd`` on a datadir bootstrapped by ``mariadb-install-db`` in a fresh temporary
folder, with its own socket, pid file, temporary-file folder and a free port on
127.0.0.1, started with ``--no-defaults`` so that nothing of the machine's configuration
(its pid file, socket, port or datadir) is ever read. Its own ``--tmpdir`` matters: at
start-up a server deletes every ``#sql*`` file in its tmpdir, which in the shared ``/tmp``
would be the machine server's temporary tables in use ("Error on delete of
'/tmp/#sql-temptable-…'" in whatever query owned them). Root logs in over TCP without a
password.

    with private_mariadb() as server:
        server.restart()
        with server.connect() as conn: ...

The server runs in its own session (Ctrl-C reaches the tests, whose clean-up stops it)
and dies with the process that started it (Linux ``PR_SET_PDEATHSIG``); stopping it
removes its folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
HOST = "127.0.0.1"
ADMIN_USER = "root"
# Like the machine's Debian configuration where it matters to the tests; small and quick elsewhere.
SERVER_OPTIONS = (
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=2",
    "--performance-schema=OFF",
)


class PrivateServerError(RuntimeError):
    """The private server could not be set up, started or stopped; the message says why."""


def why_unavailable() -> str | None:
    """Why no private server can be made here (None when one can)."""
    for tool in ("mariadbd", "mariadb-install-db"):
        if _tool(tool) is None:
            return f"{tool} is not installed (a private MariaDB server for this test needs it)"
    return None


def _tool(name: str) -> str | None:
    """``name`` on PATH, or in the sbin folders Debian keeps ``mariadbd`` in."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class PrivateMariaDB:
    """One ``mariadbd`` on a temporary datadir; ``start``, ``stop``, ``restart``, ``remove``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.socket = root / "mysqld.sock"
        self.pid_file = root / "mysqld.pid"
        self.error_log = root / "error.log"
        self.tmpdir = root / "tmp"
        self.port = free_port()
        self.host, self.admin_user, self.admin_password = HOST, ADMIN_USER, ""
        self._process: subprocess.Popen | None = None

    @classmethod
    def create(cls) -> PrivateMariaDB:
        """A bootstrapped datadir in a new temporary folder (not started yet)."""
        reason = why_unavailable()
        if reason:
            raise PrivateServerError(reason)
        server = cls(Path(tempfile.mkdtemp(prefix="labelhub-private-mariadb-")))
        try:
            server._install()
        except BaseException:
            server.remove()
            raise
        return server

    def _install(self) -> None:
        self.tmpdir.mkdir(exist_ok=True)
        command = [
            _tool("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}",
            f"--tmpdir={self.tmpdir}",
            "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
            *self._user_option(),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise PrivateServerError(f"mariadb-install-db failed ({done.returncode}): {done.stderr[-2000:]}")

    @staticmethod
    def _user_option() -> list[str]:
        """mariadbd refuses to run as root unless told to; as anyone else it runs as that user."""
        return ["--user=root"] if os.geteuid() == 0 else []

    def _command(self) -> list[str]:
        return [
            _tool("mariadbd"), "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
            f"--pid-file={self.pid_file}", f"--log-error={self.error_log}", f"--port={self.port}",
            f"--tmpdir={self.tmpdir}",
            f"--bind-address={HOST}", *self._user_option(), *SERVER_OPTIONS,
        ]  # fmt: skip

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start mariadbd and wait (at most ``timeout_s``) until root can log in."""
        if self.running:
            return
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout_s
        while not self.answers():
            if not self.running:
                code = self._process.returncode
                raise PrivateServerError(f"mariadbd exited with {code}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                late = f"mariadbd did not answer within {timeout_s:.0f} s"
                raise PrivateServerError(f"{late}: {self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """A clean shutdown (SIGTERM), waiting until the process is gone; SIGKILL past ``timeout_s``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def answers(self) -> bool:
        """This server (its own pid file, not whatever else may listen on the port) takes a login."""
        try:
            quick = {"connect_timeout": 2, "read_timeout": 2, "write_timeout": 2}
            with self.connect(**quick) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT @@pid_file")
                return cursor.fetchone()[0] == str(self.pid_file)
        except (pymysql.MySQLError, OSError):
            return False

    def connect(self, database: str | None = None, **options) -> pymysql.connections.Connection:
        """An autocommit root connection over TCP, in UTC."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            database=database,
            autocommit=True,
            init_command="SET time_zone = '+00:00'",
            **options,
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no error log at {self.error_log})"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, however it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextlib.contextmanager
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """A started private server, stopped and deleted on the way out whatever happened."""
    server = PrivateMariaDB.create()
    try:
        _start_on_a_free_port(server)
        yield server
    finally:
        server.remove()


def _start_on_a_free_port(server: PrivateMariaDB, attempts: int = 3) -> None:
    """Start; if another process took the chosen port meanwhile, choose again."""
    for attempt in range(attempts):
        try:
            server.start()
            return
        except PrivateServerError as error:
            if "already in use" not in str(error) or attempt == attempts - 1:
                raise
            server.port = free_port()
