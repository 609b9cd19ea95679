"""Fixtures for the Cloud Monitor function: one emulator per session, the real SDK, fresh apps.

Every test starts from the emulator's start-up state (``reset`` after each test), with
no proxy variables, no ``CLOUD_API_*`` variables, and the emulator's demo key pair as
the execution role's keys (``TENCENTCLOUD_SECRETID``/``SECRETKEY``, no token), as SCF
would set them. The shared emulator has no rate limit; tests that need one set it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grafana_scf.app import create_app
from grafana_scf.settings import SETTINGS
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
from support.events import PROXY_VARIABLES, ROLE_VARIABLES

from . import helpers

INDEX = Path(__file__).resolve().parents[2] / "datasource" / "cloudmonitor" / "index.py"


@pytest.fixture(autouse=True)
def _clean_environment(request, monkeypatch):
    """No proxies or Cloud Monitor settings from the outside; the demo keys as role keys."""
    for name in PROXY_VARIABLES + ROLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in SETTINGS:
        if name.startswith("CLOUD_API_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", DEFAULT_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", DEFAULT_SECRET_KEY)
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(autouse=True)
def _grafana_checks(grafana):
    """Every successful /query and /variable answer of a test also passes Grafana's toDataFrame."""
    helpers.GRAFANA = grafana
    yield
    helpers.GRAFANA = None


@pytest.fixture
def make_app(emulator):
    """Build the cloudmonitor app pointed at the emulator, with setting overrides."""

    def make(**overrides):
        settings = {
            "CLOUD_API_ENDPOINT": emulator.url,
            "DATASOURCE_TOKEN": None,
            "CLOUD_API_TIMEOUT_S": 5,
            **overrides,
        }
        return create_app(INDEX, **settings)

    return make


@pytest.fixture
def app(make_app):
    """The cloudmonitor app with default settings."""
    return make_app()


@pytest.fixture
def window():
    """A one-hour window ending at a whole hour at least an hour ago: (start, end) in seconds."""
    end = (int(time.time()) // 3600 - 1) * 3600
    return end - 3600, end
