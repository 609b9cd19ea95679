"""SQL injection: hostile input in every slot of the business function is bound or refused, never run.

The function runs as its own throwaway read-only user on the private MariaDB server
(tests/support/private_mariadb.py) while that server's general log writes to its
``mysql.general_log``; afterwards every statement that user sent must have the shape
(literals stripped) of a statement the catalog compiles to, or of the connection's own
setup. The canary row and the table list are checked unchanged. The shared server's
settings are never touched; the user is dropped and the log switched off in ``finally``.
"""

from __future__ import annotations

import pytest
import yaml

from grafana_scf.sources.mysql.catalog import load_catalog
from labelhub_tools.demo.generator import CANARY_ID, CANARY_VALUE
from support.names import run_name

from . import sqlshape
from .helpers import BUSINESS_INDEX, DAY_RANGE, TALLY, call, judge
from .strategies import HOSTILE

PROBE_USER, PROBE_PASSWORD = run_name("reliability_probe"), "probe-Pw-6c1d"
CATALOG = load_catalog(yaml.safe_load((BUSINESS_INDEX.parent / "catalog.yaml").read_text()))
ALLOWED = sqlshape.catalog_shapes(CATALOG) | sqlshape.SETUP_SHAPES
# Values that exist nowhere in the seeded data, so "equals" matches nothing and "differs" everything.
NO_MATCH = [v for v in HOSTILE if v not in ("-1",)]


@pytest.fixture(scope="module")
def probe_app(private_server, private_db_settings, make_business_app):
    """The business app as a user of its own on the private server, so its statements can be
    told apart in that server's general log."""
    database = private_db_settings["MYSQL_DATABASE"]
    with private_server.connect() as conn, conn.cursor() as cursor:
        for host in ("%", "localhost"):
            cursor.execute(
                "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (PROBE_USER, host, PROBE_PASSWORD)
            )
            cursor.execute(f"GRANT SELECT ON `{database}`.* TO %s@%s", (PROBE_USER, host))
    try:
        yield make_business_app(
            **{**private_db_settings, "MYSQL_USER": PROBE_USER, "MYSQL_PASSWORD": PROBE_PASSWORD}
        )
    finally:
        with private_server.connect() as conn, conn.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("DROP USER IF EXISTS %s@%s", (PROBE_USER, host))


@pytest.fixture(scope="module")
def general_log(private_server, probe_app):
    """The private server's general log into its mysql.general_log for this module (the shared
    server's settings are never touched); switched off and emptied again after."""
    conn = private_server.connect()
    cursor = conn.cursor()
    try:
        cursor.execute("SET GLOBAL log_output = 'TABLE'")
        cursor.execute("TRUNCATE TABLE mysql.general_log")
        cursor.execute("SET GLOBAL general_log = 'ON'")
        yield lambda: _probe_statements(cursor)
    finally:
        cursor.execute("SET GLOBAL general_log = 'OFF'")
        cursor.execute("TRUNCATE TABLE mysql.general_log")
        conn.close()


def _probe_statements(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT command_type, CONVERT(argument USING utf8mb4) FROM mysql.general_log "
        "WHERE user_host LIKE %s ORDER BY event_time",
        (f"%[{PROBE_USER}]%",),
    )
    return list(cursor.fetchall())


@pytest.fixture(scope="module")
def database_state(private_server, private_db_settings):
    conn = private_server.connect(private_db_settings["MYSQL_DATABASE"])

    def snapshot():
        with conn.cursor() as cursor:
            cursor.execute("SELECT id, value FROM canary")
            canary = cursor.fetchall()
            cursor.execute("SHOW TABLES")
            return canary, sorted(r[0] for r in cursor.fetchall())

    before = snapshot()
    assert before[0] == ((CANARY_ID, CANARY_VALUE),)
    yield before, snapshot
    conn.close()


def assert_only_catalog_sql(general_log, database_state, minimum: int) -> None:
    before, snapshot = database_state
    assert snapshot() == before, "the canary row or the table list changed"
    statements = general_log()
    queries = [text for kind, text in statements if kind == "Query"]
    assert len(queries) >= minimum, f"only {len(queries)} statements logged: is the general log working?"
    TALLY["statements checked in the general log"] = len(queries)
    unknown = {kind for kind, _ in statements} - {"Connect", "Query", "Quit", "Init DB"}
    assert not unknown, unknown
    strange = [q for q in queries if sqlshape.shape(q) not in ALLOWED]
    assert not strange, f"{len(strange)} statements of no catalog shape, e.g. {strange[:3]}"
    assert not any(word in sqlshape.shape(q).upper() for q in queries for word in ("SLEEP", "BENCHMARK", ";"))


def q(app, target, payload=None, filters=None, **extra):
    body = {"range": DAY_RANGE, "targets": [{"refId": "A", "target": target, "payload": payload or {}}]}
    body.update(extra)
    if filters is not None:
        body["filters"] = filters
    answer = call(app, "POST", "/query", body)
    judge(answer, "POST", "/query")
    return answer


def total(answer) -> float:
    return sum(
        v or 0
        for frame in answer.json()
        for f in frame["fields"]
        if f["type"] == "number"
        for v in f["values"]
    )


