"""SCF events for tests: captured ones from tests/events, and Function URL events like the platform's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# What must not leak into a test from the outside: proxies (the SDK would route the
# emulator's loopback calls through them) and an execution role's keys.
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
ROLE_VARIABLES = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """A captured event from ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def function_url_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Function URL event (scf.md §2.6): lower-case headers, body absent when empty."""
    event: dict[str, Any] = {
        "headers": {"accept": "application/json", "x-scf-remote-addr": "127.0.0.1", **(headers or {})},
        "httpMethod": method,
        "path": path,
        "queryString": {},
    }
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event
