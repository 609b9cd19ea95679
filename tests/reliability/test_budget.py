"""The budget suite: every route of the business function, asked as much as the schema allows,
in a worker whose address space is capped at the function's memorySize.

Every answer must be a 200 inside the deadline, or a 4xx/504 with a message; never a
crash, a MemoryError (the app would answer it as a 500) or the platform's timeout (the
worker not answering within the function's configured timeout). The peak resident
memory of the most expensive accepted request of each route is reported as a share of
memorySize (``docs/reliability.md`` keeps the figures).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.events import function_url_event

from .helpers import BUSINESS_INDEX, BUSINESS_RANGE, ROOT, Answer, judge

pytestmark = pytest.mark.usefixtures("seeded_database")

WORKER = Path(__file__).with_name("budget_worker.py")
CONFIG = yaml.safe_load((ROOT / "datasource" / "business" / "serverless.yml").read_text())["inputs"]
MEMORY_MB, TIMEOUT_S = CONFIG["memorySize"], CONFIG["timeout"]
CONTEXT = {"time_limit_in_ms": TIMEOUT_S * 1000, "memory_limit_in_mb": MEMORY_MB}
WIDE = {"from": "1950-01-01T00:00:00Z", "to": "2050-01-01T00:00:00Z"}
MOST = 1e13  # the largest maxDataPoints / intervalMs the schema accepts
METRICS = [
    "signups", "signups_by_channel", "active_labellers", "labels_created", "tasks_reviewed",
    "task_backlog", "tasks_by_status", "top_labellers", "recent_users", "project_progress",
]  # fmt: skip


def event(method: str, path: str, body=None) -> dict:
    """A Function URL event, as SCF hands it to the handler."""
    return function_url_event(method, path, body)


class CappedWorker:
    """One worker process, capped after warming up; ``ask`` sends an event, as SCF would."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(BUSINESS_INDEX), str(MEMORY_MB)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environ,
            text=True,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def send(self, message: dict) -> dict:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        # The platform's timeout: SCF kills an invocation at the function's timeout.
        assert self.selector.select(timeout=TIMEOUT_S), "no answer within the function's timeout"
        line = self.process.stdout.readline()
        assert line, f"the worker died (exit {self.process.wait()})"
        return json.loads(line)

    def ask(self, method: str, path: str, body=None) -> tuple[Answer, dict]:
        reply = self.send({"op": "invoke", "event": event(method, path, body), "context": CONTEXT})
        assert reply["error"] is None, f"{path}: {reply['error']} escaped the handler"
        result = reply["result"]
        return Answer(result["statusCode"], result["headers"], result["body"]), reply

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def seeded(**extra) -> dict:
    return {"range": BUSINESS_RANGE, **extra}


def many(target: str, count: int = 50, **fields) -> list[dict]:
    """``count`` targets (the cap) all asking for ``target``."""
    return [{"refId": f"T{i}", "target": target, **fields} for i in range(count)]


LONG = pytest.mark.slow  # these run into the 28.5 s deadline on a busy machine: long mode only


def query_bodies() -> list:
    """/query as expensive as the schema allows: a century, 1e13 points, every cap at its top."""
    country_values = {"key": "country", "operator": "=|", "values": [f"c{i:04d}" for i in range(1000)]}
    alternation = "(" + "|".join(METRICS * 10) + ")"
    one_each = [{"refId": m, "target": m} for m in METRICS]
    return [
        {"range": WIDE, "maxDataPoints": MOST, "targets": many("signups", 1)},
        seeded(maxDataPoints=MOST, targets=many("signups")),
        pytest.param(seeded(maxDataPoints=MOST, targets=many(alternation)), marks=LONG),
        seeded(maxDataPoints=MOST, format="rows", targets=many("signups")),
        {"range": WIDE, "intervalMs": 1000, "maxDataPoints": MOST, "targets": one_each},
        seeded(maxDataPoints=MOST, filters=[country_values] * 200, targets=many("signups", 1)),
        pytest.param(seeded(targets=many("top_labellers", payload={"limit": 200})), marks=LONG),
    ]


