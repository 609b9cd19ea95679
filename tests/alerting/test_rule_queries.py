"""Every alert rule, whatever it watches: its queries answer rows that keep the series
apart, and its condition gives labelled alert instances, none lost on the way.

Grafana does not refuse what these tests look for; it loses data without a word:
LongToWide keeps one of two points with the same series and time, math drops the items
that join nothing on the other side, and an unlabelled instance cannot be told from the
rule itself."""

from __future__ import annotations

import copy

import pytest

from support.local_functions import BUSINESS_NOW_MS, cloud_now_ms

from .conftest import alert_rules
from .expressions import Numbers, math, unjoined
from .frames import EvaluationError, column_fields, duplicate_points, evaluate_jsonata, long_to_wide
from .rules import evaluate_answers, post_queries, query_models

RULE_UIDS = sorted(alert_rules())


def answers_at_now(rule, post):
    """Each query's (status, rows) at the end of the seed (business) or now (cloud)."""
    business = all("/business/" in model["url"] for model in query_models(rule).values())
    return post_queries(rule, post, BUSINESS_NOW_MS if business else cloud_now_ms())


@pytest.mark.parametrize("uid", RULE_UIDS)
def test_rule_answers_keep_series_apart_and_give_labelled_instances(uid, rules, post):
    rule = rules[uid]
    answers = answers_at_now(rule, post)
    for ref, (status, rows) in answers.items():
        assert status == 200, f"{ref}: HTTP {status}: {rows}"
        assert isinstance(rows, list) and rows, f"{ref}: no rows"
        assert duplicate_points(rows) == [], f"{ref}: the answer repeats a (series, time) point"
        chosen = {c["selector"] for c in query_models(rule)[ref]["columns"]}
        projected = [{k: v for k, v in row.items() if k in chosen} for row in rows]
        assert duplicate_points(projected) == [], f"{ref}: the rule's columns do not tell the series apart"
    result = evaluate_answers(rule, answers)
    assert result.reason == "" and result.states, result.reason
    assert set(result.raw.values()) <= {"Normal", "Alerting"}, result.raw
    assert frozenset() not in result.states, "an alert instance without labels"
    for query in rule["data"]:
        if query["model"].get("type") == "math":
            expression = query["model"]["expression"]
            dropped = unjoined(expression, result.values, result.values[query["refId"]])
            assert dropped == [], f"{query['refId']}: math drops series that match nothing: {dropped}"


def test_unsorted_rows_stay_long_and_the_rule_errors(rules, post):
    """Without the JSONata sort, rows grouped per series are not time-ordered: long-to-wide
    fails and Grafana refuses the long frame."""
    rule = copy.deepcopy(rules["labelhub-cvm-cpu-high"])
    model = query_models(rule)["A"]
    model["root_selector"] = "$"  # the answer as it is
    answers = answers_at_now(rule, post)
    with pytest.raises(EvaluationError, match="sorted ascending"):
        long_to_wide(column_fields(evaluate_jsonata([("$", answers["A"][1])])[0], model["columns"]))
    result = evaluate_answers(rule, answers)
    assert result.states == {frozenset(): "Error"}
    assert "wide series" in result.reason


def test_columns_without_labels_would_merge_series(rules, post):
    """The column check above can fail: on time and value alone, the servers' points collide."""
    rule = rules["labelhub-cvm-cpu-high"]
    _, rows = answers_at_now(rule, post)["A"]
    assert duplicate_points([{"time": r["time"], "value": r["value"]} for r in rows])


def test_math_drops_series_that_match_nothing_and_the_check_names_them():
    a, b, c = (frozenset({("instance", name)}) for name in "abc")
    sets: dict[str, Numbers] = {"A": {a: 1.0, b: 2.0}, "B": {a: 4.0, c: 5.0}}
    result = math("$A / $B", sets)
    assert result == {a: 0.25}
    assert sorted(d["instance"] for d in unjoined("$A / $B", sets, result)) == ["b", "c"]
    same = math("$A / $A * 100", sets)
    assert same == {a: 100.0, b: 100.0}
    assert unjoined("$A / $A * 100", sets, same) == []
