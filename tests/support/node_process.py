"""A long-lived Node process spoken to in JSON lines, for the Grafana harnesses.

``NodeProcess`` starts Node once, waits for its first line (``{"ready": true, ...}``),
then sends one JSON object per line and reads one reply line with the same ``id``.
A harness that cannot run, dies or does not answer in time raises
``GrafanaHarnessError`` (with Node's stderr), so a test fails instead of hanging.
Subclasses say what to run (``_argv``), what must be installed (``_preflight``) and
what a good ready line is (``_accept_ready``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

_STDERR_LINES_KEPT = 200


class GrafanaHarnessError(RuntimeError):
    """The Node harness is not installed, could not start, died or did not answer."""


def _pump(stream: Any, sink: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            sink.put(line)
    except (OSError, ValueError):
        pass
    finally:
        sink.put(None)


def _drain(stream: Any, sink: collections.deque[str]) -> None:
    try:
        for line in stream:
            sink.append(line.rstrip("\n"))
    except (OSError, ValueError):
        pass


class NodeProcess:
    """One Node process; ``timeout`` bounds each exchange, ``startup_timeout`` the start.

    After a timeout or a crash the process is killed and the next call starts a new one.
    ``info`` holds the ready line; ``startup_seconds`` the whole start as seen from here.
    """

    label = "node"
    install_command = ""

    def __init__(self, *, timeout: float, startup_timeout: float, node: str | None, cwd: Path) -> None:
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.cwd = cwd
        self._node = node
        self._proc: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES_KEPT)
        self._lock = threading.Lock()
        self._next_id = 0
        self.info: dict[str, Any] = {}
        self.startup_seconds: float | None = None

    # -- what to run (subclasses) ------------------------------------------------------

    def _argv(self, node: str) -> list[str]:
        raise NotImplementedError

    def _preflight(self) -> None:
        """Raise GrafanaHarnessError when something the harness needs is missing."""

    def _accept_ready(self, info: dict[str, Any]) -> None:
        """Fail (self._fail) when the ready line shows a wrong install."""

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start Node (if not running) and wait for it to report ready."""
        with self._lock:
            self._ensure_started()

    def close(self) -> None:
        """Stop Node: close its stdin, then kill it if it does not exit promptly."""
        with self._lock:
            self._stop()

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` (an ``id`` is added) and return Node's reply."""
        with self._lock:
            self._next_id += 1
            message = {**message, "id": self._next_id}
            try:
                line = json.dumps(message, allow_nan=False)
            except ValueError as err:
                # Python writes NaN/Infinity only when asked to; JSON.parse rejects them.
                raise AssertionError(f"Grafana cannot parse this body: {err}") from err
            return self._exchange(line, self._next_id)

    # -- internals -------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        self._preflight()
        node = self._node or shutil.which("node")
        if node is None:
            raise GrafanaHarnessError(
                f"`node` (Node.js 20) is not on PATH; install it, then run `{self.install_command}`"
            )
        started = time.monotonic()
        self._stderr.clear()
        self._replies = queue.Queue()
        proc = subprocess.Popen(
            self._argv(node),
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._proc = proc
        self._threads = [
            threading.Thread(
                target=_pump, args=(proc.stdout, self._replies), name="node-stdout", daemon=True
            ),
            threading.Thread(
                target=_drain, args=(proc.stderr, self._stderr), name="node-stderr", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()
        line = self._read_line(self.startup_timeout, "starting")
        try:
            info = json.loads(line)
        except ValueError:
            info = None
        if not isinstance(info, dict) or info.get("ready") is not True:
            self._fail(f"did not report ready; first line: {line.strip()[:500]!r}")
        self._accept_ready(info)
        self.info = info
        self.startup_seconds = time.monotonic() - started

    def _exchange(self, line: str, request_id: int) -> dict[str, Any]:
        self._ensure_started()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        # A watchdog bounds the whole exchange: killing Node also unblocks a write
        # stuck on a full pipe, which a read timeout alone would not.
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            proc.kill()

        watchdog = threading.Timer(self.timeout, kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except OSError as err:
                if fired.is_set():
                    self._fail(f"did not answer within {self.timeout}s; killed it")
                self._fail(f"stopped taking requests ({err})")
            answer = self._read_line(self.timeout + 5.0, "answering", fired)
        finally:
            watchdog.cancel()
        try:
            reply = json.loads(answer)
        except ValueError:
            self._fail(f"wrote a line that is not JSON: {answer.strip()[:500]!r}")
        if not isinstance(reply, dict) or reply.get("id") != request_id:
            self._fail(f"answered out of turn (expected id {request_id}): {answer.strip()[:500]!r}")
        return reply

    def _read_line(self, timeout: float, doing: str, fired: threading.Event | None = None) -> str:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self._fail(f"did not finish {doing} within {timeout}s; killed it")
        if line is None:
            if fired is not None and fired.is_set():
                self._fail(f"did not finish {doing} within {self.timeout}s; killed it")
            if self._proc is not None:  # let it finish exiting, for its exit code
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
            self._fail(f"exited while {doing}")
        return line

    def _fail(self, problem: str) -> NoReturn:
        proc = self._proc
        self._stop(kill=True)
        code = proc.poll() if proc is not None else None
        stderr = "\n".join(self._stderr).strip()
        detail = f" (exit code {code})" if code is not None else ""
        detail += f"\nNode stderr:\n{stderr[-4000:]}" if stderr else ""
        raise GrafanaHarnessError(f"Grafana harness ({self.label}) {problem}{detail}")

    def _stop(self, *, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        threads, self._threads = self._threads, []
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        if kill:
            proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        # Node is gone, so its pipes close and the reader threads end.
        for thread in threads:
            thread.join(timeout=2)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
