"""Fixtures: the repository's Grafana files, and both functions behind the local runner
(business on the seeded test database, cloudmonitor on an in-process emulator)."""

from __future__ import annotations

from typing import Any

import pytest

from support.local_functions import on_runner, post_json, serve_functions

from . import files
from .catalogs import load_catalogs
from .checks import function_of

TOKEN = "grafana-files-test-token"


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
def functions(db_settings):
    """Both functions served by the local runner, with a bearer token as in docker-compose."""
    with serve_functions(db_settings, TOKEN) as runner:
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
        return post_json(url, body, TOKEN)

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
        return on_runner(self.runner, url)
