"""Every alert rule evaluated on the demo data: its queries posted as Infinity posts them,
the root selector run by the npm jsonata package, the frames built as Infinity's backend
builds them, then Grafana's reduce/math/threshold and alert states (rules and sources in
frames.py and expressions.py). For each rule: which label sets fire, which are Normal, and
what an empty series gives."""

from __future__ import annotations

import copy
import math

import pytest

from support.local_functions import BUSINESS_NOW_MS, cloud_now_ms

from .expressions import reduce
from .rules import evaluate, evaluate_answers, post_queries

YEAR_MS = 400 * 86_400_000


def last_reported(rows):
    """instance -> its last value that is not null, straight from the rows (not through the model)."""
    last = {}
    for row in sorted(rows, key=lambda r: r["time"]):
        if row["value"] is not None:
            last[row["instance"]] = row["value"]
    return last


def silenced(answer, instance):
    """The same answer with every point of one instance empty (value null)."""
    status, rows = copy.deepcopy(answer)
    for row in rows:
        if row["instance"] == instance:
            row["value"] = None
    return status, rows


# -- the reducer semantics the evaluation relies on (reduce.go) -------------------------


def test_reducers_on_empty_and_null_series():
    assert reduce((), "last", {"mode": "dropNN"}) is None  # → NoData
    assert reduce((None, None), "last", {"mode": "dropNN"}) is None
    assert reduce((None, None), "sum", {"mode": "dropNN"}) == 0.0
    assert reduce((1.0, None), "last", {}) is None  # strict: the last value as it is
    assert math.isnan(reduce((1.0, None), "sum", {}))
    assert reduce((1.0, math.nan, 3.0), "mean", {"mode": "dropNN"}) == 2.0
    assert reduce((None,), "last", {"mode": "replaceNN", "replaceWithValue": 7}) == 7.0


# -- CPU: a server that reports nothing has no alert instance ----------------------------


def test_cvm_cpu_fires_per_server_on_its_last_reported_value(rules, post):
    rule = rules["labelhub-cvm-cpu-high"]
    now = cloud_now_ms()
    answers = post_queries(rule, post, now)
    expected = {i: ("Alerting" if v > 85 else "Normal") for i, v in last_reported(answers["A"][1]).items()}
    result = evaluate_answers(rule, answers)
    assert result.by_label("instance") == expected
    # the demo's stopped and silent servers report nothing: no instance, so never NoData
    assert {"ins-gz0off01", "ins-gz0sil01"}.isdisjoint(result.by_label("instance"))
    assert "NoData" not in result.states.values()


def test_cvm_cpu_a_server_going_silent_leaves_the_rule(rules, post):
    rule = rules["labelhub-cvm-cpu-high"]
    answers = post_queries(rule, post, cloud_now_ms())
    quiet = evaluate_answers(rule, {"A": silenced(answers["A"], "ins-gz0web01")})
    assert "ins-gz0web01" not in quiet.by_label("instance")
    assert quiet.states and "NoData" not in quiet.states.values()


def test_cvm_cpu_no_point_at_all_notifies(rules):
    """The whole fleet silent: Infinity gets no row, long-to-wide fails on zero rows, the long
    frame is refused by Grafana: Error (execErrState Error), notified like NoData would be."""
    result = evaluate_answers(rules["labelhub-cvm-cpu-high"], {"A": (200, [])})
    assert result.states == {frozenset(): "Error"}
    assert "wide series" in result.reason


# -- MySQL connections -------------------------------------------------------------------


def test_cdb_connections_per_instance_and_a_silent_instance(rules, post):
    rule = rules["labelhub-cdb-connections-near-max"]
    answers = post_queries(rule, post, cloud_now_ms())
    used, limit = last_reported(answers["A"][1]), last_reported(answers["B"][1])
    expected = {i: ("Alerting" if used[i] / limit[i] * 100 > 90 else "Normal") for i in used.keys() & limit}
    assert evaluate_answers(rule, answers).by_label("instance") == expected
    victim = sorted(expected)[0]
    quiet = evaluate_answers(rule, {"A": silenced(answers["A"], victim), "B": answers["B"]})
    assert victim not in quiet.by_label("instance")
    assert "NoData" not in quiet.states.values()


