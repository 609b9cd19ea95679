"""The runner's handle on one worker process (one simulated SCF instance).

An instance is started once (interpreter start plus the handler's import: the cold start),
then serves one invocation at a time. Its stdout carries protocol frames only (read by a
thread into a queue, so a reply can be awaited with a timeout); its stderr is forwarded
line by line to the runner's log, prefixed with ``function#n``. A timed-out or crashed
instance is killed and never reused.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any, Final

from labelhub_tools.local.launch import LaunchPlan
from labelhub_tools.local.worker import read_frame, write_frame

log = logging.getLogger("labelhub_tools.local")

RESPONSE_LIMIT = 6 * 1024 * 1024


# A log record of the engine ("LEVEL logger message"), and its record of a failed request,
# whose message the runner's own line for that request already carries.
_RECORD = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
_REQUEST_FAILED = re.compile(r"ERROR grafana_scf [A-Z]+ \S+ failed: ")
# The refresher's errors: the runner's line for the timer tick carries them in its summary.
_TICK_FAILED = re.compile(r"ERROR grafana_scf\.rollups ")


def forwarded_level(line: str) -> int:
    """The runner's log level for one line of a function's output.

    Debug and info records of the function's logging (per-request lines, timings) are
    details: DEBUG. Its warnings, errors, tracebacks and ``print`` output stay at INFO,
    except the engine's record of a failed request or rollup refresh, which would repeat
    the reason the runner logs with that request or timer tick.
    """
    record = _RECORD.match(line)
    if record is None:
        return logging.INFO
    if record.group(1) in ("DEBUG", "INFO") or _REQUEST_FAILED.match(line) or _TICK_FAILED.match(line):
        return logging.DEBUG
    return logging.INFO


class InstanceError(Exception):
    """An instance failed in a way the platform reports instead of the handler's answer."""


class InitFailed(InstanceError):
    """The instance did not come up: the import raised, timed out, or the process died."""


class InvokeTimeout(InstanceError):
    """The handler ran past the function timeout; the instance was killed."""


class InstanceCrashed(InstanceError):
    """The worker process ended during an invocation."""


class Instance:
    """One worker process: started once, then invoked serially until closed or killed."""

    def __init__(self, label: str, plan: LaunchPlan):
        self.label = label
        self.plan = plan
        self.pid: int | None = None
        self.import_ms = 0.0
        self.ready_ms = 0.0
        self.last_used = time.monotonic()
        self.invocations = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._tmp = tempfile.mkdtemp(prefix=f"scf-{label.replace('#', '-')}-")

    def start(self) -> None:
        """Start the worker and wait for its import; raise InitFailed when it does not come up."""
        started = time.monotonic()
        env = dict(self.plan.base_env, TMPDIR=self._tmp, HOME=self._tmp)
        try:
            self._proc = subprocess.Popen(
                self.plan.argv,
                cwd=self.plan.cwd,
                env=env,
                start_new_session=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._cleanup()
            raise InitFailed(f"cannot start the worker: {exc}") from exc
        self.pid = self._proc.pid
        threading.Thread(target=self._read_replies, daemon=True, name=f"{self.label}-out").start()
        threading.Thread(target=self._forward_log, daemon=True, name=f"{self.label}-err").start()
        init = {
            "op": "init",
            "path": list(self.plan.sys_path),
            "handler": self.plan.handler,
            "response_limit": RESPONSE_LIMIT,
        }
        reply = self._exchange(init, self.plan.init_timeout_s)
        if reply is _TIMED_OUT:
            self.kill()
            raise InitFailed(f"Init timed out after {self.plan.init_timeout_s} seconds")
        if reply is None:
            raise InitFailed(f"instance exited during init ({self._exit_detail()})")
        message = json.loads(reply)
        if message.get("op") != "ready":
            self._reap(wait=2)
            raise InitFailed(f"init failed: {message.get('error', 'unknown error')}")
        self.import_ms = float(message["import_ms"])
        self.ready_ms = (time.monotonic() - started) * 1000

    @property
    def _worker(self) -> subprocess.Popen[bytes]:
        """The started worker process."""
        if self._proc is None:
            raise InstanceError(f"{self.label}: the worker was never started")
        return self._proc

    def invoke(self, event: dict, context: dict, timeout_s: float) -> dict:
        """Run one event; return the worker's answer frame (see worker.py)."""
        self.invocations += 1
        reply = self._exchange({"op": "invoke", "event": event, "context": context}, timeout_s)
        self.last_used = time.monotonic()
        if reply is _TIMED_OUT:
            self.kill()
            raise InvokeTimeout(f"Invoking task timed out after {timeout_s:g} seconds")
        if reply is None:
            raise InstanceCrashed(self._exit_detail())
        return json.loads(reply)

    def _exchange(self, message: dict[str, Any], timeout_s: float) -> bytes | _Wait | None:
        """Send one frame and wait for the reply: bytes, None (worker gone) or _TIMED_OUT."""
        payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
        try:
            write_frame(self._worker.stdin, payload)
        except OSError:
            return None
        try:
            return self._replies.get(timeout=timeout_s)
        except queue.Empty:
            return _TIMED_OUT

    def _read_replies(self) -> None:
        frame: bytes | None = b""
        while frame is not None:
            try:
                frame = read_frame(self._worker.stdout)
            except (OSError, ValueError):
                frame = None
            self._replies.put(frame)

    def _forward_log(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in self._worker.stderr or ():
                line = raw.decode("utf-8", "replace").rstrip()
                log.log(forwarded_level(line), "[%s] %s", self.label, line)

    def _exit_detail(self) -> str:
        code = self._reap(wait=2)
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def _reap(self, wait: float) -> int | None:
        """Wait for the process to end (killing it after ``wait`` s); return its exit code."""
        try:
            return self._worker.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.kill()
            return self._worker.returncode

    def kill(self) -> None:
        """Kill the worker and everything it started; remove its TMPDIR."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except OSError:
                self._proc.kill()
            self._proc.wait()
        self._cleanup()

    def close(self, wait: float = 2.0) -> None:
        """Stop the worker cleanly: close its input, give it ``wait`` s, then kill it."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            self._reap(wait)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._proc is not None:
            for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                with contextlib.suppress(OSError, ValueError):
                    if stream is not None:
                        stream.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


class _Wait(enum.Enum):
    TIMED_OUT = "timed out"


_TIMED_OUT: Final = _Wait.TIMED_OUT
