"""Helpers of the Cloud Monitor shared-cache tests: settings, sample requests, answers
compared without what a cache changes (the cost in ``meta.custom``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from labelhub_tools.emulator import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY
from support.events import function_url_event

CM_INDEX = Path(__file__).resolve().parents[2] / "datasource" / "cloudmonitor" / "index.py"
COST_KEYS = ("apiCalls", "cacheHits", "retries")
"""``meta.custom`` keys that say what an answer cost, not what it is: they differ by design."""
HOUR = 3600
FLEET = [f"ins-sh{n:06d}" for n in range(1, 26)]  # 25 instances: 3 batches of at most 10
GZ = ["ins-gz0web01", "ins-gz0hot01", "ins-gz0gap01", "ins-gz0flk01", "ins-gz0sil01"]


def cm_settings(emulator, **extra) -> dict:
    return {
        "CLOUD_API_ENDPOINT": emulator.url,
        "CLOUD_API_SECRET_ID": DEFAULT_SECRET_ID,
        "CLOUD_API_SECRET_KEY": DEFAULT_SECRET_KEY,
        "CLOUD_API_TIMEOUT_S": 5,
        "DATASOURCE_TOKEN": None,
        **extra,
    }


def settled_end() -> int:
    """A whole hour at least two hours ago (epoch s): data long settled."""
    return (int(time.time()) // HOUR - 2) * HOUR


def iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_s))


def query_body(start: int, end: int, *targets: dict, interval_ms: int = 60_000, points: int = 1000) -> dict:
    return {
        "range": {"from": iso(start), "to": iso(end)},
        "intervalMs": interval_ms,
        "maxDataPoints": points,
        "targets": [{"refId": chr(65 + i), **t} for i, t in enumerate(targets)],
    }


def target(name: str, **payload) -> dict:
    return {"target": name, "payload": payload}


def sample_requests(end: int) -> list[dict]:
    """A sample of Cloud Monitor targets: curated and generic, named instances and whole
    regions, several periods and statistics, misbehaving instances, several batches."""
    cdb = {"InstanceId": "(cdb-gz0main1|cdb-bj0main1)"}  # the second one is in another region
    generic = {"namespace": "QCE/CDB", "metric": "iops", "dimensions": cdb}
    return [
        query_body(end - HOUR, end, target("cvm_cpu", instances=GZ), target("metric", **generic)),
        query_body(end - 6 * HOUR + 17, end - 5, target("cvm_cpu", statistic="max"), target("cdb_cpu")),
        query_body(end - HOUR, end, target("cvm_cpu", region="ap-shanghai", instances=FLEET)),
        query_body(
            end - 24 * HOUR,
            end,
            target("scf_invocations", instances="labelhub-api", period=300),
            target("clb_out_traffic"),
            interval_ms=300_000,
        ),
    ]


def post(app, body: dict, context: dict | None = None) -> tuple[int, list | dict]:
    response = app.handle(function_url_event("POST", "/query", body), context or {})
    return response["statusCode"], json.loads(response["body"])


def without_cost(answer: tuple[int, list | dict]) -> tuple[int, list | dict]:
    """The answer with the cost keys left out of every frame's ``meta.custom``."""
    status, frames = answer
    if not isinstance(frames, list):
        return status, frames
    out = []
    for frame in frames:
        meta = dict(frame.get("meta", {}))
        meta["custom"] = {k: v for k, v in meta.get("custom", {}).items() if k not in COST_KEYS}
        out.append({**frame, "meta": meta})
    return status, out


def cost(answer: tuple[int, list | dict], key: str = "apiCalls") -> int:
    """Summed over the answer's targets (every frame of a target carries the same cost)."""
    frames = answer[1]
    assert isinstance(frames, list)
    per_target = {f.get("refId"): f["meta"]["custom"].get(key, 0) for f in frames}
    return sum(per_target.values())


def gmd_calls(emulator) -> int:
    return emulator.stats()["actions"].get("GetMonitorData", {}).get("calls", 0)
