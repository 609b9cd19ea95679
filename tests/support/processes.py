"""Child processes a test starts: never left running, never waited on forever."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator


@contextlib.contextmanager
def reaped(process: subprocess.Popen, grace_s: float = 5) -> Iterator[subprocess.Popen]:
    """``with reaped(Popen(...)) as p:`` — on the way out a process still running is killed,
    so a failed assertion fails the test instead of hanging the suite in ``Popen.__exit__``."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
        for stream in (process.stdout, process.stderr, process.stdin):
            if stream is not None:
                stream.close()
