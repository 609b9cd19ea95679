"""The local runner: every function of a project served as its Function URL would serve it.

``Runner`` loads the project, plans each function's instances and owns one pool per
function plus the HTTP server; ``start_runner`` runs it on a background thread and returns
a ``RunnerHandle`` (the Python API the tests use). With ``timers``, ``TimerLoop`` fires each
function's ``timer`` events on their ``cronExpression``. One log line per request::

    business#1 GET /query 200 14 ms cold (import 131 ms)
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from labelhub_tools.local.events import (
    REQUEST_LIMIT,
    HttpAnswer,
    answer_invocation,
    build_context,
    build_event,
    error_answer,
    event_size,
    json_answer,
    new_request_id,
)
from labelhub_tools.local.launch import choose_worker_python, plan_launch, platform_variables
from labelhub_tools.local.pool import FunctionPool, Invocation
from labelhub_tools.local.project import ProjectError, load_project
from labelhub_tools.local.server import RunnerHTTPServer
from labelhub_tools.local.timers import TimerLoop

log = logging.getLogger("labelhub_tools.local")


class Runner:
    """The project's functions behind one HTTP server, each with its pool of instances."""

    def __init__(
        self,
        root: str | Path,
        host: str = "127.0.0.1",
        port: int = 9000,
        functions: Iterable[str] | None = None,
        max_instances: int = 10,
        idle_timeout: float | None = None,
        layer_dir: str | Path | None = None,
        python: str | None = None,
        environ: Mapping[str, str] | None = None,
        timers: bool = False,
    ):
        self.project = load_project(Path(root), os.environ if environ is None else environ)
        specs = _select(self.project.functions, functions)
        layer_path = _layer_dir(layer_dir)
        runtimes = [spec.runtime for spec in specs.values()]
        self.python = choose_worker_python(runtimes, python, deps_from_interpreter=layer_path is None)
        self.pools = {
            name: FunctionPool(spec, plan_launch(spec, self.python.interpreter, layer_path), max_instances)
            for name, spec in specs.items()
        }
        self._variables = {name: platform_variables(spec) for name, spec in specs.items()}
        self.timer_loop = TimerLoop(self.pools, self._variables)
        self._timers = timers
        self.idle_timeout = idle_timeout
        self.server = RunnerHTTPServer((host, port), self)
        bound_host, bound_port = self.server.socket.getsockname()[:2]
        shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host  # noqa: S104
        self.url = f"http://{shown}:{bound_port}"
        self._stop = threading.Event()
        self._serving = False

    def function_url(self, name: str) -> str:
        """The local Function URL of ``name`` (with a trailing slash, like the real one)."""
        if name not in self.pools:
            raise KeyError(f"no function named {name!r}; have {sorted(self.pools)}")
        return f"{self.url}/{name}/"

    def handle_function(
        self,
        name: str,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        remote_addr: str,
    ) -> HttpAnswer:
        """Answer one request to function ``name`` as its Function URL would."""
        pool = self.pools.get(name)
        if pool is None:
            return json_answer(404, {"error": f"no function named {name!r}", "functions": sorted(self.pools)})
        started = time.monotonic()
        request_id = new_request_id()
        event = build_event(method, path, query, headers, body, remote_addr)
        size = event_size(event)
        if size > REQUEST_LIMIT:
            message = f"RequestTooLarge: the {size}-byte event exceeds the {REQUEST_LIMIT}-byte limit"
            answer, outcome = error_answer("request_too_large", message, request_id), None
        else:
            context = build_context(pool.spec, request_id, self._variables[name])
            outcome = pool.invoke(event, context)
            answer = answer_invocation(outcome, request_id)
        _log_request(name, method, path, answer, started, outcome)
        return answer

    def listing(self) -> dict:
        """What ``GET /`` answers: the project and every served function."""
        return {
            "app": self.project.app,
            "stage": self.project.stage,
            "functions": [self._describe(name, pool) for name, pool in self.pools.items()],
        }

    def _describe(self, name: str, pool: FunctionPool) -> dict:
        spec = pool.spec
        return {
            "name": name,
            "url": self.function_url(name),
            "function_name": spec.function_name,
            "handler": spec.handler,
            "runtime": spec.runtime,
            "memory_mb": spec.memory_mb,
            "timeout_s": spec.timeout_s,
            "http_event": spec.has_http_event,
            "layers": [layer.name for layer in spec.layers],
            "python_path": list(pool.plan.sys_path),
            "stats": pool.stats(),
        }

    def stats(self) -> dict:
        """Per function: instance counts, cold starts, timeouts, crashes, pids."""
        return {name: pool.stats() for name, pool in self.pools.items()}

    def serve_forever(self) -> None:
        """Serve until ``close``; also reaps idle instances when ``idle_timeout`` is set."""
        self._serving = True
        if self._timers:
            self.timer_loop.start()
        if self.idle_timeout:
            threading.Thread(
                target=self._reap_loop, args=(self.idle_timeout,), daemon=True, name="reaper"
            ).start()
        self.server.serve_forever(poll_interval=0.2)

    def _reap_loop(self, idle_timeout: float) -> None:
        interval = max(0.05, min(idle_timeout / 4, 5.0))
        while not self._stop.wait(interval):
            for pool in self.pools.values():
                pool.reap_idle(idle_timeout)

    def close(self) -> None:
        """Stop serving and stop every instance."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.timer_loop.stop()
        if self._serving:
            self.server.shutdown()
        self.server.server_close()
        threads = [threading.Thread(target=p.close, daemon=True) for p in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class RunnerHandle:
    """A runner serving on a background thread: ``url``, ``function_url``, ``stats``, ``close``."""

    def __init__(self, runner: Runner):
        self.runner = runner
        self.url = runner.url
        self._thread = threading.Thread(target=runner.serve_forever, daemon=True, name="runner")
        self._thread.start()

    def function_url(self, name: str) -> str:
        """The local Function URL of ``name``, e.g. ``http://127.0.0.1:9000/business/``."""
        return self.runner.function_url(name)

    def stats(self) -> dict:
        """Per function: ``instances``, ``busy``, ``idle``, ``cold_starts``, ``pids``, ..."""
        return self.runner.stats()

    def close(self) -> None:
        """Stop the server and every worker."""
        self.runner.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunnerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_runner(root: str | Path, port: int = 0, **options: Any) -> RunnerHandle:
    """Start a runner for the project at ``root`` on a background thread (port 0: any free).

    Options: ``host``, ``functions``, ``max_instances``, ``idle_timeout``, ``layer_dir``,
    ``python`` (default: ``choose_worker_python``), ``environ`` (the mapping ``${env:VAR}``
    reads; default ``os.environ``), ``timers`` (fire the functions' timer events on their
    schedules; default off).
    """
    return RunnerHandle(Runner(root, port=port, **options))


