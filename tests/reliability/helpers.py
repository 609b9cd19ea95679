"""Calling both functions (in-process and over HTTP) and judging any answer they give."""

from __future__ import annotations

import base64
import collections
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.events import function_url_event

from . import contract

ROOT = Path(__file__).resolve().parents[2]
BUSINESS_INDEX = ROOT / "datasource" / "business" / "index.py"
CLOUD_INDEX = ROOT / "datasource" / "cloudmonitor" / "index.py"

TOKEN = "rel-token-5b0e9c2f7d41a8"
BEARER = {"authorization": f"Bearer {TOKEN}"}

# The seeded test data: 21 days up to 2026-11-01 (tests/conftest.py).
BUSINESS_RANGE = {"from": "2026-10-11T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
DAY_RANGE = {"from": "2026-10-31T00:00:00Z", "to": "2026-11-01T00:00:00Z"}

ROUTES = (
    "/", "/health", "/metrics", "/metric-payload-options", "/query",
    "/variable", "/tag-keys", "/tag-values", "/search", "/annotations",
)  # fmt: skip
# What the suite sent, reported at the end of the run (conftest.pytest_terminal_summary).
TALLY: collections.Counter[str] = collections.Counter()
BACKEND_WORDS = ("MySQL", "Cloud Monitor", "Tencent Cloud", "GetMonitorData", "Describe", "database")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def cloud_window() -> tuple[int, int]:
    """A one-hour window ending at a whole hour at least an hour ago (epoch seconds)."""
    end = (int(time.time()) // 3600 - 1) * 3600
    return end - 3600, end


def cloud_range() -> dict[str, int]:
    start, end = cloud_window()
    return {"from": start * 1000, "to": end * 1000}


def event(method: str, path: str, body: Any = None, headers: dict | None = None, raw: bytes | None = None):
    """A Function URL event; ``raw`` bytes travel base64-encoded, as the platform sends non-UTF-8."""
    built = function_url_event(method, path, body, headers)
    if raw is not None:
        built["body"] = base64.b64encode(raw).decode("ascii")
        built["isBase64Encoded"] = True
        built["headers"]["content-type"] = "application/json"
    return built


def call(app, method: str, path: str, body: Any = None, headers: dict | None = None, **kw) -> Answer:
    """One request through ``app.handle``; the integrated response's shape is checked too."""
    TALLY["in-process requests"] += 1
    answer = app.handle(event(method, path, body, headers, **kw), {})
    assert set(answer) == {"isBase64Encoded", "statusCode", "headers", "body"}, answer.keys()
    assert answer["isBase64Encoded"] is False
    assert isinstance(answer["body"], str)
    return Answer(answer["statusCode"], dict(answer["headers"]), answer["body"])


def http(url: str, body: Any = None, method: str | None = None, headers: dict | None = None) -> Answer:
    """One request over real HTTP (urllib, loopback only)."""
    TALLY["HTTP requests"] += 1
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    request.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode())


def _no_constants(name: str) -> Any:
    raise AssertionError(f"answer holds the non-JSON literal {name}")


def judge(answer: Answer, method: str = "POST", path: str | None = None) -> Any:
    """Assert what every answer must be, whatever the request; returns the parsed body.

    JSON (never NaN/Infinity, never a traceback), a ``message`` on every error, no
    5xx but 502/503/504 that name a backend, and, for a documented route, the contract.
    """
    status, text = answer.status, answer.text
    assert 200 <= status < 600, status
    assert "Traceback (most recent call last)" not in text and 'File "/' not in text, text[:500]
    if status == 204 or (method.upper() == "HEAD" and not text):
        body = None
    else:
        assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
        body = json.loads(text, parse_constant=_no_constants)
    if status >= 400:
        assert isinstance(body, dict), text[:300]
        assert isinstance(body.get("message"), str) and body["message"].strip(), text[:300]
    if status >= 500:
        assert status in (502, 503, 504), f"{status}: {text[:500]}"
        assert any(word in body["message"] for word in BACKEND_WORDS), text[:500]
    route = "/" + (path or "/").strip("/")
    if route in ROUTES and contract.operation(route, method) is not None:
        contract.conforms(route, method, status, answer.headers, text)
    return body


def message(answer: Answer) -> str:
    return json.loads(answer.text)["message"]
