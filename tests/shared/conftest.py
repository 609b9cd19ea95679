"""Fixtures for the shared cache: a private redis-server per session (never the machine's),
business apps with and without ``REDIS_URL``, and a statement counter on the database."""

from __future__ import annotations

import pytest

from grafana_scf.shared import store as shared_store
from support.private_redis import private_redis, why_unavailable


@pytest.fixture(scope="session")
def redis_server():
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with private_redis(maxmemory="64mb") as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_stores():
    """Each test starts with no remembered Redis faults (stores are per instance and URL)."""
    shared_store._STORES.clear()
    yield
    shared_store._STORES.clear()


@pytest.fixture
def redis_clean(redis_server):
    """The private server, emptied (it is ours alone: flushing it touches nobody else)."""
    if not redis_server.answers():
        redis_server.start()
    redis_server.client().flushall()
    return redis_server


@pytest.fixture(autouse=True)
def _raw_answers_only(monkeypatch):
    """These tests count the statements the shared cache saves; rollup planning (its own state
    lookup per request, tested in tests/test_rollup_planner.py) is off for them."""
    monkeypatch.setenv("ROLLUP_PLANNING", "false")


@pytest.fixture
def make_cloudmonitor_app(emulator, monkeypatch):
    """Build Cloud Monitor apps on the session's emulator (explicit demo keys, no proxies);
    the emulator is reset (faults, counters) after the test."""
    from grafana_scf.app import create_app
    from support.events import PROXY_VARIABLES, ROLE_VARIABLES

    from .cloudmonitor_helpers import CM_INDEX, cm_settings

    for name in PROXY_VARIABLES + ROLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    emulator.reset()

    def make(**overrides):
        return create_app(CM_INDEX, **cm_settings(emulator, **overrides))

    yield make
    emulator.reset()


@pytest.fixture
def cm_apps(make_cloudmonitor_app, redis_clean):
    """A Cloud Monitor app without Redis, and two instances sharing the private Redis."""
    plain = make_cloudmonitor_app()
    shared = [make_cloudmonitor_app(REDIS_URL=redis_clean.url) for _ in range(2)]
    return plain, shared
