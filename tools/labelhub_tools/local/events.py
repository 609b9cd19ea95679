"""The Function URL contract: request -> event and context, handler result -> HTTP answer.

Event (event functions behind a Function URL): ``httpMethod``, ``path`` (after the function
prefix), lower-case ``headers`` plus ``x-scf-remote-addr``, ``queryString`` (a repeated key
gives a list), ``body`` as a string and absent when empty; a body that is not UTF-8 is sent
base64-encoded with ``isBase64Encoded: true``. Answer: a dict with ``statusCode`` is an
integrated response and must be ``{statusCode: int, headers: {str: str | [str]}, body: str,
isBase64Encoded?: bool}``; anything else is sent as a 200 ``application/json`` body.

Platform errors use SCF's invoke-error body ``{"errorCode", "errorMessage", "requestId",
"statusCode"}`` with SCF's status codes (430 user code exception, 433 time limit, 406/407
request/response too large); the HTTP status the runner sends with each is listed in
``ERROR_HTTP_STATUS`` and documented in docs/local-runner.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from labelhub_tools.local.launch import FAKE_APPID, FAKE_UIN
from labelhub_tools.local.project import FunctionSpec

REQUEST_LIMIT = 6 * 1024 * 1024
INVALID_RESPONSE = {
    "errno": 403,
    "error": "Invalid scf response format. please check your scf response format.",
}
# failure kind -> (HTTP status sent, SCF status code in the body)
ERROR_HTTP_STATUS = {
    "timeout": (200, 433),
    "exception": (502, 430),
    "not_json": (502, 430),
    "init": (502, 430),
    "crash": (502, 439),
    "too_large": (502, 407),
    "request_too_large": (413, 406),
    "busy": (429, 432),
}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class HttpAnswer:
    """What the runner sends back: status, headers (repeats allowed) and body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def build_event(
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    remote_addr: str,
) -> dict:
    """The Function URL event for one HTTP request (``path`` already without the prefix)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    merged["x-scf-remote-addr"] = remote_addr
    event: dict = {
        "headers": merged,
        "httpMethod": method.upper(),
        "path": path or "/",
        "queryString": query_string(query),
    }
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def query_string(query: str) -> dict:
    """``a=1&a=2&b=3`` -> ``{"a": ["1", "2"], "b": "3"}`` (blank values kept)."""
    result: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in result:
            result[key] = value
        elif isinstance(result[key], list):
            result[key].append(value)
        else:
            result[key] = [result[key], value]
    return result


def event_size(event: dict) -> int:
    """Bytes of the event as sent to the function (UTF-8 JSON)."""
    return len(json.dumps(event, ensure_ascii=False).encode("utf-8"))


def new_request_id() -> str:
    """A request id as SCF makes them (a UUID4)."""
    return str(uuid.uuid4())


def build_context(spec: FunctionSpec, request_id: str, variables: dict[str, str]) -> dict:
    """The ``context`` dict of one invocation; ``variables`` feed environment/environ."""
    return {
        "memory_limit_in_mb": spec.memory_mb,
        "time_limit_in_ms": spec.timeout_s * 1000,
        "request_id": request_id,
        "environment": json.dumps(variables, ensure_ascii=False),
        "environ": ";".join(f"{k}={v}" for k, v in variables.items()),
        "function_version": "$LATEST",
        "function_name": spec.function_name,
        "namespace": spec.namespace,
        "tencentcloud_region": spec.region,
        "tencentcloud_appid": FAKE_APPID,
        "tencentcloud_uin": FAKE_UIN,
    }


def answer_result(result) -> HttpAnswer:
    """Turn what the handler returned into the HTTP answer, as the Function URL does."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result, ensure_ascii=False).encode("utf-8")
        return HttpAnswer(200, [("Content-Type", "application/json")], body)
    answer = _integrated(result)
    if answer is None:
        return json_answer(403, INVALID_RESPONSE)
    return answer


def _integrated(result: dict) -> HttpAnswer | None:
    """An integrated response as an answer; None when its shape is invalid."""
    status, headers = result.get("statusCode"), result.get("headers")
    body, encoded = result.get("body"), result.get("isBase64Encoded", False)
    if type(status) is not int or not 100 <= status <= 599:
        return None
    if not isinstance(body, str) or not isinstance(encoded, bool):
        return None
    pairs = _header_pairs(headers)
    if pairs is None:
        return None
    if not encoded:
        return HttpAnswer(status, pairs, body.encode("utf-8"))
    try:
        return HttpAnswer(status, pairs, base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError):
        return None


def _header_pairs(headers) -> list[tuple[str, str]] | None:
    """``{name: str | [str]}`` as (name, value) pairs, lists repeated; None when invalid."""
    if not isinstance(headers, dict):
        return None
    pairs = []
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(name, str) or not _TOKEN.match(name):
            return None
        for item in values:
            if not isinstance(item, str) or "\r" in item or "\n" in item:
                return None
            if name.lower() not in _HOP_BY_HOP:
                pairs.append((name, item))
    return pairs


def json_answer(status: int, payload) -> HttpAnswer:
    """A JSON answer with ``status``."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpAnswer(status, [("Content-Type", "application/json")], body)


def error_answer(kind: str, message: str, request_id: str) -> HttpAnswer:
    """The platform's answer for a failure of ``kind`` (see ``ERROR_HTTP_STATUS``)."""
    http_status, scf_status = ERROR_HTTP_STATUS[kind]
    payload = {
        "errorCode": -1,
        "errorMessage": message,
        "requestId": request_id,
        "statusCode": scf_status,
    }
    return json_answer(http_status, payload)


_WORKER_ERRORS = {
    "exception": "user code exception caught",
    "not_json": "user code exception caught: the return value is not JSON serialisable",
    "too_large": "The size of response exceeds the upper limit (6MB)",
}


def answer_invocation(outcome, request_id: str) -> HttpAnswer:
    """The HTTP answer for a pool ``Invocation``: the handler's result or a platform error."""
    if outcome.failure == "crash":
        return error_answer("crash", f"User process exit when running ({outcome.detail})", request_id)
    if outcome.failure is not None:
        return error_answer(outcome.failure, outcome.detail, request_id)
    frame = outcome.frame
    if frame.get("ok"):
        return answer_result(frame["result"])
    kind = frame.get("kind")
    if kind not in _WORKER_ERRORS:
        kind = "exception"
    return error_answer(kind, _WORKER_ERRORS[kind], request_id)
