"""What ``labelhub serve`` prints for the real project: a short banner, one line per request.

The runner is started as a user starts it (``python -m labelhub_tools serve``) from the
project root with no ``${env:}`` variable set but the database ones, so every notice a
newcomer would see shows up here too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import ROOT
from labelhub_tools.local.instance import forwarded_level
from labelhub_tools.local.launch import DEPENDENCIES
from support.names import run_name
from support.processes import reaped

# Everything the project's serverless.yml reads with ${env:...}, so none leaks in from the caller.
PROJECT_VARIABLES = (
    "CLOUD_API_ENDPOINT", "CLOUD_API_SECRET_ID", "CLOUD_API_SECRET_KEY", "TENCENTCLOUD_SECRETID",
    "CLOUD_API_INSTANCES_PER_CALL", "CLOUD_API_LIST_TTL_S", "CLOUD_API_MIN_PERIOD_S",
    "CLOUD_API_POINTS_PER_CALL", "CLOUD_API_RATE_LIMIT", "CLOUD_API_REGION", "CLOUD_API_RETRIES",
    "CLOUD_API_TIMEOUT_S", "CLOUD_API_WORKERS", "CLOUD_MONITOR_ROLE", "DATASOURCE_TOKEN",
    "GRAFANA_BACKEND_DEBUG", "LOG_LEVEL", "MAX_ROWS", "MYSQL_CONNECT_TIMEOUT_S", "MYSQL_DATABASE",
    "MYSQL_HOST", "MYSQL_PASSWORD", "MYSQL_PORT", "MYSQL_QUERY_TIMEOUT_MS", "MYSQL_READ_TIMEOUT_S",
    "MYSQL_USER", "REGION", "STAGE",
)  # fmt: skip
MISSING_USER = run_name("lh_nobody")  # no such account: the business function's queries fail


def _post(url: str, body: dict) -> tuple[int, dict | list]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def session():
    """Serve the project, send three requests (400, 502, 200), stop; the output and answers."""
    env = {k: v for k, v in os.environ.items() if k not in PROJECT_VARIABLES}
    env.update(MYSQL_USER=MISSING_USER, MYSQL_PASSWORD="not-the-password", MYSQL_DATABASE=MISSING_USER)
    process = subprocess.Popen(
        [sys.executable, "-m", "labelhub_tools", "serve", "--port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with reaped(process):
        banner = []
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("function list:"):
                break
        base = banner[-1].split()[2].rstrip("/")
        answers = [
            _post(f"{base}/business/query", {"targets": []}),
            _post(f"{base}/business/variable", {"payload": {"target": "projects"}}),
            _post(f"{base}/cloudmonitor/variable", {"payload": {"target": "regions"}}),
        ]
        process.send_signal(signal.SIGTERM)
        rest = [line.rstrip("\n") for line in process.stdout]
        assert process.wait(timeout=20) == 0
    return banner, answers, rest


def test_the_banner_is_short_and_says_which_python_runs_the_workers(session):
    banner, _, _ = session
    text = "\n".join(banner)
    assert len(banner) <= 7, text
    assert "is unset" not in text and "declares runtime" not in text
    (workers,) = [line for line in banner if line.startswith("workers: Python ")]
    version = "{}.{}".format(*sys.version_info[:2])
    if not workers.startswith("workers: Python 3.10 "):
        assert workers.startswith(f"workers: Python {version} ({sys.executable})")
        assert "; the functions declare Python3.10, but python3.10 " in workers
    assert any(line.startswith("Cloud Monitor: the local Tencent Cloud API emulator at ") for line in banner)


def test_one_line_per_request_with_the_reason_of_a_failure(session):
    _, answers, rest = session
    assert [status for status, _ in answers] == [400, 502, 200]
    requests = [line for line in rest if " POST /" in line]
    assert len(requests) == 3, "\n".join(rest)
    bad, failed, ok = requests
    assert "business#1 POST /query 400 " in bad and bad.endswith(": " + answers[0][1]["message"])
    assert "business#1 POST /variable 502 " in failed and failed.endswith(": " + answers[1][1]["message"])
    assert "refused access" in failed and "not-the-password" not in "\n".join(rest)
    assert "cloudmonitor#1 POST /variable 200 " in ok and ok.endswith(" ms)")  # "cold (import N ms)"


def test_no_duplicates_and_no_details_at_the_default_level(session):
    _, _, rest = session
    others = [line for line in rest if " POST /" not in line]
    # The runner fires the declared timer when its schedule comes round during the session:
    # one line for the tick, its error included (the refresher's own record is a detail).
    allowed = ("DATASOURCE_TOKEN is not set", "stopping workers...", " timer business/rollup-refresh -> ")
    assert all(any(text in line for text in allowed) for line in others), "\n".join(rest)
    assert len([line for line in others if "DATASOURCE_TOKEN" in line]) <= 2  # one per cold start


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("INFO grafana_scf POST /query -> 400 in 3.8 ms", "DEBUG"),
        ("DEBUG grafana_scf.mysql connected", "DEBUG"),
        ("ERROR grafana_scf POST /variable failed: MySQL refused access", "DEBUG"),
        ("ERROR grafana_scf.rollups rollups: cannot connect as the writer: (1044) Access denied", "DEBUG"),
        ("ERROR grafana_scf.rollups rollup task_events: refresh failed: lost the connection", "DEBUG"),
        ("ERROR grafana_scf POST / crashed", "INFO"),
        ("WARNING grafana_scf business: DATASOURCE_TOKEN is not set: every route is open", "INFO"),
        ("Traceback (most recent call last):", "INFO"),
        ("printed by the handler", "INFO"),
    ],
)
def test_forwarded_levels(line, level):
    assert forwarded_level(line) == getattr(__import__("logging"), level)


def test_the_dependency_list_is_the_project_s():
    text = (ROOT / "pyproject.toml").read_text()
    for label in ("PyMySQL", "PyYAML", "fastjsonschema"):
        assert f'"{label}==' in text and label in DEPENDENCIES
    assert (
        "tencentcloud-sdk-python-monitor" in text
        and DEPENDENCIES["tencentcloud SDK"] == "tencentcloud.monitor"
    )
