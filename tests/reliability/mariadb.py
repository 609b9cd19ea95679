"""Stopping and starting the local MariaDB server for the restart test (as scripts/ensure-mariadb does)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pymysql

from conftest import admin_connection

HOST = os.environ.get("MYSQL_HOST", "127.0.0.1")
PORT = int(os.environ.get("MYSQL_PORT", "3306"))


def why_not_restartable() -> str | None:
    """Why this machine's server cannot be restarted by a test (None when it can)."""
    if HOST not in ("127.0.0.1", "localhost"):
        return f"MYSQL_HOST={HOST} is not this machine"
    if os.geteuid() != 0:
        return "restarting MariaDB needs root"
    for tool in ("mariadb-admin", "mariadbd", "start-stop-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not answers():
        return "no MariaDB answers"
    return None


def answers() -> bool:
    """The server accepts a login and a statement."""
    try:
        with admin_connection() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except (pymysql.MySQLError, OSError):
        return False


def _wait(predicate, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _server_pid() -> int | None:
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT @@pid_file")
        (pid_file,) = cursor.fetchone()
    try:
        return int(Path(pid_file).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    return pid is not None and os.path.exists(f"/proc/{pid}")


def stop() -> None:
    """``mariadb-admin shutdown``, then wait until the server process is gone."""
    pid = _server_pid()
    command = ["mariadb-admin", "-h", HOST, "-P", str(PORT), "-u", os.environ.get("MYSQL_ADMIN_USER", "root")]
    password = os.environ.get("MYSQL_ADMIN_PASSWORD", "")
    if password:
        command.append(f"--password={password}")
    subprocess.run([*command, "shutdown"], check=True, timeout=120, capture_output=True)
    if not _wait(lambda: not answers() and not _alive(pid), 120):
        raise RuntimeError(f"MariaDB (pid {pid}) still runs after shutdown")


def start() -> None:
    """Start mariadbd in the background (as scripts/ensure-mariadb does) and wait until it answers."""
    os.makedirs("/run/mysqld", exist_ok=True)
    shutil.chown("/run/mysqld", "mysql", "mysql")
    daemon = shutil.which("mariadbd")
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", daemon],
        check=True,
        timeout=60,
        capture_output=True,
    )
    if not _wait(answers, 120):
        raise RuntimeError("MariaDB did not come back within 120 s")


def ensure_running() -> None:
    """Whatever happened, leave a running server behind."""
    if not answers():
        start()
