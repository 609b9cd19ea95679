"""One deadline per request (issue finding 3): every target and every MySQL statement under it.

A function's time limit arrives in the SCF context (``time_limit_in_ms``); what has not
answered when it is up is a 504 naming the refIds and MySQL, sent before the platform
would kill the instance.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from grafana_scf import deadline
from grafana_scf.app import create_app
from grafana_scf.deadline import Deadline
from grafana_scf.transport import Request
from support.events import function_url_event

SLOW = "SELECT SLEEP(5) AS slept"
CATALOG = {
    "source": "mysql",
    "metrics": {
        "slow": {"format": "table", "sql": SLOW},
        "quick": {"format": "table", "sql": "SELECT 1 AS n"},
        "also_quick": {"format": "table", "sql": "SELECT 2 AS n"},
    },
}
RANGE = {"from": 0, "to": 1000}
LATE = "MySQL did not answer within the request's time limit (0.5 s)"


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory, db_settings):
    folder = tmp_path_factory.mktemp("slowdb")
    (folder / "catalog.yaml").write_text(yaml.safe_dump(CATALOG))
    app = create_app(folder / "index.py", **db_settings, MYSQL_QUERY_TIMEOUT_MS=10_000)
    yield app
    app.source.database.close()


def query(app, targets, context):
    body = {"range": RANGE, "targets": [{"refId": r, "target": t} for r, t in targets]}
    response = app.handle(function_url_event("POST", "/query", body), context)
    return response["statusCode"], json.loads(response["body"])


def test_a_slow_statement_is_stopped_at_the_request_deadline_and_the_rest_are_named(slow_app):
    # 2 s from the platform, less the 1.5 s margin: 0.5 s for the whole request, although
    # MYSQL_QUERY_TIMEOUT_MS would give the statement 10 s.
    targets = [("A", "slow"), ("B", "quick"), ("C", "also_quick")]
    status, answer = query(slow_app, targets, {"time_limit_in_ms": 2000})
    assert status == 504
    assert answer["message"] == f"A, B, C: {LATE}"
    assert {e["refId"]: e["status"] for e in answer["errors"]} == {"A": 504, "B": 504, "C": 504}


def test_the_rows_format_fails_as_loudly(slow_app):
    body = {"range": RANGE, "targets": [{"refId": "A", "target": "slow"}], "format": "rows"}
    response = slow_app.handle(function_url_event("POST", "/query", body), {"time_limit_in_ms": 2000})
    assert response["statusCode"] == 504
    assert json.loads(response["body"])["message"] == f"A: {LATE}"


def test_with_time_left_the_same_targets_answer(slow_app):
    status, answer = query(slow_app, [("B", "quick"), ("C", "also_quick")], {"time_limit_in_ms": 2000})
    assert status == 200
    assert [frame["fields"][0]["values"] for frame in answer] == [[1], [2]]


class Clock:
    """A clock that moves only when told (the deadline's, injected)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_deadline_is_checked_before_every_target_and_every_alternative(slow_app, monkeypatch):
    clock, ran = Clock(), []
    real_query = slow_app.source.query

    def query_then_spend_two_seconds(query):
        ran.append(query.target)
        frames = real_query(query)
        clock.now += 2
        return frames

    monkeypatch.setattr(slow_app.source, "query", query_then_spend_two_seconds)
    body = {
        "range": RANGE,
        "targets": [{"refId": "A", "target": "(quick|also_quick)"}, {"refId": "B", "target": "quick"}],
    }
    request = Request("POST", "/query", {}, {}, json.dumps(body).encode())
    with deadline.bind(Deadline.after(1.5, clock)):
        response = slow_app.respond(request)
    answer = json.loads(response.body)
    assert ran == ["quick"]
    assert response.status == 504
    assert answer["message"] == "A, B: MySQL did not answer within the request's time limit (1.5 s)"


def test_the_statement_limit_is_the_smaller_of_the_setting_and_the_time_left(slow_app):
    entry = slow_app.source.catalog.entries["quick"]
    with deadline.bind(Deadline.after(0.25, Clock())):
        assert slow_app.source._time_limit_ms(entry) == (250, True)
    with deadline.bind(Deadline.after(60, Clock())):
        assert slow_app.source._time_limit_ms(entry) == (10_000, False)
    with deadline.bind(Deadline.after(0, Clock())), pytest.raises(deadline.DeadlineExceeded):
        slow_app.source._time_limit_ms(entry)  # 0 ms would mean "no limit" to the server


def test_the_query_command_passes_the_functions_configured_time_limit():
    # In a child process, as the command runs: loading the project there leaves this
    # process's modules as they were.
    import subprocess
    import sys

    configured = yaml.safe_load((ROOT / "datasource/business/serverless.yml").read_text())
    probe = (
        "import sys; from pathlib import Path; from labelhub_tools.query_cli import invocation_context; "
        "print(invocation_context(Path(sys.argv[1]))['time_limit_in_ms'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "datasource" / "business")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(float(done.stdout.strip())) == configured["inputs"]["timeout"] * 1000


def write_slow_project(root: Path) -> None:
    """The real project in miniature: the layer, and one function with a 2 s timeout."""
    shutil.copy(ROOT / "serverless.yml", root / "serverless.yml")
    os.symlink(ROOT / "layer", root / "layer")
    folder = root / "datasource" / "slowdb"
    folder.mkdir(parents=True)
    spec = yaml.safe_load((ROOT / "datasource/business/serverless.yml").read_text())
    spec["name"] = "slowdb"
    spec["inputs"].update(name="slowdb", timeout=2, initTimeout=10)
    (folder / "serverless.yml").write_text(yaml.safe_dump(spec))
    shutil.copy(ROOT / "datasource/business/index.py", folder / "index.py")
    (folder / "catalog.yaml").write_text(yaml.safe_dump(CATALOG))


def test_behind_the_runner_the_function_answers_before_its_platform_timeout(tmp_path, db_settings):
    import urllib.error
    import urllib.request

    from labelhub_tools.local import start_runner

    write_slow_project(tmp_path)
    environ = {"PATH": os.environ.get("PATH", ""), "MYSQL_QUERY_TIMEOUT_MS": "10000"}
    environ.update({k: str(v) for k, v in db_settings.items() if v is not None})
    body = {"range": RANGE, "targets": [{"refId": "A", "target": "slow"}, {"refId": "B", "target": "quick"}]}
    with start_runner(tmp_path, functions=["slowdb"], environ=environ) as runner:
        request = urllib.request.Request(
            runner.function_url("slowdb") + "query",
            json.dumps(body).encode(),
            {"content-type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(request, timeout=60)
    assert failure.value.code == 504
    assert json.loads(failure.value.read())["message"] == f"A, B: {LATE}"
