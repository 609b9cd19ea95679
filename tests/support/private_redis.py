"""A private ``redis-server`` of the test run's own, to fill, flush, stop and restart.

The machine's Redis (127.0.0.1:6379) is shared: a test never uses it. This one runs
with ``--save '' --appendonly no`` in a fresh temporary folder on a free port of
127.0.0.1, with a small memory budget and ``allkeys-lru`` eviction (what the shared
cache is deployed with), in its own session, and dies with the process that started it.

    with private_redis() as server:
        server.url          # redis://127.0.0.1:<port>/0
        server.stop(); server.start()
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from support.private_mariadb import _die_with_parent, free_port

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0


def why_unavailable() -> str | None:
    return None if shutil.which("redis-server") else "redis-server is not installed"


class PrivateRedis:
    def __init__(self, root: Path, maxmemory: str = "64mb", password: str | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.maxmemory = maxmemory
        self.password = password
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    def _command(self) -> list[str]:
        command = ["redis-server", "--bind", HOST, "--port", str(self.port), "--dir", str(self.root)]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"]
        command += ["--maxmemory", self.maxmemory, "--maxmemory-policy", "allkeys-lru"]
        command += ["--logfile", str(self.root / "redis.log")]
        if self.password:
            command += ["--requirepass", self.password]
        return command

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        stop_at = time.monotonic() + START_TIMEOUT_S
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > stop_at:
                raise RuntimeError(f"private redis-server did not start: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=20)
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):
        import redis

        return redis.Redis(host=HOST, port=self.port, password=self.password, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def log_tail(self, lines: int = 10) -> str:
        path = self.root / "redis.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""


@contextlib.contextmanager
def private_redis(maxmemory: str = "64mb", password: str | None = None) -> Iterator[PrivateRedis]:
    root = Path(tempfile.mkdtemp(prefix="private-redis-"))
    server = PrivateRedis(root, maxmemory, password)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