# -- SCF error rate: an idle function is 0 %, explicitly ----------------------------------


def test_scf_error_rate_per_function(rules, post):
    rule = rules["labelhub-scf-error-rate"]
    answers = post_queries(rule, post, cloud_now_ms())
    errors, calls = {}, {}
    for sums, (_, rows) in ((errors, answers["A"]), (calls, answers["B"])):
        for row in rows:
            sums[row["instance"]] = sums.get(row["instance"], 0) + (row["value"] or 0)
    # A function with no calls in the window is 0 %: Normal, not left out.
    expected = {f: ("Alerting" if calls[f] and errors[f] / calls[f] * 100 > 1 else "Normal") for f in calls}
    assert evaluate_answers(rule, answers).by_label("instance") == expected


def test_scf_idle_function_is_normal_at_zero_and_errors_without_calls_fire(rules, post):
    rule = rules["labelhub-scf-error-rate"]
    answers = post_queries(rule, post, cloud_now_ms())
    idle = sorted({row["instance"] for row in answers["B"][1]})[0]
    quiet = evaluate_answers(rule, {"A": silenced(answers["A"], idle), "B": silenced(answers["B"], idle)})
    (labels,) = [k for k in quiet.states if dict(k)["instance"] == idle]
    assert quiet.states[labels] == "Normal"
    assert quiet.values["E"][labels] == 0.0  # a number, not NaN: Normal by decision, not by accident
    _, errors = silenced(answers["A"], idle)
    next(row for row in errors if row["instance"] == idle)["value"] = 1  # one error, no invocation
    broken = evaluate_answers(rule, {"A": (200, errors), "B": silenced(answers["B"], idle)})
    assert broken.states[labels] == "Alerting"


# -- business rules: an empty window is zeros --------------------------------------------


def test_business_rules_at_the_end_of_the_demo_data(rules, post):
    tasks = evaluate(rules["labelhub-no-accepted-tasks"], post, BUSINESS_NOW_MS)
    accepted = tasks.values["B"]
    assert len(accepted) == 1
    (total,) = accepted.values()
    assert set(tasks.states.values()) == {"Alerting" if total < 1 else "Normal"}
    signups = evaluate(rules["labelhub-signups-collapse"], post, BUSINESS_NOW_MS)
    (last_day,), (week,) = signups.values["C"].values(), signups.values["D"].values()
    assert week > 0
    assert set(signups.states.values()) == {"Alerting" if last_day / (week / 7) * 100 < 30 else "Normal"}


@pytest.mark.parametrize("uid", ["labelhub-no-accepted-tasks", "labelhub-signups-collapse"])
def test_business_rules_fire_on_a_window_without_any_data(rules, post, uid):
    """Before the demo data starts: every bucket is 0, the sums are 0. No accepted task fires;
    no signup in 24 hours after a week without any fires too (it used to be 0/0 = NaN: silent)."""
    result = evaluate(rules[uid], post, BUSINESS_NOW_MS - YEAR_MS)
    assert set(result.states.values()) == {"Alerting"}, result.values
    assert all(v == 0.0 for v in result.values["B" if uid.endswith("tasks") else "C"].values())


def test_signups_after_an_empty_week_are_normal(rules, post):
    rule = rules["labelhub-signups-collapse"]
    answers = post_queries(rule, post, BUSINESS_NOW_MS)
    _, week = copy.deepcopy(answers["B"])
    for row in week:
        row["value"] = 0
    result = evaluate_answers(rule, {"A": answers["A"], "B": (200, week)})
    assert set(result.states.values()) == {"Normal"}, result.values
