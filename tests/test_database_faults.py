"""A database that stalls, cuts the connection, refuses it or kills the query: each is answered
in bounded time, with its own message and status, and never the password.

The faults come from a TCP proxy of ours in front of the real MariaDB (tests/support/tcpproxy)
and from ``KILL QUERY`` on our own test connection; the shared server is never touched.
"""

from __future__ import annotations

import json
import threading
import time

import pymysql
import pytest
import yaml

from grafana_scf.app import create_app
from support.events import function_url_event
from support.names import run_name
from support.tcpproxy import TcpProxy

STALL_MARKER = "stall-here"
CATALOG = {
    "source": "mysql",
    "metrics": {
        "one": {"format": "table", "sql": "SELECT 1 AS n"},
        "stalls": {"format": "table", "sql": f"SELECT '{STALL_MARKER}' AS n"},
        "sleepy": {"format": "table", "sql": "SELECT SLEEP(20) AS n", "timeout_ms": 60_000},
    },
}
BODY = {"range": {"from": 0, "to": 1000}}


@pytest.fixture
def make_app(tmp_path, db_settings):
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(CATALOG))
    apps = []

    def make(**overrides):
        app = create_app(tmp_path / "index.py", **{**db_settings, **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.source.database.close()


@pytest.fixture
def proxy(db_settings):
    with TcpProxy((db_settings["MYSQL_HOST"], db_settings["MYSQL_PORT"]), STALL_MARKER.encode()) as handle:
        yield handle


def ask(app, target, context=None):
    body = {**BODY, "targets": [{"refId": "A", "target": target}]}
    response = app.handle(function_url_event("POST", "/query", body), context or {})
    return response["statusCode"], json.loads(response["body"])


def health(app, context=None):
    response = app.handle(function_url_event("GET", "/"), context or {})
    return response["statusCode"], json.loads(response["body"])


def assert_no_password(answer, db_settings):
    assert db_settings["MYSQL_PASSWORD"] not in json.dumps(answer)


def test_a_server_that_goes_quiet_mid_query_is_a_504_after_the_read_timeout(make_app, proxy, db_settings):
    # No MYSQL_READ_TIMEOUT_S: the socket waits the query's time limit + 2 s, not the function timeout.
    app = make_app(MYSQL_PORT=proxy.port, MYSQL_QUERY_TIMEOUT_MS=500)
    assert ask(app, "one")[0] == 200
    status, answer = ask(app, "stalls")
    assert status == 504, answer
    assert "did not answer the query within 2.5 s (the query's time limit + 2 s)" in answer["message"]
    assert answer["message"].startswith("A: MySQL ")
    assert_no_password(answer, db_settings)
    proxy.resume()
    assert ask(app, "one")[0] == 200


def test_the_request_deadline_caps_the_read_timeout(make_app, proxy):
    app = make_app(MYSQL_PORT=proxy.port, MYSQL_READ_TIMEOUT_S=60)
    assert ask(app, "one")[0] == 200
    status, answer = ask(app, "stalls", {"time_limit_in_ms": 3_000})  # 1.5 s after the margin
    assert status == 504, answer
    # Whichever notices first (the socket read capped at the time left, or the router's check
    # of the deadline), the answer names MySQL and the request's time limit.
    assert "MySQL" in answer["message"] and "did not answer" in answer["message"]
    assert "the request's time limit" in answer["message"]


def test_an_explicit_read_timeout_is_named(make_app, proxy):
    app = make_app(MYSQL_PORT=proxy.port, MYSQL_READ_TIMEOUT_S=1)
    assert ask(app, "one")[0] == 200
    status, answer = ask(app, "stalls")
    assert status == 504
    assert "did not answer the query within 1.0 s (MYSQL_READ_TIMEOUT_S)" in answer["message"]


def test_health_answers_within_its_own_budget_when_the_server_stalls(make_app, proxy):
    app = make_app(MYSQL_PORT=proxy.port, MYSQL_HEALTH_TIMEOUT_S=1, MYSQL_CONNECT_TIMEOUT_S=10)
    proxy.stall()  # the connection is accepted, the server's greeting never arrives
    status, answer = health(app)
    assert status == 503
    assert "did not open the connection within 1.0 s (MYSQL_HEALTH_TIMEOUT_S)" in answer["message"]
    proxy.resume()
    assert health(app)[0] == 200
    proxy.stall()  # now an open connection goes quiet
    status, answer = health(app)
    assert status == 503
    assert "did not answer the ping within 1.0 s (MYSQL_HEALTH_TIMEOUT_S)" in answer["message"]
    proxy.resume()
    assert health(app)[0] == 200


def test_a_connection_cut_mid_query_is_a_502_lost_connection(make_app, proxy, db_settings):
    app = make_app(MYSQL_PORT=proxy.port)
    assert ask(app, "one")[0] == 200
    answers = []
    worker = threading.Thread(target=lambda: answers.append(ask(app, "stalls")))
    worker.start()
    assert proxy.held.wait(30), "the query never reached the proxy"
    proxy.cut()
    worker.join(30)
    status, answer = answers[0]
    assert status == 502, answer
    assert answer["message"].startswith(f"A: lost the connection to MySQL {db_settings['MYSQL_USER']}@")
    assert "did not answer" not in answer["message"]
    assert_no_password(answer, db_settings)
    proxy.resume()
    assert ask(app, "one")[0] == 200


def test_a_refused_reconnect_is_a_502_that_says_so(make_app, proxy, db_settings):
    app = make_app(MYSQL_PORT=proxy.port)
    assert ask(app, "one")[0] == 200
    proxy.refuse()
    status, answer = ask(app, "one")
    assert status == 502, answer
    assert "lost the connection to MySQL" in answer["message"]
    assert "and could not reconnect" in answer["message"] and "refused" in answer["message"]
    assert_no_password(answer, db_settings)
    status, answer = ask(app, "one")  # the connection is gone now: a plain refused connect
    assert status == 502 and answer["message"].startswith("A: cannot reach MySQL"), answer
    proxy.accept()
    assert ask(app, "one")[0] == 200


def test_a_killed_query_is_a_502_that_says_killed(make_app, admin_db, db_settings):
    app = make_app()
    assert ask(app, "one")[0] == 200
    ours = app.source.database._conn.thread_id()
    answers = []
    worker = threading.Thread(target=lambda: answers.append(ask(app, "sleepy")))
    worker.start()
    _wait_until_running(admin_db, ours, "SELECT SLEEP")
    with admin_db.cursor() as cursor:
        cursor.execute("KILL QUERY %s", (ours,))  # our own test connection, nobody else's
    worker.join(30)
    status, answer = answers[0]
    assert status == 502, answer
    assert answer["message"].startswith("A: the query was killed on MySQL"), answer
    assert "time limit" not in answer["message"] and "did not answer" not in answer["message"]
    assert ask(app, "one")[0] == 200


def _wait_until_running(admin_db, thread_id: int, sql_start: str) -> None:
    for _ in range(600):
        with admin_db.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE %s",
                (thread_id, sql_start + "%"),
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"connection {thread_id} never ran {sql_start}")


_INTERRUPTED = "Query execution was interrupted"


@pytest.mark.parametrize(
    ("error", "status", "start"),
    [
        (
            (3024, f"{_INTERRUPTED}, maximum statement execution time exceeded"),
            504,
            "query exceeded the 10000 ms",
        ),
        ((1317, _INTERRUPTED), 502, "the query was killed"),
        ((2013, "Lost connection to MySQL server during query"), 502, "lost the connection"),
        ((2006, "MySQL server has gone away"), 502, "lost the connection"),
    ],
)
def test_each_server_error_code_has_its_own_message(make_app, error, status, start):
    """MySQL's 3024 cannot be provoked on MariaDB: the mapping of the codes, on their own."""
    translated = make_app().source.database.translate(pymysql.err.OperationalError(*error))
    assert (translated.status, translated.message[: len(start)]) == (status, start)


LIMITED_USER, LIMITED_PASSWORD = run_name("lh_one_conn"), "one-connection-only"


@pytest.fixture
def limited_account(private_server, private_db_settings):
    """An account of the private server allowed one connection at a time."""
    database = private_db_settings["MYSQL_DATABASE"]
    with private_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%", "localhost"):
            cursor.execute(
                "CREATE USER %s@%s IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS 1",
                (LIMITED_USER, host, LIMITED_PASSWORD),
            )
            cursor.execute(f"GRANT SELECT ON `{database}`.* TO %s@%s", (LIMITED_USER, host))
    try:
        yield {**private_db_settings, "MYSQL_USER": LIMITED_USER, "MYSQL_PASSWORD": LIMITED_PASSWORD}
    finally:
        with private_server.connect() as conn, conn.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("DROP USER IF EXISTS %s@%s", (LIMITED_USER, host))


def test_a_server_that_turns_the_connection_away_is_a_502_not_a_catalog_fault(make_app, limited_account):
    """Over its connection limit the server answers the handshake with an error of the
    statement range (1203/1226): still the server's answer, a 502, never "the catalog SQL"."""
    holder = make_app(**limited_account)
    assert ask(holder, "one")[0] == 200  # holds the account's one connection
    status, answer = ask(make_app(**limited_account), "one")
    assert status == 502, answer
    assert answer["message"].startswith(f"A: MySQL {LIMITED_USER}@"), answer
    assert "turned the connection away" in answer["message"] and "catalog" not in answer["message"]
    assert LIMITED_PASSWORD not in json.dumps(answer)
    holder.source.database.close()
    assert ask(make_app(**limited_account), "one")[0] == 200


@pytest.mark.parametrize("code", [1040, 1129, 1203, 1226, 4151])
def test_a_statement_range_code_while_connecting_is_a_502(make_app, code):
    """The codes the server can answer a handshake with, mapped on their own."""
    translated = make_app().source.database.translate(pymysql.err.OperationalError(code, "no"))
    assert (translated.status, "turned the connection away" in translated.message) == (502, True)


@pytest.mark.parametrize("code", [1045, 1698])
def test_both_access_denied_codes_say_refused_access(make_app, code):
    """1698 is what MariaDB answers an unknown user with at times, instead of 1045."""
    error = pymysql.err.OperationalError(code, "Access denied for user 'x'@'127.0.0.1'")
    translated = make_app().source.database.translate(error)
    assert (translated.status, "refused access" in translated.message) == (502, True)
