"""Fixtures: both functions in-process, the Tencent Cloud API emulator, and both behind the local runner.

The runner serves ``business`` (the seeded test database, as its read-only user) and
``cloudmonitor`` (this suite's emulator, with the demo key pair), both requiring the
test token. Everything the runner and its workers log is kept in ``Served.lines``. The
restart test gets a runner of its own on the private MariaDB server (tests/conftest.py), the
only server a test may stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from grafana_scf.app import create_app
from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
from labelhub_tools.local import start_runner
from labelhub_tools.local.runner import RunnerHandle
from support.events import PROXY_VARIABLES, ROLE_VARIABLES

from .helpers import CLOUD_INDEX, ROOT, TALLY, TOKEN

# Schemathesis 4.32 needs Python 3.11; the functions themselves target 3.10 (tests/deploy).
collect_ignore = ["test_schemathesis.py"] if sys.version_info < (3, 11) else []


@pytest.fixture(autouse=True)
def _clean_environment(request, monkeypatch):
    """No proxies and no role keys from the outside; the emulator back to its start-up state after."""
    for name in PROXY_VARIABLES + ROLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(scope="session")
def make_cloud_app(emulator):
    """The cloudmonitor app on the emulator with the demo keys, with setting overrides."""

    def make(**overrides):
        settings = {
            "CLOUD_API_ENDPOINT": emulator.url,
            "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
            "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
            "CLOUD_API_TIMEOUT_S": 5,
            "CLOUD_API_RATE_LIMIT": 1000,
            "DATASOURCE_TOKEN": None,
            **overrides,
        }
        return create_app(CLOUD_INDEX, **settings)

    return make


@pytest.fixture(scope="session")
def cloud_app(make_cloud_app):
    return make_cloud_app()


@dataclass
class Served:
    """The runner, the token its functions want, and every line it logged."""

    handle: RunnerHandle
    token: str
    lines: list[str] = field(default_factory=list)

    def url(self, function: str, path: str = "") -> str:
        return self.handle.function_url(function) + path.lstrip("/")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class _Keep(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _serve(db_settings: dict, emulator) -> Iterator[Served]:
    """Both functions behind the local runner (real HTTP, warm worker processes)."""
    environ = {"PATH": os.environ.get("PATH", "")}
    environ.update({k: str(v) for k, v in db_settings.items() if v is not None})
    environ.update(
        DATASOURCE_TOKEN=TOKEN,
        CLOUD_API_ENDPOINT=emulator.url,
        CLOUD_API_SECRET_ID=DEFAULT_SECRET_ID,
        CLOUD_API_SECRET_KEY=DEFAULT_SECRET_KEY,
        CLOUD_API_RATE_LIMIT="1000",
        LOG_LEVEL="DEBUG",
    )
    logger = logging.getLogger("labelhub_tools.local")
    level = logger.level
    served = Served(None, TOKEN)  # type: ignore[arg-type]
    keep = _Keep(served.lines)
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    try:
        functions = ["business", "cloudmonitor"]
        with start_runner(ROOT, functions=functions, max_instances=4, environ=environ) as handle:
            served.handle = handle
            yield served
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


@pytest.fixture(scope="session")
def served(db_settings, emulator):
    """Both functions behind the local runner, on the shared server's seeded test database."""
    with _serve(db_settings, emulator) as handle:
        yield handle


@pytest.fixture(scope="module")
def served_on_private_server(private_db_settings, emulator):
    """Both functions behind a runner of their own, on the private server (tests that restart it)."""
    with _serve(private_db_settings, emulator) as handle:
        yield handle


def pytest_terminal_summary(terminalreporter):
    if TALLY:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(TALLY.items()))
        terminalreporter.write_line(f"reliability suite sent: {counts}")