def _select(functions: Mapping, names: Iterable[str] | None) -> dict:
    if not names:
        if not functions:
            raise ProjectError("the project has no component: scf instance to serve")
        return dict(functions)
    unknown = [name for name in names if name not in functions]
    if unknown:
        raise ProjectError(f"unknown function(s) {unknown}; the project has {sorted(functions)}")
    return {name: functions[name] for name in names}


def _layer_dir(layer_dir: str | Path | None) -> Path | None:
    if layer_dir is None:
        return None
    path = Path(layer_dir).resolve()
    if not path.is_dir():
        raise ProjectError(f"--layer-dir {path} is not a folder")
    return path


def _log_request(
    name: str, method: str, path: str, answer: HttpAnswer, started: float, outcome: Invocation | None
) -> None:
    label = outcome.instance if outcome and outcome.instance != "-" else f"{name}#-"
    line = f"{label} {method} {path} {answer.status} {(time.monotonic() - started) * 1000:.0f} ms"
    if outcome is not None and outcome.cold_import_ms is not None:
        line += f" cold (import {outcome.cold_import_ms:.0f} ms)"
    if outcome is not None and outcome.failure:
        line += f" [{outcome.failure}]"
    elif outcome is not None and outcome.frame is not None and not outcome.frame.get("ok"):
        line += f" [{outcome.frame.get('kind', 'error')}]"
    reason = _failure_reason(answer, outcome)
    if reason:
        line += f": {reason}"
    log.info(line)


_REASON_LIMIT = 300


def _failure_reason(answer: HttpAnswer, outcome: Invocation | None) -> str:
    """Why a request failed, on one line: the handler's exception or the answer's message.

    A failure is a status of 400 or more, or a platform failure (a timeout answers 200).
    """
    frame = (outcome.frame if outcome is not None else None) or {}
    platform_failure = outcome is not None and (outcome.failure or not frame.get("ok"))
    if answer.status < 400 and not platform_failure:
        return ""
    reason = ""
    if outcome is not None and not outcome.failure and not frame.get("ok"):
        reason = str(frame.get("error") or "")
    if not reason:
        reason = _message_of(answer.body)
    reason = " ".join(reason.split())
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 3] + "..."


def _message_of(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(payload, dict):
        return ""
    for key in ("message", "errorMessage", "error"):
        if isinstance(payload.get(key), str):
            return payload[key]
    return ""


__all__ = ["Runner", "RunnerHandle", "start_runner"]
