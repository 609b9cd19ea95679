"""Helpers for the Cloud Monitor tests: calling the app and reading its answers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from support.events import function_url_event

INDEX = Path(__file__).resolve().parents[2] / "datasource" / "cloudmonitor" / "index.py"


def iso(epoch_s: int) -> str:
    """Epoch seconds as Grafana's ISO-8601 UTC range string."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_s))


# Grafana's toDataFrame (set by an autouse fixture): every successful /query and
# /variable answer goes through it, so no test can pass with an answer Grafana rejects.
GRAFANA: Any = None


def call(app, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request through the SCF handler: (status, decoded JSON body)."""
    answer = app.handle(function_url_event(method, path, body), {})
    text = answer["body"]
    status = answer["statusCode"]
    if GRAFANA is not None and status == 200 and path in ("/query", "/variable"):
        converted = GRAFANA.convert(text) if path == "/query" else GRAFANA.variable(text)
        assert len(converted) == len(json.loads(text))
    return status, json.loads(text) if text else None


def query_body(start: int, end: int, *targets: dict, interval_ms: int | None = 60_000, points: int = 1000):
    """A /query body for [start, end] with the given targets (refIds A, B, ... unless set)."""
    body = {
        "range": {"from": iso(start), "to": iso(end), "raw": {"from": "now-1h", "to": "now"}},
        "maxDataPoints": points,
        "targets": [{"refId": chr(65 + i), **t} for i, t in enumerate(targets)],
    }
    if interval_ms is not None:
        body["intervalMs"] = interval_ms
    return body


def target(name: str, **payload) -> dict:
    """One target naming a catalog entry, with a payload."""
    return {"target": name, "payload": payload}


def series_of(frames: list[dict]) -> dict[str, tuple[list, list, dict]]:
    """Frames by their instance label: (times ms, values, value field)."""
    found = {}
    for frame in frames:
        times, value = frame["fields"]
        found[value["labels"]["instance"]] = (times["values"], value["values"], value)
    return found


def gmd_calls(emulator) -> int:
    """GetMonitorData calls the emulator saw since the last reset."""
    return emulator.stats()["actions"].get("GetMonitorData", {}).get("calls", 0)


def outcomes(emulator, action: str = "GetMonitorData") -> dict[str, int]:
    return emulator.stats()["actions"].get(action, {}).get("outcomes", {})


class SimulatedClock:
    """Wall-clock seconds that move only when a test moves them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def simulated_worker(emulator, clock: SimulatedClock) -> tuple[Any, Any]:
    """A warm cloudmonitor app whose cache and slot grid run on ``clock`` (calls are real)."""
    from grafana_scf.app import App
    from grafana_scf.catalog_file import load_catalog_file
    from grafana_scf.settings import read_settings
    from grafana_scf.sources.cloudmonitor.api import CloudApi
    from grafana_scf.sources.cloudmonitor.catalog import load_catalog
    from grafana_scf.sources.cloudmonitor.source import CloudMonitorSource

    settings = read_settings(
        CLOUD_API_ENDPOINT=emulator.url, DATASOURCE_TOKEN=None, CLOUD_API_REGION="ap-shanghai"
    )
    document = load_catalog_file(INDEX.parent / "catalog.yaml")
    source = CloudMonitorSource(load_catalog(document), CloudApi(settings), settings, clock=clock)
    return App(source, name="cloudmonitor"), source