def expensive_requests() -> list:
    """(method, path, body): the most each route's schema lets a client ask for."""
    country_values = {"key": "country", "operator": "=|", "values": [f"c{i:04d}" for i in range(1000)]}
    huge_payload = {f"k{i}": i for i in range(50_000)}
    return [
        ("GET", "/", None),
        ("GET", "/health", None),
        ("POST", "/metrics", {"metric": "m" * 1_000_000, "payload": huge_payload}),
        ("POST", "/metric-payload-options", {"metric": "top_labellers", "name": "project", "payload": {}}),
        *[_query(body) for body in query_bodies()],
        ("POST", "/variable", {"payload": {"target": "countries"}, "range": WIDE}),
        ("POST", "/tag-keys", {}),
        ("POST", "/tag-values", {"key": "country", "filters": [country_values] * 200}),
        ("POST", "/search", {"target": ""}),
        ("POST", "/annotations", {"range": WIDE, "annotation": {"query": "releases"}}),
    ]


def _query(body):
    if isinstance(body, tuple):  # a pytest.param: keep its marks
        return pytest.param("POST", "/query", body.values[0], marks=body.marks)
    return ("POST", "/query", body)


PEAKS: dict[str, float] = {}


@pytest.fixture(scope="module")
def start_worker(db_settings):
    """A fresh capped worker (so one route's figure carries no other route's heap)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "DATASOURCE_"))}
    environ.update({k: str(v) for k, v in db_settings.items() if v is not None})
    started = []

    def start() -> CappedWorker:
        capped = CappedWorker(environ)
        started.append(capped)
        warm_up = event("POST", "/query", seeded(targets=many("signups", 1)))
        capped.baseline = capped.send({"op": "cap", "event": warm_up, "context": CONTEXT})
        assert capped.baseline["warm_status"] == 200
        return capped

    yield start
    for capped in started:
        capped.close()


def _ids() -> list[str]:
    paths = [
        (r.values if isinstance(r, tuple) and hasattr(r, "marks") else r)[1] for r in expensive_requests()
    ]
    return [f"{path}-{paths[:i].count(path)}" for i, path in enumerate(paths)]


@pytest.mark.parametrize(("method", "path", "body"), expensive_requests(), ids=_ids())
def test_every_answer_is_a_200_or_a_4xx_504_with_a_message(start_worker, method, path, body):
    worker = start_worker()
    answer, reply = worker.ask(method, path, body)
    judge(answer, method, path)
    status = answer.status
    assert status == 200 or 400 <= status < 500 or status == 504, (path, answer.text[:300])
    if status == 200:
        PEAKS[path] = max(PEAKS.get(path, 0.0), reply["peak_kb"] / 1024 / MEMORY_MB)
    print(f"\n{method} {path}: {status}, peak {reply['peak_kb'] / 1024:.0f} MiB, {answer.text[:120]!r}")
    assert worker.process.poll() is None


def test_the_cap_bites_at_memory_size(start_worker):
    """The worker cannot hold memorySize on top of itself: this suite can fail."""
    worker = start_worker()
    base = worker.baseline["baseline"]
    print(f"\nbaseline VSZ {base['VmSize'] / 1024:.0f} MiB, RSS {base['VmRSS'] / 1024:.0f} MiB; "
          f"RLIMIT_AS {worker.baseline['limit'] / 2**20:.0f} MiB")  # fmt: skip
    print("".join(f"\n| `{path}` | {share:.2f} |" for path, share in sorted(PEAKS.items())))
    assert worker.send({"op": "allocate", "mb": MEMORY_MB // 2})["error"] is None
    assert worker.send({"op": "allocate", "mb": MEMORY_MB})["error"] == "MemoryError"
    assert worker.process.poll() is None
