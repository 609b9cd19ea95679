"""Caps on one request (issue findings 1 and 3), and the answer size against SCF's 6 MB.

Over a cap: a 400 naming the cap's setting, the value and the refId, before any SQL
runs; the apps without a database here are pointed at port 1, so a statement that did
run would answer a 502 instead.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from conftest import SEED_UNTIL
from grafana_scf.limits import CapExceeded
from grafana_scf.sources.mysql.buckets import WINDOW_MS, bucket_count, least_answer_bytes
from grafana_scf.sources.mysql.compiler import Fill
from grafana_scf.sources.mysql.shaping import apply_fill
from grafana_scf.timerange import parse_time
from support.events import function_url_event

DAY_MS = 86_400_000
WIDE = {"from": "1950-01-01T00:00:00Z", "to": "2050-01-01T00:00:00Z"}
SEEDED = {"from": "2026-10-11T00:00:00Z", "to": SEED_UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.fixture(scope="module")
def no_database(make_business_app):
    return make_business_app(MYSQL_PORT=1, MYSQL_CONNECT_TIMEOUT_S=1)


def post(app, path, body):
    response = app.handle(function_url_event("POST", path, body), {})
    return response["statusCode"], json.loads(response["body"])


def targets(*pairs):
    return [{"refId": ref, "target": target} for ref, target in pairs]


def test_finding_1_signups_over_a_century_at_maxdatapoints_1e13_is_refused_before_sql(no_database):
    body = {"range": WIDE, "maxDataPoints": 1e13, "targets": targets(("A", "signups"))}
    status, answer = post(no_database, "/query", body)
    assert status == 400, answer
    # 1970-2038 (the window the SQL can match) in 5-minute buckets, not 1950-2050.
    expected = bucket_count((WINDOW_MS[0], WINDOW_MS[1]), 300_000)
    assert answer["message"] == (
        f"A: signups: buckets per series (range / 300000 ms): {expected:,} over the cap "
        "MAX_BUCKETS_PER_SERIES=50,000; ask for less"
    )


def test_thirty_years_is_refused_too_and_the_cap_is_a_setting(make_business_app):
    body = {
        "range": {"from": "1996-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        "maxDataPoints": 1e13,
        "targets": targets(("S", "signups")),
    }
    app = make_business_app(MYSQL_PORT=1, MYSQL_CONNECT_TIMEOUT_S=1, MAX_BUCKETS_PER_SERIES=10)
    status, answer = post(app, "/query", {**body, "range": {"from": 0, "to": 3_600_000}})
    assert status == 400 and "13 over the cap MAX_BUCKETS_PER_SERIES=10" in answer["message"]
    status, answer = post(app, "/query", body)
    assert status == 400 and answer["refId"] == "S"


def test_the_fill_never_builds_more_buckets_than_its_cap():
    tracemalloc.start()
    with pytest.raises(CapExceeded) as refused:
        apply_fill([], [], Fill(1000, "value", 0.0), (-(10**15), 10**15), max_buckets=50_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "MAX_BUCKETS_PER_SERIES=50,000" in refused.value.message
    assert peak < 1_000_000  # not one list of 2 billion buckets


def test_the_fill_is_clamped_to_the_window_the_sql_matches():
    times, values = apply_fill(
        [], [], Fill(30 * DAY_MS, "value", 0.0), (-20 * 365 * DAY_MS, 2_600_000_000_000)
    )
    assert times[0] == 0 and times[-1] <= WINDOW_MS[1]
    assert len(times) == bucket_count((0, WINDOW_MS[1]), 30 * DAY_MS) and set(values) == {0.0}


def test_too_many_targets_are_refused_whole(no_database):
    body = {"range": SEEDED, "targets": targets(*[(f"T{i}", "signups") for i in range(51)])}
    status, answer = post(no_database, "/query", body)
    assert status == 400
    assert answer["message"] == "targets: 51 over the cap MAX_TARGETS_PER_REQUEST=50; ask for less"


def test_too_many_alternatives_name_the_refid(no_database):
    alternation = "(" + "|".join(f"m{i}" for i in range(101)) + ")"
    body = {"range": SEEDED, "targets": targets(("A", "signups"), ("B", alternation))}
    status, answer = post(no_database, "/query", body)
    assert status == 400
    assert answer["message"] == (
        "B: target alternatives (a|b|...): 101 over the cap MAX_ALTERNATIVES_PER_TARGET=100; ask for less"
    )


def test_too_many_adhoc_values_are_refused_on_query_and_tag_values(no_database):
    filters = [{"key": "country", "operator": "=|", "values": [f"c{i}" for i in range(1001)]}]
    body = {"range": SEEDED, "targets": targets(("A", "signups"), ("B", "signups")), "filters": filters}
    status, answer = post(no_database, "/query", body)
    assert status == 400
    assert answer["message"] == (
        "A, B: filters[0] ('country' =|) values: 1,001 over the cap MAX_ADHOC_VALUES=1,000; ask for less"
    )
    status, answer = post(no_database, "/tag-values", {"key": "role", "filters": filters})
    assert status == 400 and "MAX_ADHOC_VALUES=1,000" in answer["message"]


def test_a_filled_answer_too_large_for_one_response_is_refused_before_the_fill(
    make_business_app, db_settings
):
    app = make_business_app(**db_settings, MAX_ANSWER_BYTES=50_000)
    body = {"range": SEEDED, "maxDataPoints": 100_000, "targets": targets(("A", "signups"))}
    status, answer = post(app, "/query", body)
    assert status == 400
    # The estimate (one series of 5-minute buckets, 16 bytes a point at least), not a measure.
    span = (parse_time(SEEDED["from"]), parse_time(SEEDED["to"]))
    least = least_answer_bytes(1, span, 300_000)
    assert answer["message"].startswith(f"A: the answer would be more than {least:,} bytes")
    assert "over the 50,000-byte limit of one response (MAX_ANSWER_BYTES)" in answer["message"]


@pytest.mark.parametrize("answer_format", ["frames", "rows"])
def test_a_measured_answer_over_the_limit_names_every_refid(make_business_app, db_settings, answer_format):
    body = {"range": SEEDED, "targets": targets(("A", "top_labellers"), ("B", "tasks_by_status"))}
    body["format"] = answer_format
    roomy = make_business_app(**db_settings)
    status, answer = post(roomy, "/query", body)
    assert status == 200
    size = len(json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode())
    status, answer = post(make_business_app(**db_settings, MAX_ANSWER_BYTES=size), "/query", body)
    assert status == 200
    status, answer = post(make_business_app(**db_settings, MAX_ANSWER_BYTES=size - 1), "/query", body)
    assert status == 400
    assert answer["message"].startswith("A, B: the answer would be more than ")


def test_targets_stop_once_their_frames_could_not_fit_one_answer(make_business_app, db_settings):
    # Each filled signups series takes at least 96,784 bytes: the third passes 200,000.
    app = make_business_app(**db_settings, MAX_ANSWER_BYTES=200_000)
    refs = [(ref, "signups") for ref in "ABCDE"]
    body = {"range": SEEDED, "maxDataPoints": 100_000, "targets": targets(*refs)}
    status, answer = post(app, "/query", body)
    assert status == 400
    assert answer["message"].startswith("A, B, C: the answer would be more than 290,352 bytes")
    assert [e["refId"] for e in answer["errors"]] == ["A", "B", "C"]  # D and E never ran
