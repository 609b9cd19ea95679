"""Fixtures: the repository's Grafana files, and both functions behind the local runner
(business on the seeded test database, cloudmonitor on an in-process emulator)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from conftest import SEED_UNTIL

from . import files
from .catalogs import load_catalogs
from .checks import function_of

TOKEN = "grafana-files-test-token"
# The business dashboards are replayed as if opened right at the end of the seeded data.
BUSINESS_NOW_MS = int(SEED_UNTIL.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


@pytest.fixture(scope="session")
def datasources() -> dict[str, dict[str, Any]]:
    return files.provisioned_datasources()


@pytest.fixture(scope="session")
def dashboards() -> dict[str, dict[str, Any]]:
    return files.dashboards()


@pytest.fixture(scope="session")
def catalogs(datasources):
    return load_catalogs(datasources)


@pytest.fixture(scope="session")
def scenes_by_line():
    """One long-lived Node process per Grafana line, started on first use and kept for the
    session (pytest interleaves the lines' tests; restarting Node costs seconds)."""
    from support.grafana_scenes import GrafanaScenes

    started: dict[str, GrafanaScenes] = {}

    def get(line: str) -> GrafanaScenes:
        if line not in started:
            started[line] = GrafanaScenes(line)
            started[line].start()
        return started[line]

    yield get
    for harness in started.values():
        harness.close()


@pytest.fixture
def scenes(grafana_line, scenes_by_line):
    """Grafana's own dashboard engine of one Grafana line (12.4, 13.2), under Node."""
    return scenes_by_line(grafana_line)


@pytest.fixture(scope="session")
def cloud_emulator():
    from labelhub_tools.emulator import start_emulator

    with start_emulator(rate_limit=0) as handle:
        yield handle


@pytest.fixture(scope="session")
def functions(db_settings, cloud_emulator):
    """Both functions served by the local runner, with a bearer token as in docker-compose."""
    from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
    from labelhub_tools.local import start_runner

    environ = {
        "PATH": os.environ.get("PATH", ""),
        "STAGE": "dev",
        "REGION": "ap-guangzhou",
        "DATASOURCE_TOKEN": TOKEN,
        "CLOUD_API_ENDPOINT": cloud_emulator.url,
        "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
        "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
        **{k: str(v) for k, v in db_settings.items() if v is not None},
    }
    with start_runner(
        files.ROOT, functions=["business", "cloudmonitor"], max_instances=4, environ=environ
    ) as runner:
        yield Functions(runner)


class Functions:
    """Requests to the runner as Grafana's proxy (or Infinity) sends them: JSON, bearer token."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.requests = 0

    def url_of(self, datasource: dict[str, Any]) -> str:
        return self.runner.function_url(function_of(datasource))

    def post(self, url: str, body: Any) -> tuple[int, Any]:
        self.requests += 1
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def for_grafana(self, datasources: dict[str, Any]) -> dict[str, Any]:
        """The JSON datasources as Grafana's proxy reaches them: URL on the runner and the
        header configured as httpHeaderName1/httpHeaderValue1 (the bearer token)."""
        found = {}
        for uid, ds in datasources.items():
            if ds.get("type") != "simpod-json-datasource":
                continue
            name = ds.get("jsonData", {}).get("httpHeaderName1")
            value = ds.get("secureJsonData", {}).get("httpHeaderValue1", "")
            found[uid] = {
                "type": ds["type"],
                "name": ds["name"],
                "isDefault": bool(ds.get("isDefault")),
                "url": self.url_of(ds).rstrip("/"),
                "headers": {name: value.replace("${DATASOURCE_TOKEN}", TOKEN)} if name else {},
            }
        return found

    def translate(self, url: str) -> str:
        """A docker-compose URL (http://datasource:9000/<fn>/...) on the local runner."""
        prefix = "http://datasource:9000/"
        assert url.startswith(prefix), url
        return self.runner.url.rstrip("/") + "/" + url[len(prefix) :]


def cloud_now_ms() -> int:
    """Now, to the minute: the emulator's data is a function of the wall clock."""
    return int(time.time() // 60 * 60_000)
