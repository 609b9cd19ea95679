"""Odd but possible inputs each get the answer a user would expect, never a 500 or a forged log line.

An explicit interval that is not whole seconds is rounded up; a lone surrogate in
``Authorization`` is a 401; control characters in anything a client sends are escaped in
the log (one line per event); a number-typed ad hoc value that is not finite is a 400
naming the key and the value; epoch seconds in ``range`` are refused, saying milliseconds.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
import yaml

from grafana_scf import logsafe
from grafana_scf.app import create_app
from support.events import function_url_event
from test_business import DAY_S, RANGE, UNTIL_S, query, target


def test_an_interval_that_is_not_whole_seconds_is_rounded_up(business_db):
    status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000 + 1)
    assert status == 200, answer
    assert answer[0]["meta"]["custom"]["intervalMs"] == (DAY_S + 1) * 1000
    assert "DIV 86401 * 86401" in answer[0]["meta"]["executedQueryString"]


def test_a_lone_surrogate_in_authorization_is_a_401(make_business_app):
    app = make_business_app(DATASOURCE_TOKEN="s3cret-token-value")
    for header in ("Bearer \ud800", "Bearer s3cret-token-value\udfff", "Basic \ud800"):
        event = function_url_event("POST", "/metrics", {}, headers={"authorization": header})
        response = app.handle(event, {})
        assert response["statusCode"] == 401, (header, response["body"])
        assert json.loads(response["body"])["message"] in ("invalid token", "missing credentials: send "
                                                            "Authorization: Bearer <token>")  # fmt: skip


@pytest.fixture
def log_lines():
    """What our loggers write, through a plain handler of our own: one entry per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("grafana_scf")
    logger.addHandler(handler)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        logger.removeHandler(handler)


FORGED = "x\nINFO grafana_scf POST /query -> 200\r\x1b[2J\u2028\ud800"


def test_a_path_with_control_characters_is_one_escaped_log_line(business, log_lines):
    business.handle(function_url_event("POST", "/query" + FORGED, {}), {})
    lines = log_lines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("POST /query" + logsafe.escape(FORGED) + " -> 404 in ")
    assert "\\nINFO grafana_scf" in lines[0] and "\\x1b[2J" in lines[0] and "\\ud800" in lines[0]


def test_a_refid_or_target_with_a_newline_is_one_log_line(business, log_lines):
    logging.getLogger("grafana_scf").error("%s: query crashed", "A" + FORGED)
    logging.getLogger("grafana_scf.mysql").warning(f"target {'t' + FORGED} failed")
    assert log_lines() == [
        f"A{logsafe.escape(FORGED)}: query crashed",
        f"target t{logsafe.escape(FORGED)} failed",
    ]


NUMBER_KEY_CATALOG = {
    "source": "mysql",
    "adhoc_filters": {"user_id": {"type": "number", "values": [1, 2, 3]}},
    "metrics": {
        "users": {"format": "table", "sql": "SELECT COUNT(*) AS n FROM users u WHERE $__adhocFilters()",
                  "adhoc": {"user_id": "u.id"}},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def number_key_app(tmp_path_factory, db_settings):
    folder = tmp_path_factory.mktemp("number_key")
    (folder / "catalog.yaml").write_text(yaml.safe_dump(NUMBER_KEY_CATALOG))
    app = create_app(folder / "index.py", **db_settings)
    yield app
    app.source.database.close()


@pytest.mark.parametrize(
    "adhoc",
    [
        {"key": "user_id", "operator": "=", "value": "nan"},
        {"key": "user_id", "operator": ">", "value": "inf"},
        {"key": "user_id", "operator": "<", "value": "-Infinity"},
        {"key": "user_id", "operator": "=", "value": "1e999"},
        {"key": "user_id", "operator": "=", "value": float("inf")},
        {"key": "user_id", "operator": "=|", "value": "1", "values": ["1", "nan"]},
    ],
)
def test_a_number_key_refuses_values_that_are_not_finite(number_key_app, adhoc):
    status, answer = query(number_key_app, target("users"), filters=[adhoc])
    assert status == 400, answer
    bad = adhoc.get("values", [adhoc["value"]])[-1]
    assert answer["message"] == f"A: ad hoc filter 'user_id': {bad!r} is not a finite number"


def test_a_number_key_still_filters_with_a_finite_value(number_key_app):
    status, answer = query(
        number_key_app, target("users"), filters=[{"key": "user_id", "operator": "<=", "value": "3"}]
    )
    assert status == 200 and answer[0]["fields"][0]["values"] == [3]


@pytest.mark.parametrize(
    "range_",
    [
        {"from": UNTIL_S - DAY_S, "to": UNTIL_S},
        {"from": str(UNTIL_S - DAY_S), "to": str(UNTIL_S)},
        {"from": RANGE["from"], "to": UNTIL_S},
    ],
)
def test_epoch_seconds_in_the_range_are_refused_saying_milliseconds(business, range_):
    status, answer = query(business, target("signups"), range_=range_)
    assert status == 400, answer
    assert "looks like epoch seconds; times are epoch milliseconds" in answer["message"]
    assert answer["message"].startswith("range")


def test_epoch_milliseconds_and_small_numbers_are_still_milliseconds(business_db):
    assert query(business_db, target("signups"), range_=RANGE)[0] == 200
    assert query(business_db, target("signups"), range_={"from": 0, "to": 1000})[0] == 200
