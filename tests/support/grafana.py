"""Grafana's own ``toDataFrame`` on our HTTP answers, for tests.

``GrafanaFrames`` starts ``node tests/grafana/to_data_frame.cjs`` once and sends it
response bodies; Node converts them with the ``@grafana/data`` version pinned in
``tests/grafana/package.json`` and sends back plain frames
(``{name, refId, meta, length, fields: [{name, type, values, labels, config}]}``,
``None`` where Grafana left a property undefined).

* ``convert(body)``: a ``/query`` answer; every element goes through ``toDataFrame``
  separately, as the simpod JSON datasource plugin does. Returns the frames.
* ``variable(body)``: a ``/variable`` answer; one ``toDataFrame`` on the whole body and
  the plugin's mapping to variable options (``{"text", "value"}`` or ``{"text"}``).

A body is either the decoded JSON value (list, dict, ...) or the HTTP body text
(``str`` or ``bytes``), which Node then parses itself with ``JSON.parse`` as the
browser does. A conversion that Grafana rejects raises ``AssertionError`` carrying
Node's message; a harness that cannot run, dies or does not answer in time raises
``GrafanaHarnessError``, so a test fails instead of hanging.

Setup (once per checkout): ``npm ci --prefix tests/grafana --omit=peer``.

Session fixture for a conftest::

    @pytest.fixture(scope="session")
    def grafana():
        with GrafanaFrames() as g:
            yield g
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

HARNESS_DIR = Path(__file__).resolve().parent.parent / "grafana"
SCRIPT_NAME = "to_data_frame.cjs"
PROCESS_DATA_FRAME = Path(
    "node_modules", "@grafana", "data", "dist", "cjs", "dataframe", "processDataFrame.cjs"
)
INSTALL_COMMAND = "npm ci --prefix tests/grafana --omit=peer"

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


class GrafanaFrames:
    """One long-lived Node process running Grafana's ``toDataFrame``.

    ``timeout`` bounds each conversion (write, convert, read) in seconds, and
    ``startup_timeout`` the start of Node. After a timeout or a crash the process is
    killed and the next call starts a new one. ``info`` holds what Node reported at
    start: ``grafana_data`` and ``node`` versions and ``load_ms`` (time to load
    ``processDataFrame.cjs``); ``startup_seconds`` is the whole start as seen from here.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        startup_timeout: float = 60.0,
        node: str | None = None,
        harness_dir: Path | str | None = None,
    ) -> None:
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.harness_dir = Path(harness_dir) if harness_dir is not None else HARNESS_DIR
        self._node = node
        self._proc: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES_KEPT)
        self._lock = threading.Lock()
        self._next_id = 0
        self.info: dict[str, Any] = {}
        self.startup_seconds: float | None = None

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> GrafanaFrames:
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

    # -- conversions -----------------------------------------------------------

    def convert(self, body: Any) -> list[dict[str, Any]]:
        """Frames Grafana makes of a ``/query`` answer (one per element)."""
        return self.request(body)["frames"]

    def variable(self, body: Any) -> list[dict[str, Any]]:
        """Variable options the plugin makes of a ``/variable`` answer."""
        return self.request(body, mode="variable")["options"]

    def request(self, body: Any, mode: str = "query") -> dict[str, Any]:
        """The whole reply for ``body`` in ``mode`` ("query" or "variable").

        Raises ``AssertionError`` with Node's message when Grafana cannot convert it.
        """
        message: dict[str, Any] = {"mode": mode}
        if isinstance(body, (bytes, bytearray)):
            message["raw"] = bytes(body).decode("utf-8")
        elif isinstance(body, str):
            message["raw"] = body
        else:
            message["body"] = body
        with self._lock:
            self._next_id += 1
            message["id"] = request_id = self._next_id
            try:
                line = json.dumps(message, allow_nan=False)
            except ValueError as err:
                # Python writes NaN/Infinity only when asked to; JSON.parse rejects them.
                raise AssertionError(f"Grafana cannot parse this body: {err}") from err
            reply = self._exchange(line, request_id)
        if "error" in reply:
            raise AssertionError(f"Grafana toDataFrame failed ({mode}): {reply['error']}")
        return reply

    # -- internals -------------------------------------------------------------

    def _expected_version(self) -> str | None:
        try:
            manifest = json.loads((self.harness_dir / "package.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return manifest.get("dependencies", {}).get("@grafana/data")

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        script = self.harness_dir / SCRIPT_NAME
        if not script.is_file():
            raise GrafanaHarnessError(f"missing harness script {script}")
        if not (self.harness_dir / PROCESS_DATA_FRAME).is_file():
            raise GrafanaHarnessError(
                f"@grafana/data is not installed in {self.harness_dir / 'node_modules'}; "
                f"run `{INSTALL_COMMAND}` from the repository root"
            )
        node = self._node or shutil.which("node")
        if node is None:
            raise GrafanaHarnessError(
                f"`node` (Node.js 20) is not on PATH; install it, then run `{INSTALL_COMMAND}`"
            )
        started = time.monotonic()
        self._stderr.clear()
        self._replies = queue.Queue()
        proc = subprocess.Popen(
            [node, str(script)],
            cwd=self.harness_dir,
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
                target=_pump, args=(proc.stdout, self._replies), name="grafana-stdout", daemon=True
            ),
            threading.Thread(
                target=_drain, args=(proc.stderr, self._stderr), name="grafana-stderr", daemon=True
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
        expected = self._expected_version()
        if expected is not None and info.get("grafana_data") != expected:
            self._fail(
                f"loaded @grafana/data {info.get('grafana_data')} but package.json pins "
                f"{expected}; run `{INSTALL_COMMAND}`"
            )
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
        raise GrafanaHarnessError(f"Grafana harness (node {SCRIPT_NAME}) {problem}{detail}")

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
