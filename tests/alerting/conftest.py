"""Both functions behind the local runner, answering the alert rules' queries over HTTP as
Infinity sends them during evaluation (the hand-written body, the bearer token)."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import SEED_UNTIL

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "alert-evaluation-test-token"
# Business rules are evaluated as if at the end of the seeded data.
BUSINESS_NOW_MS = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def alert_rules() -> dict[str, dict[str, Any]]:
    rules = {}
    for path in sorted((ROOT / "provisioning" / "alerting").glob("*-rules.yaml")):
        for group in yaml.safe_load(path.read_text("utf-8"))["groups"]:
            rules.update({rule["uid"]: rule for rule in group["rules"]})
    return rules


@pytest.fixture(scope="session")
def rules() -> dict[str, dict[str, Any]]:
    return alert_rules()


@pytest.fixture(scope="session")
def alert_emulator():
    from labelhub_tools.emulator import start_emulator

    with start_emulator(rate_limit=0) as handle:
        yield handle


@pytest.fixture(scope="session")
def post(db_settings, alert_emulator):
    """POST as Infinity does: the rule's URL (docker-compose host) on the local runner."""
    from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
    from labelhub_tools.local import start_runner

    environ = {
        "PATH": os.environ.get("PATH", ""),
        "STAGE": "dev",
        "REGION": "ap-guangzhou",
        "DATASOURCE_TOKEN": TOKEN,
        "CLOUD_API_ENDPOINT": alert_emulator.url,
        "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
        "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
        **{k: str(v) for k, v in db_settings.items() if v is not None},
    }
    with start_runner(
        ROOT, functions=["business", "cloudmonitor"], max_instances=4, environ=environ
    ) as runner:

        def send(url: str, body: Any) -> tuple[int, Any]:
            prefix = "http://datasource:9000/"
            assert url.startswith(prefix), url
            local = runner.url.rstrip("/") + "/" + url[len(prefix) :]
            request = urllib.request.Request(local, data=json.dumps(body).encode(), method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Bearer {TOKEN}")
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"null")

        yield send
