"""Shared fixtures: the real MariaDB with seeded demo data, a private MariaDB, the business app,
Grafana's parser."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pymysql
import pytest

from support.grafana import GrafanaFrames
from support.grafana_scenes import GRAFANA_LINES
from support.names import run_name
from support.private_mariadb import private_mariadb, why_unavailable

ROOT = Path(__file__).resolve().parent.parent
BUSINESS_DIR = ROOT / "datasource" / "business"

# The test database: seeded once per session with fixed inputs, so expected values are fixed too.
# Its name and its read-only user's carry this run's suffix (two checkouts may test at once on one
# server); both are dropped at the end of the session.
TEST_DATABASE = os.environ.get("TEST_MYSQL_DATABASE") or run_name("labelhub_test")
TEST_RO_USER, TEST_RO_PASSWORD = run_name("lh_test_ro"), "labelhub-test-ro"
SEED_UNTIL = dt.datetime(2026, 11, 1, 0, 0, 0)
SEED_DAYS = 21
SEED = 7
PRIVATE_SEED_DAYS = 3  # the private server's copy: enough for DAY_RANGE (the last day), quick to load


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run long fuzz/soak/large-data tests")
    parser.addoption(
        "--grafana-line",
        action="append",
        choices=GRAFANA_LINES,
        help="run the Grafana-code tests against this Grafana line only (repeatable; default: all)",
    )


def pytest_configure(config):
    """``--slow`` also widens the property-based searches that read ``EXAMPLES_SCALE``."""
    if config.getoption("--slow"):
        os.environ["LABELHUB_TEST_EXAMPLES_SCALE"] = "4"


def examples(default: int) -> int:
    """How many examples a property-based test draws: ``default``, or more with ``--slow``."""
    return default * int(os.environ.get("LABELHUB_TEST_EXAMPLES_SCALE", "1"))


def pytest_generate_tests(metafunc):
    """`grafana_line`: every Grafana line whose own packages the tests run (or --grafana-line)."""
    if "grafana_line" in metafunc.fixturenames:
        lines = metafunc.config.getoption("--grafana-line") or list(GRAFANA_LINES)
        metafunc.parametrize("grafana_line", lines, scope="session")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long mode: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def admin_connection(database: str | None = None):
    return pymysql.connect(
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        port=int(os.environ.get("MYSQL_PORT", "3306")),
        user=os.environ.get("MYSQL_ADMIN_USER", "root"),
        password=os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        database=database,
        autocommit=True,
        init_command="SET time_zone = '+00:00'",
    )


def seed_demo(database: str, days: int = SEED_DAYS, **server) -> None:
    """The demo schema and data (fixed inputs) in ``database``, and the read-only test user.

    ``server``: ``host``, ``port``, ``admin_user``, ``admin_password`` (default: the shared server).
    """
    from labelhub_tools.demo.generator import DemoConfig
    from labelhub_tools.demo.loader import seed

    server = {
        "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MYSQL_PORT", "3306")),
        "admin_user": os.environ.get("MYSQL_ADMIN_USER", "root"),
        "admin_password": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        **server,
    }
    seed(
        DemoConfig(until=SEED_UNTIL, days=days, seed=SEED),
        database=database,
        readonly_user=TEST_RO_USER,
        readonly_password=TEST_RO_PASSWORD,
        **server,
    )


@pytest.fixture(scope="session")
def seeded_database():
    """The demo schema and data in ``TEST_DATABASE`` on the shared server, and its read-only user."""
    seed_demo(TEST_DATABASE)
    yield TEST_DATABASE
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{TEST_DATABASE}`")
        for host in ("%", "localhost"):
            cursor.execute("DROP USER IF EXISTS %s@%s", (TEST_RO_USER, host))


@pytest.fixture(scope="session")
def db_settings(seeded_database):
    """Settings overrides that point a function at the seeded test database."""
    return {
        "MYSQL_HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "MYSQL_PORT": int(os.environ.get("MYSQL_PORT", "3306")),
        "MYSQL_USER": TEST_RO_USER,
        "MYSQL_PASSWORD": TEST_RO_PASSWORD,
        "MYSQL_DATABASE": seeded_database,
        "DATASOURCE_TOKEN": None,
    }


@pytest.fixture(scope="session")
def private_server():
    """A MariaDB server of this run's own (tests/support/private_mariadb.py), for tests that stop,
    restart or reconfigure a server: never the shared one. Skips where mariadbd is not installed."""
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with private_mariadb() as server:
        yield server


@pytest.fixture(scope="session")
def private_db_settings(private_server):
    """``db_settings`` for the private server, seeded with a few days of the same demo data."""
    seed_demo(TEST_DATABASE, days=PRIVATE_SEED_DAYS, host=private_server.host, port=private_server.port)
    return {
        "MYSQL_HOST": private_server.host,
        "MYSQL_PORT": private_server.port,
        "MYSQL_USER": TEST_RO_USER,
        "MYSQL_PASSWORD": TEST_RO_PASSWORD,
        "MYSQL_DATABASE": TEST_DATABASE,
        "DATASOURCE_TOKEN": None,
    }


@pytest.fixture(scope="session")
def make_business_app():
    """Build a business app with setting overrides (no database needed to build one)."""
    from grafana_scf.app import create_app

    def make(**overrides):
        settings = {"DATASOURCE_TOKEN": None, **overrides}
        app = create_app(BUSINESS_DIR / "index.py", **settings)
        _BUSINESS_APPS.append(app)
        return app

    yield make
    _close_connections()


_BUSINESS_APPS: list = []
"""Every business app the tests built: their connections are closed after each test."""


def _close_connections() -> None:
    for app in _BUSINESS_APPS:
        app.source.database.close()


@pytest.fixture(autouse=True)
def _business_connections_closed_after_each_test():
    """An app's connection is opened lazily and reopened on its next use: closing them all
    after each test keeps the suite's hold on the shared server to one test's worth (the
    apps of a session live on, and would otherwise keep a connection each to the end)."""
    yield
    _close_connections()


@pytest.fixture(scope="session")
def business(make_business_app):
    """The business app pointed at a database that is never needed by the tests using it."""
    return make_business_app()


@pytest.fixture(scope="session")
def business_db(make_business_app, db_settings):
    """The business app on the seeded test database, as the read-only user."""
    return make_business_app(**db_settings)


@pytest.fixture(scope="session")
def admin_db(seeded_database):
    with admin_connection(seeded_database) as conn:
        yield conn


@pytest.fixture(scope="session")
def emulator():
    """The local Tencent Cloud API emulator, shared by the session (no rate limit unless a
    test sets one; suites reset it after each test)."""
    from labelhub_tools.emulator import start_emulator

    with start_emulator(rate_limit=0) as handle:
        yield handle


@pytest.fixture(scope="session")
def grafana():
    """Grafana's own toDataFrame, running under Node."""
    with GrafanaFrames() as frames:
        yield frames
