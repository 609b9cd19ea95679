"""Both functions behind the local runner, answering the alert rules' queries over HTTP as
Infinity sends them during evaluation (the hand-written body, the bearer token)."""

from __future__ import annotations

from typing import Any

import pytest

from grafana_files import files
from support.local_functions import on_runner, post_json, serve_functions

TOKEN = "alert-evaluation-test-token"


def alert_rules() -> dict[str, dict[str, Any]]:
    """Every provisioned alert rule by uid (the files read strictly: duplicate keys fail)."""
    return {rule["uid"]: rule for _, rule in files.alert_rules()}


@pytest.fixture(scope="session")
def rules() -> dict[str, dict[str, Any]]:
    return alert_rules()


@pytest.fixture(scope="session")
def post(db_settings):
    """POST as Infinity does: the rule's URL (docker-compose host) on the local runner."""
    with serve_functions(db_settings, TOKEN) as runner:

        def send(url: str, body: Any) -> tuple[int, Any]:
            return post_json(on_runner(runner, url), body, TOKEN)

        yield send
