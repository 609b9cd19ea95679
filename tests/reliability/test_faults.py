"""Faults: a private MariaDB restarted under load, the query time limit, Cloud Monitor faults,
expired STS tokens.

Every fault must end in a clear answer: data that is complete and right, or an error
that names what is missing. Nothing is timed except where a time limit is the subject.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from grafana_scf.app import create_app
from labelhub_tools.emulator import (
    DEFAULT_STS_SECRET_ID,
    DEFAULT_STS_SECRET_KEY,
    DEFAULT_STS_TOKEN,
    expected_value,
)

from .helpers import DAY_RANGE, TOKEN, call, cloud_window, http, judge

# -- MariaDB restarted while clients keep asking ---------------------------------------


def _load(served, stop: threading.Event, client: int, log: list) -> None:
    url = served.url("business", "query")
    body = {"range": DAY_RANGE, "targets": [{"refId": "A", "target": "tasks_by_status"}]}
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = http(url, body, "POST", served.auth)
        except Exception as exc:  # a lost request is a failure of its own
            log.append((client, started, time.monotonic(), None, repr(exc)))
            continue
        log.append((client, started, time.monotonic(), answer.status, answer.text))


def _wait_until(predicate, limit_s: float = 60.0) -> None:
    """Poll ``predicate`` (a bound on waiting, not an assertion on time: it is checked after)."""
    deadline = time.monotonic() + limit_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def _answered(log: list, since: float, status: int | None = None) -> int:
    """Requests sent at ``since`` or later that got an answer (with ``status``, if given)."""
    return sum(1 for _, started, _, got, _ in list(log) if started >= since and status in (None, got))


def test_mariadb_restart_under_load_loses_at_most_one_request(served_on_private_server, private_server):
    """The private server (never the shared one) goes down, stays down a moment, and comes back."""
    served, stop, log, clients = served_on_private_server, threading.Event(), [], 4
    first_pid = private_server.pid
    pool = ThreadPoolExecutor(clients)
    try:
        began = time.monotonic()
        for client in range(clients):
            pool.submit(_load, served, stop, client, log)
        _wait_until(lambda: _answered(log, began, 200) >= 5 * clients)  # warm instances, all answering
        down = time.monotonic()
        private_server.stop()
        _wait_until(lambda: _answered(log, down) >= clients)  # clients ask a server that is gone
        private_server.start()
        up = time.monotonic()
        _wait_until(lambda: _answered(log, up, 200) >= 5 * clients)
    finally:
        stop.set()
        pool.shutdown(wait=True)
        private_server.start()  # whatever happened, the session's private server runs again
    assert private_server.pid != first_pid, "the server was not restarted"
    assert all(status is not None for *_, status, _ in log), [t for *_, s, t in log if s is None][:3]
    before = [e for e in log if e[2] < down]
    during = [e for e in log if e[2] >= down and e[1] < up]
    after = [e for e in log if e[1] >= up]
    assert before and during and after
    assert all(status == 200 for *_, status, _ in before)
    for *_, status, text in during:  # the server was down: an honest gateway error, never a crash
        assert status == 200 or (status in (502, 503, 504) and "MySQL" in text), (status, text[:300])
        assert "labelhub-test-ro" not in text and TOKEN not in text
    failed_after = [(status, text[:200]) for *_, status, text in after if status != 200]
    assert len(failed_after) <= 1, failed_after
    last = {client: status for client, _, _, status, _ in sorted(log, key=lambda e: e[2])}
    assert set(last.values()) == {200}, last
    print(
        f"\nMariaDB (private, pid {first_pid} then {private_server.pid}) restart under load: "
        f"{len(log)} requests from {clients} clients, {len(before)} before, {len(during)} while "
        f"down/starting ({sum(1 for *_, s, _ in during if s != 200)} gateway errors), {len(after)} "
        f"after ({len(failed_after)} failed); server back after {up - down:.1f} s"
    )


# -- the per-query time limit ------------------------------------------------------------

SLOW_SQL = (
    "SELECT /* reliability-slow-query */ COUNT(*) AS n FROM information_schema.COLUMNS a, "
    "information_schema.COLUMNS b, information_schema.COLUMNS c"
)


def test_a_slow_query_is_stopped_by_the_time_limit(tmp_path, db_settings, admin_db):
    catalog = {
        "source": "mysql",
        "metrics": {
            "slow": {"format": "table", "sql": SLOW_SQL, "timeout_ms": 250},
            "quick": {"format": "table", "sql": "SELECT COUNT(*) AS n FROM canary"},
        },
    }
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    app = create_app(tmp_path / "index.py", **db_settings)
    try:
        body = {"range": DAY_RANGE, "targets": [{"refId": "S", "target": "slow"}]}
        answer = call(app, "POST", "/query", body)
        judge(answer, "POST", "/query")
        assert answer.status == 504
        assert answer.json()["message"].startswith(
            "S: query exceeded the 250 ms time limit and was stopped by MySQL"
        )
        # The server stopped it: nothing of it still runs once the server has finished
        # tearing the statement down (on a loaded machine that can take a moment), and
        # only this run's database counts (another checkout may run this test at once).
        assert _still_running(admin_db, db_settings["MYSQL_DATABASE"], "%reliability-slow-query%") == 0
        body["targets"] = [{"refId": "Q", "target": "quick"}]
        answer = call(app, "POST", "/query", body)
        assert answer.status == 200 and answer.json()[0]["fields"][0]["values"] == [1]
    finally:
        app.source.database.close()


def _still_running(admin_db, database: str, pattern: str, patience_s: float = 10.0) -> int:
    """Statements on ``database`` whose text matches ``pattern``, after waiting up to
    ``patience_s`` for the count to fall to 0 (polls; the answer is the last count)."""
    give_up = time.monotonic() + patience_s
    while True:
        with admin_db.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s "
                "AND INFO NOT LIKE %s",
                (database, pattern, "%PROCESSLIST%"),
            )
            count = cursor.fetchone()[0]
        if count == 0 or time.monotonic() > give_up:
            return count
        time.sleep(0.1)


# -- Cloud Monitor: throttling, timeouts, 5xx, errors and partial DataPoints ----------------

GZ = [
    "ins-gz0web01",
    "ins-gz0web02",
    "ins-gz0hot01",
    "ins-gz0sil01",
    "ins-gz0gap01",
    "ins-gz0flk01",
    "ins-gz0off01",
]
FLEET = [f"ins-sh{n:06d}" for n in range(1, 31)]
SILENT = {"ins-gz0sil01", "ins-gz0off01"}
FAULTS = {"throttle_rate": 0.3, "http_error_rate": 0.15, "error_rate": 0.08, "timeout_rate": 0.05,
          "timeout_seconds": 2, "actions": ["GetMonitorData"]}  # fmt: skip
SEEDS = range(8)


BATCHES = [GZ, FLEET[:10], FLEET[10:20], FLEET[20:]]  # A's one batch, then B's three, in order


def _retriable(outcome: str) -> bool:
    return outcome == "timeout" or outcome.startswith(("http_", "RequestLimitExceeded"))


def _failed_instances(emulator, attempts: int) -> set[str]:
    """Instances whose batch's last attempt failed, from the emulator's log of the calls.

    With one worker the batches run one after the other, each until it succeeds, fails
    for good (not retriable) or runs out of attempts; timeouts and HTTP errors are logged
    without parameters, so the calls are cut into batches by that rule, and every call
    that does carry parameters must belong to the batch it was attributed to.
    """
    segments, current = [], []
    for record in emulator.requests("GetMonitorData"):
        current.append(record)
        if not _retriable(record["outcome"]) or len(current) == attempts:
            segments.append(current)
            current = []
    assert not current and len(segments) == len(BATCHES), [[r["outcome"] for r in s] for s in segments]
    failed = set()
    for batch, segment in zip(BATCHES, segments):
        for record in segment:
            if "params" in record:
                sent = {d["Value"] for i in record["params"]["Instances"] for d in i["Dimensions"]}
                assert sent == set(batch)
        if segment[-1]["outcome"] != "ok":
            failed |= set(batch)
    return failed


def _check_complete(frames, instances, start, end):
    by_instance = {}
    for frame in frames:
        times, value = frame["fields"]
        by_instance.setdefault(value["labels"]["instance"], []).append(
            (times["values"], value["values"], frame)
        )
    assert sorted(by_instance) == sorted(instances)
    for instance, ((times, values, frame),) in by_instance.items():
        assert times and times[0] >= start * 1000 and times[-1] <= end * 1000
        expected = [expected_value("QCE/CVM", "CPUUsage", instance, t // 1000, 60, "avg") for t in times]
        assert values == expected, instance
        if instance in SILENT:
            assert any(instance in n["text"] for n in frame["meta"].get("notices", [])), instance


def _errors_of(answer):
    """refId -> message: the error answer's list, or the error frames of a partial 200."""
    if answer.status != 200:
        return {e["refId"]: e["message"] for e in answer.json()["errors"]}
    customs = {f["refId"]: f["meta"].get("custom", {}) for f in answer.json()}
    return {ref: custom["error"] for ref, custom in customs.items() if "error" in custom}


