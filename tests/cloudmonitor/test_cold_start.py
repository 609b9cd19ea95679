"""What each function imports at cold start: the business one never loads the Tencent SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import sys, time; sys.path.insert(0, '.'); started = time.perf_counter(); import index; "
    "import json; print(json.dumps({'ms': (time.perf_counter() - started) * 1000, "
    "'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'tencentcloud')}))"
)


def import_index(function: str) -> dict:
    """Import ``datasource/<function>/index.py`` in a fresh interpreter, as SCF does."""
    env = {"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "x"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT / "datasource" / function,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_business_function_never_imports_the_sdk():
    probe = import_index("business")
    assert probe["modules"] == []


def test_the_cloudmonitor_function_imports_the_monitor_client_at_cold_start():
    probe = import_index("cloudmonitor")
    assert "tencentcloud.monitor.v20180724.monitor_client" in probe["modules"]
    assert "tencentcloud.monitor.v20180724.models" in probe["modules"]
    assert "tencentcloud.common.common_client" in probe["modules"]
    print(f"cloudmonitor cold import: {probe['ms']:.0f} ms")  # reported, never asserted
