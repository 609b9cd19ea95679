"""Rollup-planned answers through the shared cache: cached whole with their plan meta,
equal to the uncached planned answer, and served to another instance without a statement."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from conftest import BUSINESS_DIR, SEED_UNTIL, admin_connection
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.mysql.catalog import load_catalog
from support.names import run_name
from support.rollups import build_rollups

from .helpers import DAY, END, HOUR, body, count_statements, post

CATALOG = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml"))
PLANNED = sorted(name for name, entry in CATALOG.entries.items() if entry.rollup is not None)


@pytest.fixture(scope="module")
def rollup_schema(seeded_database):
    schema = run_name("lh_shared_rollup")
    conn = admin_connection(seeded_database)
    try:
        build_rollups(conn, CATALOG.rollups.values(), schema, SEED_UNTIL - dt.timedelta(days=2))
    finally:
        conn.close()
    yield schema
    with admin_connection() as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{schema}`")


@pytest.fixture
def apps(monkeypatch, make_business_app, db_settings, redis_clean, rollup_schema):
    monkeypatch.setenv("ROLLUP_PLANNING", "true")  # the package's conftest turns it off
    settings = {
        **db_settings,
        "MYSQL_USER": os.environ.get("MYSQL_ADMIN_USER", "root"),
        "MYSQL_PASSWORD": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        "ROLLUP_SCHEMA": rollup_schema,
    }
    plain = make_business_app(**settings)
    shared = [make_business_app(**settings, REDIS_URL=redis_clean.url) for _ in range(2)]
    return plain, shared


@pytest.mark.parametrize("name", PLANNED)
def test_a_planned_answer_is_shared_whole_with_its_plan_meta(apps, name):
    plain, (first, second) = apps
    request = body(name, (END - 10 * DAY - 123_457, END - 1), interval_ms=DAY if "labeller" in name else HOUR)
    expected = post(plain, "/query", request)
    assert expected[0] == 200, expected
    assert expected[1][0]["meta"]["custom"]["rollup"] in ("mixed", "rollup"), expected[1][0]["meta"]
    assert post(first, "/query", request) == expected  # cold: planned, then stored
    counter = count_statements(second)
    assert post(second, "/query", request) == expected  # another instance: from the cache
    assert counter.count == 0
