"""Fixtures for the emulator tests: one emulator per session, real SDK clients.

Every test starts from the emulator's start-up state (``reset`` after each test).
The shared emulator runs without a rate limit so that ordinary tests never trip
it; the rate-limit tests set it themselves.
"""

from __future__ import annotations

import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.monitor.v20180724 import monitor_client

from labelhub_tools.emulator import auth
from labelhub_tools.emulator.server import start_emulator

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")


@pytest.fixture(scope="session")
def emulator():
    """The shared emulator (no rate limit)."""
    with start_emulator(rate_limit=0) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _clean_state(request, monkeypatch):
    """No proxy for the SDK; the shared emulator back to its start-up state afterwards."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture
def cred():
    """The demo permanent key pair."""
    return credential.Credential(auth.DEFAULT_SECRET_ID, auth.DEFAULT_SECRET_KEY)


@pytest.fixture
def profile(emulator):
    """Build a ClientProfile aimed at the emulator."""

    def build(timeout: float = 5, method: str = "POST", endpoint: str | None = None):
        http_profile = HttpProfile(
            protocol="http",
            endpoint=endpoint or emulator.endpoint,
            reqTimeout=timeout,
            reqMethod=method,
        )
        return ClientProfile(httpProfile=http_profile, language="en-US")

    return build


@pytest.fixture
def monitor(cred, profile):
    """Build a MonitorClient (region, credential and profile overridable)."""

    def build(region: str = "ap-guangzhou", credential_=None, profile_=None):
        return monitor_client.MonitorClient(credential_ or cred, region, profile_ or profile())

    return build


@pytest.fixture
def common(cred, profile):
    """Build a CommonClient for any service/version."""

    def build(service: str, version: str, region: str = "ap-guangzhou", credential_=None, profile_=None):
        return CommonClient(service, version, credential_ or cred, region, profile_ or profile())

    return build


@pytest.fixture
def window():
    """A one-hour window ending at a whole hour at least an hour ago: (start, end)."""
    end = (int(time.time()) // 3600 - 1) * 3600
    return end - 3600, end
