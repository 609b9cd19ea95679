"""One alert rule evaluated end to end: its Infinity queries posted as Infinity posts them,
the answers framed as Infinity's backend frames them (``frames.py``), then Grafana's
expressions and alert states (``expressions.py``).

``evaluate(rule, post, now_ms)`` returns the state of every alert instance, keyed by its
labels (a ``frozenset`` of ``(name, value)``); a rule-wide outcome (an error, no data) is
keyed by the empty set, with the raw reason in ``Evaluation.reason``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .expressions import Numbers, condition_state, math, reduce, shown_state, threshold
from .frames import (
    EvaluationError,
    NoData,
    Series,
    column_fields,
    evaluate_jsonata,
    infinity_frame,
    to_values,
)

EXPR_UID = "__expr__"
Post = Callable[[str, Any], tuple[int, Any]]
_MACRO = re.compile(r"\$\{__(timeFrom|timeTo)(:date(?::(iso|seconds))?)?\}")


def fill_macros(text: str, from_ms: int, to_ms: int) -> str:
    """Infinity's ``${__timeFrom:date:iso}`` family, filled in its backend for the rule's window."""

    def one(match: re.Match[str]) -> str:
        ms = from_ms if match.group(1) == "timeFrom" else to_ms
        if not match.group(2):
            return str(ms)
        if match.group(3) == "seconds":
            return str(ms // 1000)
        moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    return _MACRO.sub(one, text)


@dataclass
class Evaluation:
    """Every alert instance's state (after noDataState/execErrState), and the raw ones."""

    states: dict[frozenset, str] = field(default_factory=dict)
    raw: dict[frozenset, str] = field(default_factory=dict)
    values: dict[str, Numbers] = field(default_factory=dict)
    reason: str = ""

    def by_label(self, name: str) -> dict[str, str]:
        return {dict(labels).get(name, ""): state for labels, state in self.states.items()}


def query_bodies(rule: dict[str, Any], now_ms: int) -> dict[str, tuple[str, Any]]:
    """refId -> (URL, body) of each Infinity query, its window filled in."""
    bodies = {}
    for query in rule["data"]:
        if query["datasourceUid"] == EXPR_UID:
            continue
        window, model = query["relativeTimeRange"], query["model"]
        text = fill_macros(
            model["url_options"]["data"], now_ms - window["from"] * 1000, now_ms - window["to"] * 1000
        )
        bodies[query["refId"]] = (model["url"], json.loads(text))
    return bodies


def frame_answers(rule: dict[str, Any], answers: dict[str, Any]) -> dict[str, list[Series] | NoData]:
    """What the expressions read of each query's answer (rows of a 200)."""
    models = {q["refId"]: q["model"] for q in rule["data"] if q["datasourceUid"] != EXPR_UID}
    refs = list(answers)
    selected = evaluate_jsonata([(models[ref]["root_selector"], answers[ref]) for ref in refs])
    return {
        ref: to_values(infinity_frame(column_fields(result, models[ref]["columns"]), models[ref]))
        for ref, result in zip(refs, selected)
    }


def run_expressions(rule: dict[str, Any], inputs: dict[str, list[Series]]) -> dict[str, Numbers]:
    sets: dict[str, Numbers] = {}
    for query in rule["data"]:
        model = query["model"]
        if query["datasourceUid"] != EXPR_UID:
            continue
        if model["type"] == "reduce":
            series = inputs[model["expression"]]
            sets[query["refId"]] = {
                s.labels: reduce(s.values, model["reducer"], model.get("settings")) for s in series
            }
        elif model["type"] == "math":
            sets[query["refId"]] = math(model["expression"], sets)
        elif model["type"] == "threshold":
            sets[query["refId"]] = threshold(sets[model["expression"]], model["conditions"][0]["evaluator"])
        else:
            raise ValueError(f"{model['type']} expressions are not modelled")
    return sets


def evaluate_answers(rule: dict[str, Any], answers: dict[str, tuple[int, Any]]) -> Evaluation:
    """The rule's states from each query's HTTP answer (status, body)."""
    for ref, (status, body) in answers.items():
        if status != 200:
            return _rule_wide(rule, "Error", f"{ref}: HTTP {status}: {body}")
    try:
        framed = frame_answers(rule, {ref: body for ref, (_, body) in answers.items()})
    except EvaluationError as exc:
        return _rule_wide(rule, "Error", str(exc))
    for ref, value in framed.items():
        if isinstance(value, NoData):
            return _rule_wide(rule, "NoData", f"{ref}: {value.why}")
    sets = run_expressions(rule, framed)  # type: ignore[arg-type]
    result = Evaluation(values=sets)
    for labels, value in sets[rule["condition"]].items():
        result.raw[labels] = condition_state(value)
        result.states[labels] = shown_state(result.raw[labels], rule)
    if not result.states:
        return _rule_wide(rule, "NoData", "the condition has no alert instance")
    return result


def evaluate(rule: dict[str, Any], post: Post, now_ms: int) -> Evaluation:
    """Post each query (as Infinity would, during evaluation at ``now_ms``) and evaluate."""
    answers = {ref: post(url, body) for ref, (url, body) in query_bodies(rule, now_ms).items()}
    return evaluate_answers(rule, answers)


def _rule_wide(rule: dict[str, Any], raw: str, reason: str) -> Evaluation:
    return Evaluation({frozenset(): shown_state(raw, rule)}, {frozenset(): raw}, reason=reason)
