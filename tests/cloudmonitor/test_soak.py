"""Soak (long mode): an hour of moving-window refreshes keeps the worker's memory flat.

One warm Cloud Monitor worker answers a dashboard refresh every simulated minute
for an hour: 120 series over a moving six-hour window at a 60 s period, so every
refresh asks for a window that moved by one slot (120 new cache entries, 40 calls)
and the entries of the previous windows expire. The clock of the cache and of the source is simulated (an
hour in the past, so the emulator has the data); the calls are real. The resident memory
after warm-up must stay flat: the series cache is bounded by points and purges expired
entries. Before the bound (a cache of 20,000 entries, expired ones kept) the same run
grew by about 200 MB.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from grafana_scf.app import App

from .helpers import SimulatedClock, call, query_body, simulated_worker

SERIES = [f"ins-sh{n:06d}" for n in range(1, 121)]
REFRESH_S = 60
HOUR_S = 3600
WARM_UP = 20  # refreshes
GROWTH_BOUND_MB = 16.0


def _refresh(app: App, now: int) -> dict:
    payload = {
        "namespace": "QCE/CVM",
        "metric": "CPUUsage",
        "dimensions": [{"InstanceId": iid} for iid in SERIES],
        "period": 60,
    }
    body = query_body(now - 6 * 3600, now, {"target": "metric", "payload": payload})
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    return answer[0]["meta"]["custom"]


def _rss_mb() -> float:
    """The resident memory of this process (the worker and the in-process emulator), in MB."""
    gc.collect()
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.slow
def test_an_hour_of_moving_window_refreshes_keeps_memory_flat(emulator, monkeypatch):
    from . import helpers

    monkeypatch.setattr(helpers, "GRAFANA", None)  # toDataFrame under Node is not what is measured
    clock = SimulatedClock(float((int(time.time()) - 2 * HOUR_S) // 60 * 60))
    app, source = simulated_worker(emulator, clock)
    refreshes = HOUR_S // REFRESH_S
    figures: list[tuple[int, float, int, int]] = [(0, _rss_mb(), 0, 0)]
    calls = 0
    for n in range(1, refreshes + 1):
        calls += _refresh(app, int(clock.now))["apiCalls"]
        if n % 10 == 0:
            figures.append((n, _rss_mb(), source.series_cache.total_size, len(source.series_cache)))
        clock.now += REFRESH_S
    for n, mb, points, entries in figures:
        print(f"refresh {n:3d}: RSS {mb:6.1f} MB, cache {points} points in {entries} series")
    warm = next(mb for n, mb, _, _ in figures if n == WARM_UP)
    growth = max(mb for _, mb, _, _ in figures) - warm
    print(
        f"{refreshes} refreshes, {calls} GetMonitorData calls; {figures[0][1]:.1f} MB before, "
        f"{warm:.1f} MB after warm-up, growth after warm-up {growth:.1f} MB"
    )
    assert calls >= refreshes * 40  # every refresh asked a window that moved: 40 calls
    assert source.series_cache.total_size <= source.series_cache.max_size
    assert growth < GROWTH_BOUND_MB
