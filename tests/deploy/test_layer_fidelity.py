"""The built layer, proven the way SCF will use it: a bare Python 3.10, function folder + layer only.

``drive_layer.py`` imports each function's ``index`` with nothing but the function folder
and the built layer on its path (no site-packages, no checkout), then answers captured
API Gateway and Function URL events against the seeded MariaDB and the Tencent Cloud API
emulator. Its answers must equal those of the same function run in-process from the
source tree: a package missing from the layer, or shipped for the wrong Python, fails
here instead of on SCF. The local runner then serves both functions from the layer.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from grafana_scf.app import create_app
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, start_emulator
from labelhub_tools.local import start_runner
from support.events import function_url_event, load_event

from .project import ROOT

DRIVER = Path(__file__).with_name("drive_layer.py")
RANGE = {"from": "2026-10-11T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
BUSINESS_QUERY = {
    "range": RANGE,
    "targets": [{"refId": "A", "target": "tasks_reviewed"}],
    "maxDataPoints": 200,
}
PROXIES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def apigw(path: str, body: dict | None = None) -> dict:
    """A captured API Gateway event (prefix API ``/grafana``) re-aimed at ``path``."""
    event = copy.deepcopy(load_event("apigw_post_metrics"))
    event["path"] = "/grafana" + path
    if body is None:
        event["httpMethod"] = "GET"
        event.pop("body", None)
    else:
        event["body"] = json.dumps(body)
    return event


def drive(python: str, layer: Path, function: str, events: list[dict], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [python, "-I", "-S", "-B", str(DRIVER), str(ROOT / "datasource" / function), str(layer)],
        input=json.dumps(events),
        env={"PATH": "/usr/bin:/bin", "TZ": "UTC", "LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outside"] == [], "modules loaded from outside the function folder and the layer"
    assert not any("site-packages" in p for p in result["path"])
    return result


def bodies(answers: list[dict]) -> list[tuple[int, object]]:
    return [(a["statusCode"], json.loads(a["body"]) if a["body"] else None) for a in answers]


@pytest.fixture(scope="module")
def db_env(db_settings) -> dict[str, str]:
    return {k: str(v) for k, v in db_settings.items() if v is not None}


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(rate_limit=0) as handle:
        yield handle


@pytest.fixture
def role_keys(monkeypatch):
    """The emulator's demo pair as execution-role keys, no proxies: as SCF would set them."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    keys = {"TENCENTCLOUD_SECRETID": DEFAULT_SECRET_ID, "TENCENTCLOUD_SECRETKEY": DEFAULT_SECRET_KEY}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return keys


BUSINESS_EVENTS = [
    load_event("function_url_get_health"),
    load_event("apigw_get_health"),
    load_event("function_url_post_metrics"),
    load_event("apigw_post_metrics"),
    load_event("apigw_base64_variable"),
    function_url_event("POST", "/query", BUSINESS_QUERY),
    apigw("/query", BUSINESS_QUERY),
]


def test_the_business_function_answers_from_the_layer_as_from_the_source(
    layer_build, python310, business_db, db_env
):
    result = drive(python310, layer_build.out, "business", BUSINESS_EVENTS, db_env)
    answers = bodies(result["answers"])
    assert [status for status, _ in answers] == [200] * len(BUSINESS_EVENTS)
    assert answers == bodies([business_db.handle(copy.deepcopy(e), {}) for e in BUSINESS_EVENTS])
    assert answers[5] == answers[6], "both trigger shapes give one answer"
    print(f"business cold import from the layer: {result['import_ms']:.0f} ms")  # reported only


def test_the_token_from_the_environment_locks_the_layer_function(layer_build, python310, db_env):
    events = [
        load_event("function_url_get_health"),
        function_url_event("GET", "/", headers={"authorization": "Bearer s3cret"}),
    ]
    result = drive(python310, layer_build.out, "business", events, {**db_env, "DATASOURCE_TOKEN": "s3cret"})
    assert [a["statusCode"] for a in result["answers"]] == [401, 200]


def cloud_events(window_end: int) -> list[dict]:
    start = window_end - 3600
    query = {
        "range": {"from": _iso(start), "to": _iso(window_end)},
        "intervalMs": 60_000,
        "maxDataPoints": 1000,
        "targets": [{"refId": "A", "target": "cvm_cpu", "payload": {"instances": "ins-gz0web01"}}],
    }
    variable = {"payload": {"target": "cvm_instances", "region": "ap-guangzhou"}}
    return [
        load_event("function_url_get_health"),
        load_event("apigw_get_health"),
        load_event("function_url_post_metrics"),
        function_url_event("POST", "/query", query),
        apigw("/query", query),
        function_url_event("POST", "/variable", variable),
    ]


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def test_the_cloudmonitor_function_answers_from_the_layer_as_from_the_source(
    layer_build, python310, emulator, role_keys
):
    events = cloud_events((int(time.time()) // 3600 - 1) * 3600)
    env = {"CLOUD_API_ENDPOINT": emulator.url, **role_keys}
    result = drive(python310, layer_build.out, "cloudmonitor", events, env)
    answers = bodies(result["answers"])
    assert [status for status, _ in answers] == [200] * len(events)
    assert answers[3][1] and answers[3][1][0]["fields"][1]["values"], "CPU values from the emulator"
    source = create_app(ROOT / "datasource" / "cloudmonitor" / "index.py", CLOUD_API_ENDPOINT=emulator.url)
    assert answers == bodies([source.handle(copy.deepcopy(e), {}) for e in events])
    print(f"cloudmonitor cold import from the layer: {result['import_ms']:.0f} ms")  # reported only


def http(url: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_local_runner_serves_both_functions_from_the_built_layer(
    layer_build, python310, business_db, db_env, emulator
):
    environ = {
        "PATH": os.environ.get("PATH", ""),
        **db_env,
        "CLOUD_API_ENDPOINT": emulator.url,
        "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
        "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
    }
    with start_runner(ROOT, layer_dir=layer_build.out, python=python310, environ=environ) as runner:
        status, listing = http(runner.url + "/")
        assert status == 200
        for described in listing["functions"]:
            code_dir = str(ROOT / "datasource" / described["name"])
            assert described["python_path"] == [code_dir, str(layer_build.out)]
        assert http(runner.function_url("business"))[0] == 200
        assert http(runner.function_url("cloudmonitor"))[0] == 200
        answer = http(runner.function_url("business") + "query", BUSINESS_QUERY)
        expected = business_db.handle(function_url_event("POST", "/query", BUSINESS_QUERY), {})
        assert answer == (200, json.loads(expected["body"]))
        variable = {"payload": {"target": "cvm_instances", "region": "ap-guangzhou"}}
        status, options = http(runner.function_url("cloudmonitor") + "variable", variable)
        assert status == 200 and any("ins-gz0web01" in o["__value"] for o in options)
        stats = runner.stats()
    assert stats["business"]["cold_starts"] == 1 and stats["cloudmonitor"]["cold_starts"] == 1
