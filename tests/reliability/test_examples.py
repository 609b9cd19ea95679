"""The request examples of openapi.yaml work: each answers 200 with data, on the demo data too.

The business examples run through the app on the seeded test database and must conform to
the contract and return something (an example that answers ``[]`` teaches nothing). A
customer or other value an example names must also exist in the demo data ``make demo``
seeds (the default seed), so the example works there as well.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from labelhub_tools.demo.generator import COLUMNS, DEFAULT_SEED, DemoConfig, generate

from . import contract
from .helpers import call

BUSINESS_EXAMPLES = {"/query": "panel", "/variable": None, "/tag-values": None, "/annotations": None}


def _example(path: str, name: str | None):
    media = contract.operation(path, "POST")["requestBody"]["content"]["application/json"]
    return media["examples"][name]["value"] if name else media["example"]


def _has_data(path: str, body) -> bool:
    if path == "/query":
        return any(any(field["values"] for field in frame["fields"]) for frame in body)
    return bool(body)


@pytest.mark.parametrize(("path", "name"), sorted(BUSINESS_EXAMPLES.items()))
def test_business_examples_answer_200_with_data(business_db, path, name):
    answer = call(business_db, "POST", path, _example(path, name))
    assert answer.status == 200, answer.text
    contract.conforms(path, "POST", answer.status, answer.headers, answer.text)
    assert _has_data(path, answer.json()), f"{path} example answered {answer.text[:200]}"


def test_the_variable_example_s_customer_is_in_the_demo_data():
    customer = _example("/variable", None)["payload"]["customer"]
    config = DemoConfig(until=datetime(2026, 1, 1), days=1, seed=DEFAULT_SEED)
    column = COLUMNS["projects"].index("customer")
    customers = {row[column] for table, row in generate(config) if table == "projects"}
    assert customer in customers, sorted(customers)