def rows(answer) -> int:
    return sum(len(frame["fields"][0]["values"]) for frame in answer.json())


def test_the_shape_check_can_fail():
    compiled = next(s for s in ALLOWED if "signup_channel IN" in s)
    assert compiled.replace("IN (?)", "IN (?) OR ? = ?") not in ALLOWED
    assert sqlshape.shape("SELECT 1; DROP TABLE canary") not in ALLOWED
    assert sqlshape.shape("SELECT SLEEP(3)") not in ALLOWED
    assert sqlshape.shape("SELECT 'a\\' OR 1=1 -- '") == "SELECT ?"


def test_names_are_refused(probe_app, general_log, database_state):
    for text in HOSTILE:
        for name in (text, "signups" + text):
            assert q(probe_app, name).status == 400
            answer = call(probe_app, "POST", "/variable", {"payload": {"target": name}})
            assert answer.status == 400, answer.text
            for path, body in (
                ("/tag-values", {"key": name}),
                ("/metric-payload-options", {"metric": name, "name": "channel"}),
                ("/metric-payload-options", {"metric": "signups", "name": name}),
                ("/annotations", {"range": DAY_RANGE, "annotation": {"query": name}}),
            ):
                answer = call(probe_app, "POST", path, body)
                judge(answer, "POST", path)
                assert answer.status == 400, (path, body, answer.text[:300])
            judge(call(probe_app, "POST", "/search", {"target": name}), "POST", "/search")
    assert_only_catalog_sql(general_log, database_state, minimum=0)


PARAMETER_SLOTS = [
    ("signups", "channel", total),
    ("tasks_by_status", "project", rows),
    ("top_labellers", "project", rows),
    ("project_progress", "customer", rows),
    ("incidents", "severity", None),
    ("recent_users", "limit", None),
]


@pytest.mark.parametrize(("target", "param", "measure"), PARAMETER_SLOTS)
def test_parameters_are_bound(probe_app, general_log, database_state, target, param, measure):
    for value in NO_MATCH:
        for sent in (value, [value, "x"], f"({value}|x)"):
            answer = q(probe_app, target, {param: sent})
            if measure is None:
                assert answer.status == 400, (value, answer.text[:300])
            elif answer.status == 200:
                assert measure(answer) == 0, (value, answer.text[:300])
            else:
                assert answer.status == 400 and param in answer.json()["message"], answer.text[:300]
        assert q(probe_app, target, {value: "x"}).status == 400
    assert_only_catalog_sql(general_log, database_state, minimum=50)


def test_variable_payloads_are_bound(probe_app, general_log, database_state):
    for value in NO_MATCH:
        answer = call(probe_app, "POST", "/variable", {"payload": {"target": "projects", "customer": value}})
        judge(answer, "POST", "/variable")
        assert answer.status == 400 or answer.json() == [], (value, answer.text[:300])
        answer = call(probe_app, "POST", "/variable", {"payload": {"target": "projects", value: "x"}})
        assert answer.status == 400
    assert_only_catalog_sql(general_log, database_state, minimum=20)


def test_adhoc_filters_are_bound(probe_app, general_log, database_state):
    everything = total(q(probe_app, "signups"))
    assert everything > 0
    for value in NO_MATCH:
        matches = {
            "=": 0.0,
            "!=": everything,
            "=|": 0.0,
            "!=|": everything,
        }
        for operator, expected in matches.items():
            item = {"key": "country", "operator": operator, "value": value}
            if "|" in operator:
                item["values"] = [value, value + "'"]
            answer = q(probe_app, "signups", filters=[item])
            assert answer.status == 200, answer.text[:300]
            assert total(answer) == expected, (operator, value)
        for operator in ("<", ">", "<=", ">="):
            assert (
                q(
                    probe_app,
                    "tasks_by_status",
                    filters=[{"key": "modality", "operator": operator, "value": value}],
                ).status
                == 200
            )
        # a key no entry offers reaches no SQL: unfiltered, with a warning (a 400 in the rows format)
        hostile_key = [{"key": value, "operator": "=", "value": "CN"}]
        answer = q(probe_app, "signups", filters=hostile_key)
        assert answer.status == 200 and total(answer) == everything, answer.text[:300]
        assert q(probe_app, "signups", filters=hostile_key, format="rows").status == 400
        assert (
            q(probe_app, "signups", filters=[{"key": "country", "operator": value, "value": "CN"}]).status
            == 400
        )
    assert_only_catalog_sql(general_log, database_state, minimum=200)
    logged = " ".join(text for _, text in general_log())
    assert "DROP TABLE canary" in logged, "the hostile values should reach MySQL, as bound literals"


@pytest.mark.parametrize("pattern", ["(", "[", "\\", "*", "a{99999}"])
def test_an_invalid_regex_filter_is_the_clients_error(probe_app, pattern):
    """A pattern MariaDB cannot compile is bad input (400 naming the filter), not our fault (500)."""
    body = {"range": DAY_RANGE, "targets": [{"refId": "A", "target": "signups"}],
            "filters": [{"key": "country", "operator": "=~", "value": pattern}]}  # fmt: skip
    answer = call(probe_app, "POST", "/query", body)
    assert answer.status == 400, answer.text[:300]
    assert "country" in answer.json()["message"]
