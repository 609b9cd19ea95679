"""The Function URL contract over real HTTP: event, context, environment, import path, answers."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from labelhub_tools.local.events import INVALID_RESPONSE

from .conftest import call, call_raw
from .projects import write

# The Function URL event of an event function, as captured in the SCF reference (doc 583/96099).
CAPTURED_FUNCTION_URL_EVENT = {
    "body": '{"test":"hello world"}',
    "headers": {"accept": "*/*", "content-length": "17", "x-scf-remote-addr": "111.206.96.145"},
    "httpMethod": "POST",
    "path": "/",
    "queryString": {"a": "1", "b": "2"},
}
CONTEXT_KEYS = {
    "memory_limit_in_mb",
    "time_limit_in_ms",
    "request_id",
    "environment",
    "environ",
    "function_version",
    "function_name",
    "namespace",
    "tencentcloud_region",
    "tencentcloud_appid",
    "tencentcloud_uin",
}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def echo(runner, suffix="", **kwargs) -> dict:
    reply = call(runner.function_url("echo") + suffix, **kwargs)
    assert reply.status == 200, reply.body
    return reply.json()


def test_root_lists_the_functions(runner):
    listing = call(runner.url + "/").json()
    assert listing["app"] == "demo" and listing["stage"] == "test"
    names = {f["name"]: f for f in listing["functions"]}
    assert sorted(names) == ["echo", "slow"]
    assert names["echo"]["url"] == runner.function_url("echo")
    assert names["echo"]["function_name"] == "demo-test-echo"


def test_unknown_function_is_404(runner):
    reply = call(runner.url + "/nope/x")
    assert reply.status == 404
    assert reply.json()["functions"] == ["echo", "slow"]


def test_event_has_the_shape_of_a_captured_function_url_event(runner):
    body = b'{"test":"hello world"}'
    event = echo(runner, "?a=1&b=2", method="POST", body=body, headers={"Accept": "*/*"})["event"]
    assert set(event) == set(CAPTURED_FUNCTION_URL_EVENT)
    for key, value in CAPTURED_FUNCTION_URL_EVENT.items():
        assert type(event[key]) is type(value), key
    assert set(CAPTURED_FUNCTION_URL_EVENT["headers"]) <= set(event["headers"])
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["x-scf-remote-addr"] == "127.0.0.1"
    assert event["headers"]["content-length"] == str(len(body))
    for key in ("body", "httpMethod", "path", "queryString"):
        assert event[key] == CAPTURED_FUNCTION_URL_EVENT[key]


def test_path_is_relative_to_the_function_and_get_has_no_body(runner):
    event = echo(runner, "a/b%20c?x=1&x=2&y=")["event"]
    assert event["path"] == "/a/b%20c"
    assert event["queryString"] == {"x": ["1", "2"], "y": ""}
    assert "body" not in event
    assert echo(runner)["event"]["path"] == "/"
    reply = call(runner.url + "/echo")
    assert reply.json()["event"]["path"] == "/"


def test_repeated_request_headers_are_joined(runner):
    reply = call_raw(runner.function_url("echo"), "GET", [("X-Multi", "a"), ("X-Multi", "b")])
    assert reply.json()["event"]["headers"]["x-multi"] == "a, b"


def test_context_has_the_documented_shape(runner):
    first, second = echo(runner)["context"], echo(runner)["context"]
    assert set(first) == CONTEXT_KEYS
    assert UUID4.match(first["request_id"]) and first["request_id"] != second["request_id"]
    assert first["time_limit_in_ms"] == 3000
    assert first["memory_limit_in_mb"] == 256
    assert first["function_name"] == "demo-test-echo"
    assert first["namespace"] == "default"
    assert first["function_version"] == "$LATEST"
    assert first["tencentcloud_region"] == "ap-chengdu"
    assert first["tencentcloud_appid"].isdigit() and first["tencentcloud_uin"].isdigit()
    environment = json.loads(first["environment"])
    assert environment["SCF_NAMESPACE"] == "default"
    assert environment["GREETING"] == "hello"
    assert dict(item.split("=", 1) for item in first["environ"].split(";")) == environment


def test_instance_environment(fresh_runner, project_root, monkeypatch):
    monkeypatch.setenv("LOCAL_RUNNER_LEAK_CHECK", "1")
    runner = fresh_runner()
    answer = echo(runner)
    env, code_dir = answer["env"], str(project_root / "datasource" / "echo")
    assert answer["cwd"] == code_dir
    assert env["SCF_FUNCTIONNAME"] == "demo-test-echo"
    assert env["SCF_NAMESPACE"] == "default"
    assert env["SCF_FUNCTIONVERSION"] == "$LATEST"
    assert env["TENCENTCLOUD_REGION"] == "ap-chengdu"
    assert env["TENCENTCLOUD_RUNENV"] == "SCF"
    assert env["TENCENTCLOUD_APPID"] and env["TENCENTCLOUD_UIN"]
    assert env["USER_CODE_ROOT"] == code_dir + os.sep
    assert env["PYTHONPATH"].split(os.pathsep)[:2] == [code_dir, str(project_root / "layer")]
    assert env["PYTHONDONTWRITEBYTECODE"] == "x"
    assert env["TZ"] == "UTC"
    assert (env["GREETING"], env["PLAIN"], env["PORT"]) == ("hello", "plain-test", "3306")
    assert "MISSING" not in env
    assert "LOCAL_RUNNER_LEAK_CHECK" not in env
    assert "TENCENTCLOUD_SECRETID" not in env  # no role, no credentials
    assert Path(env["TMPDIR"]).parent == Path(tempfile.gettempdir())
    assert "scf-echo-" in env["TMPDIR"]


def test_import_path_holds_only_the_function_the_layer_and_the_dependencies(runner, project_root):
    answer = echo(runner)
    assert answer["layer"] == "from the layer"
    imports = echo(runner, "imports?names=tinylib,devonly,grafana_scf,yaml")
    assert imports == {
        "tinylib": "ok",
        "devonly": "ModuleNotFoundError",
        "grafana_scf": "ModuleNotFoundError",
        "yaml": "ok",
    }
    checkout = Path(__file__).resolve().parents[2]
    sys_path = [Path(p) for p in answer["sys_path"]]
    assert str(project_root.resolve()) not in map(str, sys_path)
    assert checkout not in sys_path and checkout / "layer" not in sys_path


def test_layer_dir_replaces_the_layers_and_the_dev_site_packages(fresh_runner, tmp_path):
    built = tmp_path / "built-layer"
    write(built / "tinylib.py", "VALUE = 'from the built layer'\n")
    runner = fresh_runner(layer_dir=built)
    assert echo(runner)["layer"] == "from the built layer"
    imports = echo(runner, "imports?names=tinylib,yaml,pytest")
    assert imports == {"tinylib": "ok", "yaml": "ModuleNotFoundError", "pytest": "ModuleNotFoundError"}


def test_globals_persist_in_a_warm_instance(fresh_runner):
    runner = fresh_runner()
    first, second = echo(runner), echo(runner)
    assert first["pid"] == second["pid"]
    assert second["calls"] == first["calls"] + 1


def test_utf8_body_is_sent_as_text(runner):
    event = echo(runner, method="POST", body="héllo ✓".encode())["event"]
    assert event["body"] == "héllo ✓"
    assert "isBase64Encoded" not in event


def test_binary_bodies_travel_as_base64_both_ways(runner):
    raw = bytes([0xFF, 0x00, 0xFE, 0x80, 0x41])
    event = echo(runner, method="POST", body=raw)["event"]
    assert event["isBase64Encoded"] is True
    reply = call(runner.function_url("echo") + "binary", method="POST", body=raw)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert reply.body == raw[::-1]


def test_list_headers_become_repeated_headers(runner):
    reply = call(runner.function_url("echo") + "cookies")
    assert reply.status == 201
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert reply.headers["X-One"] == "1"
    assert reply.body == b"cookies"


def _shape(runner, value) -> object:
    from urllib.parse import quote

    return call(runner.function_url("echo") + "shape?json=" + quote(json.dumps(value)))


@pytest.mark.parametrize(
    "value",
    [
        {"statusCode": "200", "headers": {}, "body": "x"},
        {"statusCode": 200, "headers": {"a": 1}, "body": "x"},
        {"statusCode": 200, "headers": {}},
    ],
)
def test_invalid_response_shape_gets_the_documented_error(runner, value):
    reply = _shape(runner, value)
    assert reply.status == 403
    assert reply.json() == INVALID_RESPONSE


def test_json_without_status_code_is_a_200_json_body(runner):
    for value in ({"hello": "world"}, [1, 2, 3]):
        reply = _shape(runner, value)
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.json() == value


def test_a_return_value_that_is_not_json_is_a_502(runner):
    reply = call(runner.function_url("echo") + "notjson")
    assert reply.status == 502
    assert reply.json()["statusCode"] == 430


def test_head_gets_headers_only(runner):
    reply = call(runner.function_url("echo"), method="HEAD")
    assert reply.status == 200 and reply.body == b""
