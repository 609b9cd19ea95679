"""SCF events for tests: captured ones from tests/events, and Function URL events like the platform's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
