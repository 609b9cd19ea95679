"""The private MariaDB server (tests/support/private_mariadb.py): files and a port of its own,
never the shared server, and nothing of it left after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import admin_connection
from support.private_mariadb import private_mariadb, why_unavailable


def _identity(conn) -> tuple:
    with conn.cursor() as cursor:
        cursor.execute("SELECT @@pid_file, @@port, @@datadir, @@socket, @@tmpdir")
        return cursor.fetchone()


def test_the_private_server_is_not_the_shared_one(private_server):
    with private_server.connect() as conn:
        pid_file, port, datadir, socket, tmpdir = _identity(conn)
    assert port == private_server.port
    for path in (pid_file, datadir, socket, tmpdir):
        assert path.startswith(str(private_server.root)), path
    with admin_connection() as conn:
        shared = _identity(conn)
    assert shared[0] != pid_file and shared[1] != port and shared[2] != datadir


def test_starting_a_private_server_leaves_the_shared_servers_temporary_files_alone():
    """A server deletes the ``#sql*`` files of its tmpdir at start-up: in ``/tmp`` those
    would be the shared server's temporary tables, in use by someone's query."""
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT @@tmpdir")
        shared_tmpdir = cursor.fetchone()[0]
    canary = Path(shared_tmpdir) / f"#sql-labelhub-canary-{os.getpid()}.MAI"
    canary.write_bytes(b"")
    try:
        with private_mariadb() as server:
            server.restart()
            assert canary.exists()
    finally:
        canary.unlink(missing_ok=True)


def test_a_private_server_restarts_and_leaves_nothing_behind():
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with private_mariadb() as server:
        root, first = server.root, server.pid
        server.restart()
        second = server.pid
        assert second != first and server.answers()
        server.stop()
        assert not server.answers() and server.pid is None
        server.stop()  # stopping a stopped server does nothing
        server.start()
        third = server.pid
        assert server.answers()
    assert not root.exists()
    for pid in (first, second, third):
        assert not os.path.exists(f"/proc/{pid}"), pid
