"""Function instances as processes of their own (workers), started together, for the
coalescing tests: each builds its app, says it is ready, and answers once on a signal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def start_instances(tmp_path: Path, worker: Path, settings: dict, request: object, count: int):
    """``count`` workers built and ready; then all told to go at once. ``request`` is
    handed to each worker as JSON (a request body, or what the worker takes)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(TESTS)])}
    go = tmp_path / "go"
    go.unlink(missing_ok=True)
    processes = []
    for index in range(count):
        ready = tmp_path / f"ready-{index}"
        ready.unlink(missing_ok=True)
        command = [
            sys.executable,
            str(worker),
            json.dumps(settings),
            json.dumps(request),
            str(ready),
            str(go),
        ]
        processes.append(
            (ready, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
        )
    for ready, process in processes:
        while not ready.exists():
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.02)
    go.touch()
    return [process for _, process in processes]


def results(processes) -> list[dict]:
    """The JSON line each worker printed last."""
    out = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
        out.append(json.loads(stdout.decode().strip().splitlines()[-1]))
    return out
