"""Schemathesis against both functions behind the local runner, over real HTTP.

Every operation of openapi.yaml, with bodies generated from its request schema:
positive (valid per the contract: never a 5xx, answers conform) and negative
(breaking the contract: refused with a 4xx). Bounded and deterministic
(``derandomize``); ``--slow`` runs ten times as many examples.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from . import contract
from .helpers import BUSINESS_RANGE, TALLY, cloud_range

EXAMPLES = 15
SLOW_EXAMPLES = 150
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.ignored_auth,
]
SCHEMA = schemathesis.openapi.from_dict(contract.spec())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
FUNCTIONS = ("business", "cloudmonitor")


def _items():
    for function in FUNCTIONS:
        for label, op in OPERATIONS.items():
            modes = [GenerationMode.POSITIVE]
            if op.method.upper() != "OPTIONS":
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                yield pytest.param(function, label, mode, id=f"{function}-{label}-{mode.value}")


def _run(served, function, label, mode, examples):
    op = OPERATIONS[label]
    base = served.url(function).rstrip("/")
    sent = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case):
        sent.append(case)
        TALLY["schemathesis cases"] += 1
        case.call_and_validate(base_url=base, headers=served.auth, checks=CHECKS, timeout=60)

    check()
    assert sent, "schemathesis generated nothing"


@pytest.mark.parametrize(("function", "label", "mode"), list(_items()))
def test_generated_requests(served, function, label, mode):
    _run(served, function, label, mode, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize(("function", "label", "mode"), list(_items()))
def test_generated_requests_long(served, function, label, mode):
    _run(served, function, label, mode, SLOW_EXAMPLES)


def _real_bodies(function):
    if function == "business":
        target, payload, rng = "signups_by_channel", {}, BUSINESS_RANGE
    else:
        target, payload, rng = "cvm_cpu", {"instances": ["ins-gz0web01", "ins-gz0gap01"]}, cloud_range()
    query = {"range": rng, "targets": [{"refId": "A", "target": target, "payload": payload}]}
    return [
        ("POST /query", query),
        ("POST /query", {**query, "format": "rows"}),
        ("POST /query", {**query, "targets": [{"refId": "Z", "target": "no_such_target"}]}),
        ("POST /metrics", {}),
        ("POST /tag-keys", {}),
        ("POST /search", {"target": ""}),
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_real_requests_pass_every_check(served, function):
    """Generated bodies rarely name a real target; these do, so full answers are checked too."""
    base = served.url(function).rstrip("/")
    for label, body in _real_bodies(function):
        case = OPERATIONS[label].Case(body=body, media_type="application/json")
        response = case.call_and_validate(base_url=base, headers=served.auth, checks=CHECKS, timeout=60)
        assert response.status_code == (400 if "no_such_target" in str(body) else 200), response.text[:300]