def _check_failure(answer, failed, targets):
    """Each failed refId names exactly the instances whose batch failed (or counts them past 20);
    when only some refIds failed, the others are answered (a 200 with error frames)."""
    assert failed, "an error answer with no failed batch in the emulator log"
    errors = _errors_of(answer)
    assert set(errors) == {ref for ref, ids in targets.items() if failed & set(ids)}, errors
    for ref, text in errors.items():
        missing = failed & set(targets[ref])
        assert f"failed for {len(missing)} of {len(targets[ref])} instances" in text, text
        named = set(re.findall(r"ins-(?:gz0[a-z]{3}\d\d|sh\d{6})", text))
        assert named == missing if len(missing) <= 20 else named < missing, (named, missing)


def test_cloud_faults_give_complete_series_or_name_what_is_missing(make_cloud_app, emulator):
    start, end = cloud_window()
    body = {
        "range": {"from": start * 1000, "to": end * 1000},
        "intervalMs": 60_000,
        "targets": [
            {"refId": "A", "target": "cvm_cpu", "payload": {"period": 60}},
            {
                "refId": "B",
                "target": "cvm_cpu",
                "payload": {"region": "ap-shanghai", "instances": FLEET, "period": 60},
            },
        ],
    }
    outcomes = {"complete": 0, "named": 0, "retries": 0, "calls": 0}
    for seed in SEEDS:
        emulator.reset()
        emulator.set_faults(seed=seed, **FAULTS)
        app = make_cloud_app(CLOUD_API_RETRIES=2, CLOUD_API_TIMEOUT_S=1, CLOUD_API_WORKERS=1)
        answer = call(app, "POST", "/query", body)
        judge(answer, "POST", "/query")
        failed = _failed_instances(emulator, attempts=3)
        outcomes["calls"] += emulator.stats()["actions"]["GetMonitorData"]["calls"]
        if answer.status == 200 and not _errors_of(answer):
            assert not failed
            frames = answer.json()
            _check_complete([f for f in frames if f["refId"] == "A"], GZ, start, end)
            _check_complete([f for f in frames if f["refId"] == "B"], FLEET, start, end)
            outcomes["complete"] += 1
            outcomes["retries"] += sum({f["refId"]: f["meta"]["custom"]["retries"] for f in frames}.values())
        else:
            assert answer.status in (200, 429, 502, 504), answer.text[:300]
            _check_failure(answer, failed, {"A": GZ, "B": FLEET})
            fleets = {"A": GZ, "B": FLEET}
            for ref in fleets.keys() - _errors_of(answer).keys():
                _check_complete([f for f in answer.json() if f["refId"] == ref], fleets[ref], start, end)
            outcomes["named"] += 1
    print(f"\nCloud Monitor faults over {len(SEEDS)} seeds: {outcomes}")
    assert outcomes["complete"] and outcomes["named"] and outcomes["retries"], outcomes


def test_an_expired_sts_token_is_a_clear_error(make_cloud_app, emulator, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", DEFAULT_STS_SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", DEFAULT_STS_SECRET_KEY)
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", DEFAULT_STS_TOKEN)
    app = make_cloud_app(CLOUD_API_SECRET_ID=None, CLOUD_API_SECRET_KEY=None)
    start, end = cloud_window()
    target = {"refId": "A", "target": "cvm_cpu", "payload": {"instances": "ins-gz0web01"}}
    body = {"range": {"from": start * 1000, "to": end * 1000}, "targets": [target]}
    assert call(app, "POST", "/query", body).status == 200
    emulator.expire_tokens()
    body["targets"][0]["payload"]["instances"] = "ins-gz0hot01"
    variable = {"payload": {"target": "cdb_instances"}}
    for method, path, sent in (("POST", "/query", body), ("POST", "/variable", variable), ("GET", "/", None)):
        answer = call(app, method, path, sent)
        judge(answer, method, path)
        assert answer.status in (502, 503), answer.text
        assert "AuthFailure.TokenFailure" in answer.json()["message"], answer.text
        for secret in (DEFAULT_STS_TOKEN, DEFAULT_STS_SECRET_KEY):
            assert secret not in answer.text
