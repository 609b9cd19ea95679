"""The refresher as separate processes: killed half way, and two at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from rollups.conftest import NOW

CHILD = Path(__file__).with_name("refresher_child.py")


def child(world, pause: float) -> subprocess.Popen:
    args = [sys.executable, str(CHILD), world.source, world.schema, world.writer, str(pause)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str, limit_s: float = 60.0) -> None:
    give_up = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_refresher_killed_half_way_and_rerun_gives_the_same_tables(fresh):
    process = child(fresh, 0.02)
    try:
        start = fresh.watermark
        wait_for(lambda: (start() or NOW.replace(year=2000)) > NOW.replace(hour=0), "the watermark to move")
        process.kill()
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    mark = fresh.watermark()
    assert mark is not None and mark < NOW, "killed after it finished: nothing was tested"
    assert fresh.table() != fresh.expected(NOW)
    summary = fresh.refresher().tick(now=NOW, bounded=False)
    assert summary.status == "ok" and summary.rollups[0].action == "refreshed"
    assert fresh.table() == fresh.expected(NOW)


def test_two_refreshers_at_once_one_skips_on_the_lock(fresh):
    fresh.refresher().tick(now=NOW.replace(hour=0), bounded=False)  # the table exists; half the data
    first = child(fresh, 0.01)
    wait_for(lambda: fresh.watermark() > NOW.replace(hour=0), "the first refresher to start")
    second = child(fresh, 0.0)
    answers = []
    for process in (second, first):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        answers.append(json.loads(out)["status"])
    assert answers == ["skipped", "ok"]
    assert fresh.table() == fresh.expected(NOW)
