"""The business function end to end on real MariaDB with seeded demo data.

Expected values are computed independently: raw rows read as the admin user and
bucketed in Python, never through our macros. Every answer also goes through
Grafana's own toDataFrame.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from conftest import SEED_DAYS, SEED_UNTIL
from support.events import function_url_event

DAY_S = 86_400
UNTIL_S = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp())
FROM_S = UNTIL_S - SEED_DAYS * DAY_S
RANGE = {"from": FROM_S * 1000, "to": UNTIL_S * 1000 - 1}


def post(app, path, body):
    response = app.handle(function_url_event("POST", path, body), {})
    return response["statusCode"], json.loads(response["body"])


def query(app, *targets, range_=RANGE, **extra):
    body = {"range": range_, "targets": list(targets), **extra}
    return post(app, "/query", body)


def target(name, ref_id="A", **payload):
    return {"refId": ref_id, "target": name, "payload": payload}


def epoch_s(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.timezone.utc).timestamp())


def bucketed(times, width_s, start_s=FROM_S, end_s=UNTIL_S):
    """Counts per bucket start (ms), every bucket of the range present (fill 0)."""
    counts = Counter((t // width_s) * width_s for t in times if start_s <= t <= end_s)
    first = start_s - start_s % width_s
    return {b * 1000: counts.get(b, 0) for b in range(first, end_s, width_s)}


def rows(admin_db, sql, *args):
    with admin_db.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def series(frame):
    times = frame["fields"][0]["values"]
    values = frame["fields"][1]["values"]
    return dict(zip(times, values))


def test_health_checks_the_database(business_db):
    response = business_db.handle(function_url_event("GET", "/"), {})
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert body["status"] == "ok"
    assert "MariaDB" in body["database"]["version"]


def test_health_says_what_is_wrong(make_business_app, db_settings):
    app = make_business_app(**{**db_settings, "MYSQL_PASSWORD": "wrong-password-xyz"})
    response = app.handle(function_url_event("GET", "/"), {})
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert "refused access" in body["message"]
    assert f"{db_settings['MYSQL_USER']}@" in body["message"]
    assert "wrong-password-xyz" not in response["body"]


def test_signups_per_day_match_raw_rows(business_db, admin_db, grafana):
    status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000, maxDataPoints=100)
    assert status == 200
    created = [epoch_s(r[0]) for r in rows(admin_db, "SELECT created_at FROM users")]
    expected = bucketed(created, DAY_S)
    (frame,) = answer
    assert series(frame) == expected
    assert sum(expected.values()) > 0
    converted = grafana.convert(answer)
    assert [f["type"] for f in converted[0]["fields"]] == ["time", "number"]
    assert converted[0]["refId"] == "A"
    assert converted[0]["fields"][1]["values"] == list(expected.values())
    assert converted[0]["fields"][1]["config"]["unit"] == "short"


def test_label_columns_make_unique_series(business_db, admin_db, grafana):
    status, answer = query(business_db, target("signups_by_channel"), intervalMs=DAY_S * 1000)
    assert status == 200
    labels = [json.dumps(f["fields"][1]["labels"], sort_keys=True) for f in answer]
    assert len(labels) == len(set(labels)) > 1
    channels = dict(rows(admin_db, "SELECT signup_channel, COUNT(*) FROM users "
                                   "WHERE created_at >= FROM_UNIXTIME(%s) AND created_at < FROM_UNIXTIME(%s) "
                                   "GROUP BY 1", FROM_S, UNTIL_S))  # fmt: skip
    totals = {f["fields"][1]["labels"]["channel"]: sum(f["fields"][1]["values"]) for f in answer}
    assert totals == channels
    converted = grafana.convert(answer)
    assert all(f["fields"][1]["labels"]["channel"] for f in converted)


def test_builder_alternation_equals_code_mode_array(business_db):
    channels = ["organic", "referral"]
    a = query(business_db, target("signups", channel=channels), intervalMs=DAY_S * 1000)
    b = query(business_db, target("signups", channel="(organic|referral)"), intervalMs=DAY_S * 1000)
    everything = query(business_db, target("signups"), intervalMs=DAY_S * 1000)
    assert a == b
    assert sum(a[1][0]["fields"][1]["values"]) < sum(everything[1][0]["fields"][1]["values"])


def test_adhoc_filter_narrows_with_bound_values(business_db, admin_db):
    (country, count), *_ = rows(admin_db, "SELECT country, COUNT(*) FROM users "
                                          "WHERE created_at >= FROM_UNIXTIME(%s) GROUP BY 1 ORDER BY 2 DESC",
                                FROM_S)  # fmt: skip
    filters = [{"key": "country", "operator": "=", "value": country}]
    status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000, filters=filters)
    assert status == 200
    assert sum(answer[0]["fields"][1]["values"]) == count
    legacy = query(business_db, target("signups"), intervalMs=DAY_S * 1000, adhocFilters=filters)
    assert legacy == (status, answer)


def test_adhoc_multi_value_and_regex_operators(business_db, admin_db):
    expected = rows(admin_db, "SELECT COUNT(*) FROM users WHERE country IN ('CN', 'US') "
                              "AND created_at >= FROM_UNIXTIME(%s) AND created_at < FROM_UNIXTIME(%s)",
                    FROM_S, UNTIL_S)[0][0]  # fmt: skip
    for item in (
        {"key": "country", "operator": "=|", "value": "", "values": ["CN", "US"]},
        {"key": "country", "operator": "=~", "value": "^(CN|US)$"},
    ):
        status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000, filters=[item])
        assert status == 200, answer
        assert sum(answer[0]["fields"][1]["values"]) == expected, item


def test_regex_adhoc_filters_match_the_whole_value(business_db, admin_db):
    """``=~`` is anchored as Grafana's regex filters are elsewhere (Prometheus: ``^(?:re)$``):
    ``C`` matches no two-letter country code, ``C.`` every one starting with C."""
    window = "AND created_at >= FROM_UNIXTIME(%s) AND created_at < FROM_UNIXTIME(%s)"
    starting_c = rows(admin_db, f"SELECT COUNT(*) FROM users WHERE country LIKE 'C%%' {window}",
                      FROM_S, UNTIL_S)[0][0]  # fmt: skip
    every = rows(admin_db, f"SELECT COUNT(*) FROM users WHERE TRUE {window}", FROM_S, UNTIL_S)[0][0]
    assert 0 < starting_c < every
    for operator, pattern, expected in (
        ("=~", "C", 0),
        ("=~", "C.", starting_c),
        ("=~", "CN|CA|CH|CO|CL|CZ|C[A-Z]", starting_c),
        ("!~", "C", every),
        ("!~", "C.", every - starting_c),
    ):
        filters = [{"key": "country", "operator": operator, "value": pattern}]
        status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000, filters=filters)
        assert status == 200, answer
        total = sum(v or 0 for frame in answer for v in frame["fields"][1]["values"])
        assert total == expected, (operator, pattern)


def test_adhoc_key_an_entry_lacks_is_a_notice_not_silence(business_db):
    filters = [{"key": "modality", "operator": "=", "value": "image"}]
    status, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000, filters=filters)
    assert status == 200
    notices = answer[0]["meta"]["notices"]
    assert any("'modality' does not apply to signups" in n["text"] for n in notices)


def test_a_typed_key_no_entry_offers_is_a_warning_and_not_applied(business_db, grafana):
    """Grafana 12 lets users type ad hoc keys: one the catalog does not offer leaves every
    panel working, unfiltered, with a warning that names the key and the keys that apply."""
    filters = [{"key": "channel", "operator": "=", "value": "organic"}]
    base = query(business_db, target("signups"), target("tasks_accepted", "B"), intervalMs=DAY_S * 1000)
    status, answer = query(business_db, target("signups"), target("tasks_accepted", "B"),
                           intervalMs=DAY_S * 1000, filters=filters)  # fmt: skip
    assert status == 200, answer
    frames = grafana.convert(answer)
    for frame, unfiltered in zip(frames, base[1]):
        assert frame["fields"][1]["values"] == unfiltered["fields"][1]["values"]
        (notice,) = [n for n in frame["meta"]["notices"] if "'channel'" in n["text"]]
        assert notice["severity"] == "warning"
        assert "not applied" in notice["text"]
    assert "country, role, signup_channel" in frames[0]["meta"]["notices"][0]["text"]
    assert "modality, project" in frames[1]["meta"]["notices"][0]["text"]


def test_a_typed_key_fails_the_rows_format_loudly(business_db):
    filters = [{"key": "channel", "operator": "=", "value": "organic"}]
    status, answer = query(business_db, target("signups"), filters=filters, format="rows")
    assert status == 400
    assert answer["refId"] == "A" and "'channel' is not offered" in answer["message"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([{"key": "country", "operator": "LIKE", "value": "x"}], "unsupported operator 'LIKE'"),
        ([{"key": "channel", "operator": "LIKE", "value": "x"}], "unsupported operator 'LIKE'"),
        ([{"key": "country", "operator": "=", "value": None}], "'country': a value is required"),
        ([{"key": "country", "operator": "=", "value": {"a": 1}}], "filters[0].value must be"),
    ],
)
def test_bad_adhoc_filters_are_refused(business_db, filters, message):
    status, answer = query(business_db, target("signups"), filters=filters)
    assert status == 400
    assert message in answer["message"]
    # a filter the request schema refuses belongs to no refId; the others name the target
    assert answer.get("refId") == (None if message.startswith("filters[") else "A")


def test_tables_are_typed(business_db, grafana):
    status, answer = query(business_db, target("recent_users", limit=5), target("top_labellers", "B"))
    assert status == 200
    users, labellers = answer
    assert users["refId"] == "A" and labellers["refId"] == "B"
    types = {f["name"]: f["type"] for f in users["fields"]}
    assert types["time"] == "time" and types["email"] == "string"
    assert len(users["fields"][0]["values"]) == 5
    converted = grafana.convert(answer)
    assert {f["name"]: f["type"] for f in converted[0]["fields"]} == types
    label_types = {f["name"]: f["type"] for f in converted[1]["fields"]}
    assert label_types["labels"] == "number" and label_types["labeller"] == "string"


def test_every_catalog_metric_answers_and_converts(business_db, grafana):
    status, metrics = post(business_db, "/metrics", {})
    assert status == 200
    targets = [target(m["value"], f"R{i}") for i, m in enumerate(metrics)]
    status, answer = query(business_db, *targets, intervalMs=3_600_000, maxDataPoints=500)
    assert status == 200, answer
    assert {frame["refId"] for frame in answer} == {t["refId"] for t in targets}
    assert all(frame["fields"][0]["values"] for frame in answer)
    assert len(grafana.convert(answer)) == len(answer)


def test_annotations_through_query(business_db, admin_db, grafana):
    status, answer = query(business_db, target("releases", "Anno"), target("incidents", "Inc"))
    assert status == 200
    releases, incidents = answer
    sql = "SELECT COUNT(*) FROM releases WHERE released_at BETWEEN FROM_UNIXTIME(%s) AND FROM_UNIXTIME(%s)"
    expected = rows(admin_db, sql, FROM_S, UNTIL_S - 1)[0][0]
    assert releases["fields"][0]["name"] == "time"
    assert len(releases["fields"][0]["values"]) == expected > 0
    names = [f["name"] for f in incidents["fields"]]
    assert names == ["time", "timeEnd", "title", "text", "tags"]
    tags = incidents["fields"][4]["values"]
    assert all(isinstance(t, list) for t in tags) and any("sev" in t[0] for t in tags)
    converted = grafana.convert(answer)
    assert [f["type"] for f in converted[1]["fields"]] == ["time", "time", "string", "string", "other"]


def test_legacy_annotations(business_db):
    annotation = {"name": "deploys", "query": "releases", "enable": True}
    status, answer = post(business_db, "/annotations", {"range": RANGE, "annotation": annotation})
    assert status == 200
    assert answer and answer[0]["annotation"] == annotation
    assert isinstance(answer[0]["time"], int) and answer[0]["title"].startswith("Release ")


def test_variables(business_db, admin_db, grafana):
    status, answer = post(business_db, "/variable", {"payload": {"target": "projects"}, "range": RANGE})
    assert status == 200
    expected = rows(admin_db, "SELECT slug, CONCAT(name, ' (', customer, ')') AS t FROM projects ORDER BY t")
    texts = Counter(name for _, name in expected)
    assert max(texts.values()) > 1, "the demo data has two projects with one name: keep testing that"
    shown = [name if texts[name] == 1 else f"{name} [{slug}]" for slug, name in expected]
    assert answer == [{"__text": text, "__value": slug} for (slug, _), text in zip(expected, shown)]
    options = grafana.variable(answer)
    assert options == [{"text": text, "value": slug} for (slug, _), text in zip(expected, shown)]
    customer = expected and rows(admin_db, "SELECT customer FROM projects LIMIT 1")[0][0]
    status, some = post(
        business_db, "/variable", {"payload": json.dumps({"target": "projects", "customer": customer})}
    )
    assert status == 200 and 0 < len(some) <= len(answer)


def test_legacy_search(business_db):
    status, names = post(business_db, "/search", {"target": "sign"})
    assert status == 200 and "signups" in names and all("sign" in n for n in names)
    status, options = post(business_db, "/search", {"target": "countries"})
    assert status == 200 and options and set(options[0]) == {"text", "value"}


def test_tag_keys_and_values(business_db, admin_db):
    status, keys = post(business_db, "/tag-keys", {})
    assert status == 200
    assert {"type": "string", "text": "country"} in keys
    status, values = post(business_db, "/tag-values", {"key": "country"})
    assert status == 200
    assert [v["text"] for v in values] == [
        r[0] for r in rows(admin_db, "SELECT DISTINCT country FROM users ORDER BY 1")
    ]
    status, roles = post(business_db, "/tag-values", {"key": "role"})
    assert [r["text"] for r in roles] == ["labeller", "reviewer", "manager", "admin"]
    status, answer = post(business_db, "/tag-values", {"key": "nope"})
    assert status == 400 and "'nope'" in answer["message"]


def test_metric_payload_options(business_db, admin_db):
    body = {"metric": "tasks_created", "name": "project", "payload": {}}
    status, options = post(business_db, "/metric-payload-options", body)
    assert status == 200
    assert {o["value"] for o in options} == {r[0] for r in rows(admin_db, "SELECT slug FROM projects")}
    status, answer = post(business_db, "/metric-payload-options", {**body, "name": "nope"})
    assert status == 400 and "no parameter named 'nope'" in answer["message"]


def test_failing_targets_keep_the_good_ones_and_name_their_error(business_db, grafana):
    """One failed refId no longer blanks the panel: Grafana's toDataFrame keeps the good
    frames and, for each failed refId, a frame with no fields whose error notice the panel shows."""
    status, answer = query(business_db, target("signups"), target("recent_users", "B", limit="many"),
                           target("nope", "C"))  # fmt: skip
    assert status == 200
    frames = grafana.convert(answer)
    assert [f["refId"] for f in frames] == ["A", "B", "C"]
    assert frames[0]["fields"] and frames[0]["length"] > 0
    expected = {"B": "parameter 'limit' must be an integer", "C": "no catalog entry 'nope'"}
    for frame in frames[1:]:
        needle = expected[frame["refId"]]
        assert frame["fields"] == [] and frame["length"] == 0
        (notice,) = frame["meta"]["notices"]
        assert notice["severity"] == "error"
        assert notice["text"].startswith(f"{frame['refId']}: ") and needle in notice["text"]
        assert frame["meta"]["custom"]["status"] == 400


def test_every_target_failing_is_an_error_answer(business_db):
    status, answer = query(business_db, target("recent_users", "B", limit="many"), target("nope", "C"))
    assert status == 400
    assert answer["refId"] == "B"
    assert answer["message"].startswith("B: recent_users: parameter 'limit' must be an integer")
    assert "C: no catalog entry 'nope'" in answer["message"]
    assert {e["refId"] for e in answer["errors"]} == {"B", "C"}


def test_rows_format_fails_loudly_on_any_failed_ref(business_db):
    status, answer = query(business_db, target("signups"), target("nope", "C"), format="rows")
    assert status == 400
    assert answer["refId"] == "C" and "no catalog entry 'nope'" in answer["message"]


def test_hidden_and_empty_targets_are_skipped(business_db):
    status, answer = query(business_db, {"refId": "A", "target": "signups", "hide": True},
                           {"refId": "B", "target": ""}, target("signups", "C"))  # fmt: skip
    assert status == 200
    assert [f["refId"] for f in answer] == ["C"]


def test_multi_value_target_alternation(business_db):
    status, answer = query(business_db, target("(signups|tasks_created)"), intervalMs=DAY_S * 1000)
    assert status == 200
    assert [f["name"] for f in answer] == ["signups", "tasks_created"]


def test_alert_defaults_count_as_unspecified(business_db):
    status, answer = query(business_db, target("signups"), intervalMs=1000, maxDataPoints=43200)
    assert status == 200
    interval = answer[0]["meta"]["custom"]["intervalMs"]
    assert interval > 1000
    assert len(answer[0]["fields"][0]["values"]) <= 1000


def test_infinity_style_body_with_iso_strings(business_db):
    start = dt.datetime.fromtimestamp(FROM_S, dt.timezone.utc).isoformat().replace("+00:00", "Z")
    end = dt.datetime.fromtimestamp(UNTIL_S, dt.timezone.utc).isoformat().replace("+00:00", "Z")
    status, answer = query(business_db, target("tasks_accepted"), range_={"from": start, "to": end})
    assert status == 200
    assert answer[0]["fields"][1]["values"]


def test_row_cap_adds_a_notice(make_business_app, db_settings):
    app = make_business_app(**db_settings, MAX_ROWS=3)
    status, answer = query(app, target("recent_users", limit=100))
    assert status == 200
    assert len(answer[0]["fields"][0]["values"]) == 3
    assert "result cut at 3 rows" in answer[0]["meta"]["notices"][0]["text"]


def test_executed_sql_is_in_meta(business_db):
    _, answer = query(business_db, target("signups"), intervalMs=DAY_S * 1000)
    executed = answer[0]["meta"]["executedQueryString"]
    assert f"FROM_UNIXTIME({FROM_S})" in executed and "DIV 86400 * 86400" in executed


def test_database_unreachable_is_a_clear_502(make_business_app, db_settings):
    app = make_business_app(**{**db_settings, "MYSQL_PORT": 1, "MYSQL_CONNECT_TIMEOUT_S": 1})
    status, answer = query(app, target("signups"))
    assert status == 502
    assert answer["message"].startswith(f"A: cannot reach MySQL {db_settings['MYSQL_USER']}@127.0.0.1:1/")
    assert db_settings["MYSQL_PASSWORD"] not in json.dumps(answer)


def test_reconnects_after_the_server_drops_the_connection(make_business_app, db_settings, admin_db):
    app = make_business_app(**db_settings)
    assert query(app, target("signups"))[0] == 200
    thread_id = app.source.database._conn.thread_id()
    with admin_db.cursor() as cursor:
        cursor.execute("KILL CONNECTION %s", (thread_id,))
    assert query(app, target("signups"))[0] == 200
    assert app.source.database._conn.thread_id() != thread_id


def test_rows_format_gives_uniquely_labelled_flat_rows(business_db):
    targets = (target("signups_by_channel"), target("tasks_by_status", "B"))
    _, frames = query(business_db, *targets, intervalMs=DAY_S * 1000)
    status, answer = query(business_db, *targets, intervalMs=DAY_S * 1000, format="rows")
    assert status == 200
    series_rows = [r for r in answer if r["refId"] == "A"]
    assert all(set(r) == {"refId", "metric", "channel", "time", "value"} for r in series_rows)
    by_series = {}
    for row in series_rows:
        by_series.setdefault((row["metric"], row["channel"]), []).append(row["value"])
    expected = {
        (f["fields"][1]["name"], f["fields"][1]["labels"]["channel"]): f["fields"][1]["values"]
        for f in frames
        if f["refId"] == "A"
    }
    assert by_series == expected
    table_rows = [r for r in answer if r["refId"] == "B"]
    assert table_rows and all(set(r) == {"refId", "status", "tasks"} for r in table_rows)


def test_unknown_answer_format_is_refused(business_db):
    status, answer = query(business_db, target("signups"), format="csv")
    assert status == 400
    assert "format must be one of" in answer["message"]
