"""The business function behind the local runner: real HTTP, warm worker processes, real MariaDB."""

from __future__ import annotations

import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT
from labelhub_tools.local import start_runner

RANGE = {"from": "2026-10-11T00:00:00Z", "to": "2026-11-01T00:00:00Z"}


@pytest.fixture(scope="module")
def runner(db_settings):
    environ = {"PATH": os.environ.get("PATH", "")}
    environ.update({k: str(v) for k, v in db_settings.items() if v is not None})
    with start_runner(ROOT, functions=["business"], max_instances=4, environ=environ) as handle:
        yield handle


def http(url, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_health_and_query_over_http(runner, grafana):
    base = runner.function_url("business")
    assert http(base)[0] == 200
    body = {"range": RANGE, "targets": [{"refId": "A", "target": "tasks_reviewed"}], "maxDataPoints": 200}
    status, answer = http(base + "query", body)
    assert status == 200
    converted = grafana.convert(answer)
    assert {f["fields"][1]["labels"]["outcome"] for f in converted} == {"accepted", "rejected"}


def test_errors_keep_their_status_over_http(runner):
    base = runner.function_url("business")
    status, answer = http(base + "query", {"range": RANGE, "targets": [{"refId": "Z", "target": "nope"}]})
    assert status == 400
    assert answer["refId"] == "Z"
    assert http(base + "nope", {})[0] == 404


def test_concurrent_requests_start_more_warm_instances(runner):
    base = runner.function_url("business")
    body = {"range": RANGE, "targets": [{"refId": "A", "target": "top_labellers"}]}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: http(base + "query", body), range(16)))
    assert all(status == 200 for status, _ in results)
    assert all(answer == results[0][1] for _, answer in results)
    stats = runner.stats()["business"]
    assert 1 < stats["instances"] <= 4
    assert stats["cold_starts"] == stats["instances"]
