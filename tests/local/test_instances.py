"""Instances over real HTTP: cold and warm, concurrency, timeouts, crashes, limits, logs."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from labelhub_tools.local.events import REQUEST_LIMIT

from .conftest import call
from .projects import make_project


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_warm_reuse_same_pid_one_cold_start(fresh_runner):
    runner = fresh_runner()
    pids = {call(runner.function_url("echo")).json()["pid"] for _ in range(3)}
    stats = runner.stats()["echo"]
    assert len(pids) == 1
    assert stats["cold_starts"] == 1 and stats["instances"] == 1 and stats["invocations"] == 3
    assert stats["pids"] == sorted(pids)


def test_concurrent_requests_start_more_instances(fresh_runner, tmp_path):
    runner = fresh_runner()
    url = runner.function_url("echo") + f"barrier?dir={tmp_path}&n=3"
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: call(url), range(3)))
    assert [r.status for r in replies] == [200, 200, 200]
    assert len({r.json()["pid"] for r in replies}) == 3
    assert all(r.json()["seen"] == 3 for r in replies)
    stats = runner.stats()["echo"]
    assert stats["cold_starts"] == 3 and stats["instances"] == 3 and stats["idle"] == 3


def test_max_instances_caps_the_pool_and_extra_requests_wait(fresh_runner):
    runner = fresh_runner(max_instances=2)
    url = runner.function_url("echo") + "sleep?s=0.3"
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: call(url), range(4)))
    assert [r.status for r in replies] == [200] * 4
    stats = runner.stats()["echo"]
    assert stats["cold_starts"] == 2 and stats["instances"] == 2


def test_timeout_kills_the_instance_and_the_next_call_is_cold(fresh_runner, caplog):
    caplog.set_level(logging.INFO, logger="labelhub_tools.local")
    runner = fresh_runner(functions=["slow"])
    url = runner.function_url("slow")
    first_pid = call(url).json()["pid"]
    reply = call(url + "sleep?s=30")
    assert reply.status == 200
    body = reply.json()
    assert body["errorCode"] == -1 and body["statusCode"] == 433
    assert body["errorMessage"] == "Invoking task timed out after 1 seconds"
    lines = [r.getMessage() for r in caplog.records if " GET /sleep " in r.getMessage()]
    assert len(lines) == 1 and lines[0].endswith(" [timeout]: Invoking task timed out after 1 seconds")
    assert not _alive(first_pid)
    second = call(url).json()
    assert second["pid"] != first_pid and second["calls"] == 1
    stats = runner.stats()["slow"]
    assert stats["timeouts"] == 1 and stats["cold_starts"] == 2 and stats["instances"] == 1


def test_handler_exception_is_a_502_and_the_instance_stays_warm(runner, caplog):
    caplog.set_level(logging.INFO, logger="labelhub_tools.local")
    url = runner.function_url("echo")
    pid = call(url).json()["pid"]
    reply = call(url + "raise")
    assert reply.status == 502
    body = reply.json()
    assert body["errorMessage"] == "user code exception caught" and body["statusCode"] == 430
    assert b"Traceback" not in reply.body and b"boom" not in reply.body
    assert _wait_for(lambda: "RuntimeError: boom from the handler" in caplog.text)
    assert "worker.py" not in caplog.text
    (line,) = [r.getMessage() for r in caplog.records if " GET /raise " in r.getMessage()]
    assert " 502 " in line and line.endswith(" [exception]: RuntimeError: boom from the handler")
    assert call(url).json()["pid"] == pid


def test_crash_is_a_502_and_the_runner_survives(runner):
    url = runner.function_url("echo")
    pid = call(url).json()["pid"]
    crashes = runner.stats()["echo"]["crashes"]
    reply = call(url + "crash")
    assert reply.status == 502
    body = reply.json()
    assert body["statusCode"] == 439 and "exit code 3" in body["errorMessage"]
    assert runner.stats()["echo"]["crashes"] == crashes + 1
    assert call(url).json()["pid"] != pid


def test_import_error_fails_init_with_a_502_and_is_retried_cold(fresh_runner, tmp_path):
    root = make_project(tmp_path / "broken", {"echo": 3})
    (root / "datasource" / "echo" / "index.py").write_text("import not_installed_anywhere\n")
    runner = fresh_runner(root)
    for _ in range(2):
        reply = call(runner.function_url("echo"))
        assert reply.status == 502
        assert "ModuleNotFoundError" in reply.json()["errorMessage"]
    stats = runner.stats()["echo"]
    assert stats["init_failures"] == 2 and stats["instances"] == 0


def test_print_goes_to_the_log_prefixed_with_the_instance(runner, caplog):
    caplog.set_level(logging.INFO, logger="labelhub_tools.local")
    assert call(runner.function_url("echo") + "print").json() == {"printed": True}
    assert _wait_for(lambda: "] printed by the handler" in caplog.text)
    line = next(r.getMessage() for r in caplog.records if "printed by" in r.getMessage())
    assert line.startswith("[echo#")


def test_one_log_line_per_request_with_cold_start(fresh_runner, caplog):
    caplog.set_level(logging.INFO, logger="labelhub_tools.local")
    runner = fresh_runner()
    call(runner.function_url("echo") + "a?x=1")
    call(runner.function_url("echo") + "a")
    lines = [r.getMessage() for r in caplog.records if " GET /a " in r.getMessage()]
    assert len(lines) == 2
    assert lines[0].startswith("echo#1 GET /a 200 ") and " cold (import " in lines[0]
    assert lines[1].startswith("echo#1 GET /a 200 ") and "cold" not in lines[1]


def test_request_over_6mb_is_refused(runner):
    reply = call(runner.function_url("echo"), method="POST", body=b"x" * (REQUEST_LIMIT + 1))
    assert reply.status == 413
    assert reply.json()["statusCode"] == 406
    assert call(runner.function_url("echo")).status == 200


def test_request_over_6mb_after_base64_is_refused(runner):
    reply = call(runner.function_url("echo"), method="POST", body=b"\xff" * (5 * 1024 * 1024))
    assert reply.status == 413
    assert "event" in reply.json()["errorMessage"]


def test_response_over_6mb_is_a_502(runner):
    url = runner.function_url("echo")
    reply = call(url + f"big?n={REQUEST_LIMIT}")
    assert reply.status == 502
    assert reply.json()["statusCode"] == 407
    ok = call(url + f"big?n={REQUEST_LIMIT - 10}")
    assert ok.status == 200 and len(ok.body) == REQUEST_LIMIT - 8


def test_idle_instances_are_reaped_and_the_next_call_is_cold(fresh_runner):
    runner = fresh_runner(idle_timeout=0.2)
    pid = call(runner.function_url("echo")).json()["pid"]
    assert _wait_for(lambda: runner.stats()["echo"]["instances"] == 0)
    assert runner.stats()["echo"]["reaped"] == 1
    assert _wait_for(lambda: not _alive(pid))
    assert call(runner.function_url("echo")).json()["pid"] != pid


def test_close_stops_every_worker(fresh_runner, tmp_path):
    runner = fresh_runner()
    url = runner.function_url("echo") + f"barrier?dir={tmp_path}&n=2"
    with ThreadPoolExecutor(2) as pool:
        pids = [r.json()["pid"] for r in pool.map(lambda _: call(url), range(2))]
    runner.close()
    assert not any(_alive(pid) for pid in pids)
