"""``labelhub rollup status | refresh | backfill | drop`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import yaml

from rollups.conftest import CATALOG, NOW, WRITER_PASSWORD


def rollup(world, tmp_path, *args: str) -> subprocess.CompletedProcess:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(CATALOG))
    env = {
        **os.environ,
        "MYSQL_DATABASE": world.source,
        "ROLLUP_SCHEMA": world.schema,
        "ROLLUP_MYSQL_USER": world.writer,
        "ROLLUP_MYSQL_PASSWORD": WRITER_PASSWORD,
        "ROLLUP_HISTORY_DAYS": "400",
    }
    command = [sys.executable, "-m", "labelhub_tools", "rollup", *args, "--catalog", str(catalog)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_backfill_status_refresh_and_drop(fresh, tmp_path):
    absent = rollup(fresh, tmp_path, "status")
    assert absent.returncode == 0, absent.stderr
    assert "events_5m" in absent.stdout and "absent" in absent.stdout

    start, end = (NOW - timedelta(days=3)).isoformat(), NOW.isoformat()
    done = rollup(fresh, tmp_path, "backfill", "--from", start, "--to", end)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "ok" and summary["rollups"][0]["watermark"] == NOW.isoformat() + "Z"
    assert "buckets" in done.stderr  # the progress bar (every 10 s off a terminal, and at the end)
    assert fresh.table() == fresh.expected(NOW)
    assert WRITER_PASSWORD not in done.stdout + done.stderr

    status = rollup(fresh, tmp_path, "status")
    assert "fresh" in status.stdout and NOW.isoformat(" ") in status.stdout

    refreshed = rollup(fresh, tmp_path, "refresh", "--unbounded")
    assert refreshed.returncode == 0, refreshed.stderr
    assert json.loads(refreshed.stdout)["rollups"][0]["behind_buckets"] == 0  # caught up to now

    dropped = rollup(fresh, tmp_path, "drop", "--grace", "0")  # no function reads this schema
    assert dropped.returncode == 0 and f"dropped {fresh.schema}.events_5m" in dropped.stdout
    assert "absent" in rollup(fresh, tmp_path, "status").stdout


def test_an_unknown_rollup_is_refused(fresh, tmp_path):
    answer = rollup(fresh, tmp_path, "refresh", "--rollup", "nope")
    assert answer.returncode == 2 and "no rollup named 'nope'" in answer.stderr
