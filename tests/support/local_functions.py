"""Both functions behind the local runner, reached over HTTP as Grafana's proxy and
Infinity reach them (JSON bodies, the bearer token); shared by ``tests/grafana_files``
and ``tests/alerting``.

``serve_functions`` runs business on the seeded test database and cloudmonitor on a
Cloud API emulator of its own; ``on_runner`` maps a docker-compose URL onto the runner;
``post_json`` sends one request. ``BUSINESS_NOW_MS`` and ``cloud_now_ms`` are the "now"
each function's data is read at.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import SEED_UNTIL

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_URL_PREFIX = "http://datasource:9000/"
# Business data is read as if right at the end of the seeded data.
BUSINESS_NOW_MS = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def cloud_now_ms() -> int:
    """Now, to the minute: the emulator's data is a function of the wall clock."""
    return int(time.time() // 60 * 60_000)


@contextmanager
def serve_functions(db_settings: dict[str, Any], token: str) -> Iterator[Any]:
    """The local runner serving both functions with ``token`` as ``DATASOURCE_TOKEN``,
    cloudmonitor on a Cloud API emulator of its own (no rate limit)."""
    from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, start_emulator
    from labelhub_tools.local import start_runner

    with start_emulator(rate_limit=0) as emulator:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "STAGE": "dev",
            "REGION": "ap-guangzhou",
            "DATASOURCE_TOKEN": token,
            "CLOUD_API_ENDPOINT": emulator.url,
            "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
            "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
            **{k: str(v) for k, v in db_settings.items() if v is not None},
        }
        functions = ["business", "cloudmonitor"]
        with start_runner(ROOT, functions=functions, max_instances=4, environ=environ) as runner:
            yield runner


def on_runner(runner: Any, url: str) -> str:
    """A docker-compose URL (``http://datasource:9000/<fn>/...``) on the local runner."""
    assert url.startswith(COMPOSE_URL_PREFIX), url
    return runner.url.rstrip("/") + "/" + url[len(COMPOSE_URL_PREFIX) :]


def post_json(url: str, body: Any, token: str) -> tuple[int, Any]:
    """POST ``body`` as JSON with the bearer token: (status, decoded answer), errors included."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
