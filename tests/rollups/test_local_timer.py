"""The local runner fires the business function's timer on its declared schedule; rollups follow."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import ROOT, admin_connection
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.sources.mysql.catalog import load_catalog
from labelhub_tools.demo.rollup_setup import drop_rollup_access, setup_rollup_access
from labelhub_tools.local.runner import start_runner
from support.names import run_name

# every rollup the catalog declares, its coarser copies included
ROLLUPS = tuple(load_catalog(load_catalog_file(ROOT / "datasource" / "business" / "catalog.yaml")).rollups)

SCHEMA, WRITER, WRITER_PASSWORD = run_name("lh_rollup_loc"), run_name("lh_loc_rw")[:32], "loc-rw-test"


def project_copy(tmp_path: Path, cron: str) -> Path:
    """The real project (root file, layer, business function) with the timer's cron replaced."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "layer", root / "layer", ignore=shutil.ignore_patterns("build", "__pycache__"))
    shutil.copytree(ROOT / "datasource" / "business", root / "datasource" / "business")
    shutil.copy(ROOT / "serverless.yml", root / "serverless.yml")
    declared = root / "datasource" / "business" / "serverless.yml"
    text = declared.read_text()
    assert "cronExpression: '0 */5 * * * * *'" in text  # what ships: every 5 minutes
    declared.write_text(text.replace("'0 */5 * * * * *'", f"'{cron}'"))
    return root


@pytest.fixture
def writer(seeded_database):
    with admin_connection() as conn, conn.cursor() as cursor:
        setup_rollup_access(cursor, seeded_database, SCHEMA, WRITER, WRITER_PASSWORD, None)
    yield
    with admin_connection() as conn, conn.cursor() as cursor:
        drop_rollup_access(cursor, SCHEMA, WRITER)


def states() -> dict:
    with admin_connection() as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'rollup_state'",
            (SCHEMA,),
        )
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute(f"SELECT rollup, watermark FROM `{SCHEMA}`.rollup_state")
        return dict(cursor.fetchall())


def test_the_runner_fires_the_declared_timer_and_the_rollups_get_built(tmp_path, writer, db_settings):
    root = project_copy(tmp_path, "*/2 * * * * * *")  # every 2 seconds
    environ = {
        **os.environ,
        **{k: str(v) for k, v in db_settings.items() if v is not None},
        "ROLLUP_SCHEMA": SCHEMA,
        "ROLLUP_MYSQL_USER": WRITER,
        "ROLLUP_MYSQL_PASSWORD": WRITER_PASSWORD,
        "ROLLUP_HISTORY_DAYS": "120",
        "ROLLUP_MAX_BUCKETS_PER_TICK": "100000",
    }
    with start_runner(root, functions=["business"], environ=environ, timers=True, max_instances=2) as handle:
        loop = handle.runner.timer_loop
        assert [(name, t.name) for name, t in loop.timers] == [("business", "rollup-refresh")]
        give_up = time.monotonic() + 120
        while len(loop.fired) < 2 or not all(states().values()) or len(states()) < len(ROLLUPS):
            assert time.monotonic() < give_up, f"fired {loop.fired}, states {states()}"
            time.sleep(0.2)
    fired = [at for _, _, at in loop.fired]
    assert all(at.second % 2 == 0 and at.microsecond == 0 for at in fired)
    assert len(states()) == len(ROLLUPS) and all(states().values())
