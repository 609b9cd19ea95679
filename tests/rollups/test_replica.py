"""Reads on a replica, the refresher on the primary: MYSQL_HOST/PORT vs ROLLUP_MYSQL_HOST/PORT.

A TCP proxy on another port stands for the replica (the same server behind it, so the
answers can be compared); only the read-only user's connections may go through it.
"""

from __future__ import annotations

import json
import os

import pymysql
import pytest

from conftest import SEED_UNTIL, admin_connection
from labelhub_tools.demo.rollup_setup import drop_rollup_access, setup_rollup_access
from support.events import function_url_event
from support.names import run_name
from support.tcp_proxy import TcpProxy

SCHEMA, WRITER, WRITER_PASSWORD = run_name("lh_rollup_rep"), run_name("lh_rep_rw")[:32], "rep-rw-test"
TIMER = {"Type": "Timer", "TriggerName": "rollup-refresh", "Time": "2026-12-01T00:00:00Z", "Message": ""}


@pytest.fixture
def replica():
    host, port = os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306"))
    with TcpProxy((host, port)) as proxy:
        yield proxy


@pytest.fixture
def writer(seeded_database, db_settings):
    with admin_connection() as conn, conn.cursor() as cursor:
        setup_rollup_access(
            cursor, seeded_database, SCHEMA, WRITER, WRITER_PASSWORD, db_settings["MYSQL_USER"]
        )
    yield
    with admin_connection() as conn, conn.cursor() as cursor:
        drop_rollup_access(cursor, SCHEMA, WRITER)


def test_reads_use_the_replica_and_the_refresher_the_primary(make_business_app, db_settings, replica, writer):
    app = make_business_app(
        **{**db_settings, "MYSQL_PORT": replica.port},
        ROLLUP_SCHEMA=SCHEMA,
        ROLLUP_MYSQL_USER=WRITER,
        ROLLUP_MYSQL_PASSWORD=WRITER_PASSWORD,
        ROLLUP_MYSQL_PORT=db_settings["MYSQL_PORT"],
        ROLLUP_HISTORY_DAYS=120,
        ROLLUP_MAX_BUCKETS_PER_TICK=100_000,
    )
    summary = app.handle(TIMER, {"time_limit_in_ms": 300_000})
    assert summary["status"] == "ok", summary
    assert replica.connections == 0  # the writer went to the primary
    until_ms = int(SEED_UNTIL.timestamp() * 1000)
    body = {
        "range": {"from": until_ms - 7 * 86_400_000, "to": until_ms},
        "intervalMs": 86_400_000,
        "targets": [{"refId": "A", "target": "tasks_created"}],
    }
    response = app.handle(function_url_event("POST", "/query", body), {})
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])[0]["fields"]
    assert replica.connections == 1  # the read-only user's one connection, through "the replica"
    reader = pymysql.connect(  # and the read-only user reads the rollups on "the replica"
        host="127.0.0.1",
        port=replica.port,
        user=db_settings["MYSQL_USER"],
        password=db_settings["MYSQL_PASSWORD"],
    )
    with reader, reader.cursor() as cursor:
        cursor.execute(f"SELECT SUM(delta) FROM `{SCHEMA}`.task_events WHERE event = 'created'")
        assert cursor.fetchone()[0] > 0
