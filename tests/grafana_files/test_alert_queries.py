"""The alert rules' Infinity queries, replayed against both functions as Infinity sends them
during evaluation (the hand-written body, the window filled in, the bearer token), then
through the rule's parser, long-to-wide, Reduce, Math and Threshold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.local_functions import BUSINESS_NOW_MS, cloud_now_ms

from . import files
from .infinity import (
    InfinityError,
    duplicate_points,
    evaluate_expressions,
    fill_macros,
    math,
    series_labels,
    to_fields,
)

RULES = {rule["uid"]: rule for _, rule in files.alert_rules()}


def _now(model: dict[str, Any]) -> int:
    return BUSINESS_NOW_MS if "/business/" in model["url"] else cloud_now_ms()


def run_query(functions, query: dict[str, Any]) -> list[dict[str, Any]]:
    """What the function answers Infinity for one rule query."""
    model = query["model"]
    now = _now(model)
    window = query["relativeTimeRange"]
    body = fill_macros(model["url_options"]["data"], now - window["from"] * 1000, now - window["to"] * 1000)
    status, rows = functions.post(functions.translate(model["url"]), json.loads(body))
    assert status == 200, f"{model['refId']}: HTTP {status}: {rows}"
    assert isinstance(rows, list) and rows, f"{model['refId']}: no rows"
    return rows


@pytest.mark.parametrize("uid", sorted(RULES))
def test_rule_queries_give_uniquely_labelled_series(uid, functions):
    rule, fields = RULES[uid], {}
    for query in (q for q in rule["data"] if q["datasourceUid"] != files.EXPR_UID):
        rows = run_query(functions, query)
        model = query["model"]
        assert duplicate_points(rows) == [], "the answer repeats a (series, time) point"
        chosen = {c["selector"] for c in model["columns"]}
        projected = [{k: v for k, v in row.items() if k in chosen} for row in rows]
        assert duplicate_points(projected) == [], "the rule's columns do not tell the series apart"
        fields[query["refId"]] = to_fields(rows, model)
        labels = series_labels(fields[query["refId"]])
        assert labels and all(labels), f"{query['refId']}: no labelled series"
    results = evaluate_expressions(rule, fields)
    condition = results[rule["condition"]]
    assert condition, "the condition has no alert instance"
    assert set(condition.values()) <= {0.0, 1.0}


def test_unsorted_rows_would_stay_long_and_fail_the_rule(functions):
    """Without the JSONata sort, rows grouped per series are not time-ordered: Infinity's
    long-to-wide step fails and alerting refuses the long frame."""
    query = next(q for q in RULES["labelhub-cvm-cpu-high"]["data"] if q["refId"] == "A")
    rows = run_query(functions, query)
    with pytest.raises(InfinityError, match="sorted ascending"):
        to_fields(rows, {**query["model"], "root_selector": ""})


def test_columns_without_the_instance_would_merge_series(functions):
    query = next(q for q in RULES["labelhub-cvm-cpu-high"]["data"] if q["refId"] == "A")
    rows = run_query(functions, query)
    assert duplicate_points([{"time": r["time"], "value": r["value"]} for r in rows])


def test_math_refuses_series_that_match_nothing():
    left = {frozenset({("instance", "a")}): 1.0, frozenset({("instance", "b")}): 2.0}
    right = {frozenset({("instance", "a")}): 4.0, frozenset({("instance", "c")}): 5.0}
    with pytest.raises(InfinityError, match="match nothing"):
        math("$A / $B", {"A": left, "B": right})
    assert math("$A / $B * 100", {"A": left, "B": left}) == {k: 100.0 for k in left}
