"""Cold start: a fresh interpreter importing each function's handler vs a minimal handler.

Each child runs like an SCF instance (``-I -S``, import path = function dir, layer dir,
dependency dir; ``PYTHONDONTWRITEBYTECODE=x``) and reports how long ``import index``
took. The baseline is a minimal handler that imports only what its source needs
(PyMySQL for business; the SDK's monitor client for cloudmonitor), measured the same
way in the same run. Targets on this machine: business ≤ 120 ms, cloudmonitor ≤ 250 ms,
and the business function never imports the SDK.

    .venv/bin/python bench/bench_cold_start.py [--runs 15] [--layer-dir DIR] [--python EXE]

``--layer-dir`` measures a built layer (``python -m labelhub_tools build-layer``) instead of
the source layer plus the dev environment's site-packages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = {
    "business": "import pymysql\n\ndef main_handler(event, context):\n    return {}\n",
    "cloudmonitor": (
        "from tencentcloud.common import credential\n"
        "from tencentcloud.common.profile.client_profile import ClientProfile\n"
        "from tencentcloud.common.profile.http_profile import HttpProfile\n"
        "from tencentcloud.monitor.v20180724 import monitor_client, models\n\n"
        "def main_handler(event, context):\n    return {}\n"
    ),
}
TARGETS_MS = {"business": 120, "cloudmonitor": 250}
CHILD = (
    "import sys, time\n"
    "sys.path[:0] = {paths!r}\n"
    "started = time.perf_counter()\n"
    "import index\n"
    "elapsed = time.perf_counter() - started\n"
    "import json\n"
    "sdk = any(m.startswith('tencentcloud') for m in sys.modules)\n"
    "print(json.dumps({{'ms': elapsed * 1000, 'sdk': sdk}}))\n"
)


def measure(
    python: str, function_dir: Path, paths: list[str], runs: int, env: dict
) -> tuple[list[float], bool]:
    times, sdk = [], False
    code = CHILD.format(paths=[str(function_dir), *paths])
    for _ in range(runs):
        done = subprocess.run(
            [python, "-I", "-S", "-c", code],
            cwd=function_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{function_dir.name}: import failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        times.append(result["ms"])
        sdk = sdk or result["sdk"]
    return times, sdk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--layer-dir", type=Path, default=None)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    site = sysconfig.get_paths()["purelib"]
    paths = [str(args.layer_dir.resolve())] if args.layer_dir else [str(ROOT / "layer"), site]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "x",
        "LOG_LEVEL": "ERROR",
        "TZ": "UTC",
    }
    env.update(CLOUD_API_SECRET_ID="AKIDBENCH", CLOUD_API_SECRET_KEY="bench")
    print(f"{'function':<13} {'ours ms':>8} {'minimal ms':>11} {'ratio':>6} {'target':>7}  sdk imported")
    failed = False
    for name, minimal_source in MINIMAL.items():
        ours, sdk = measure(args.python, ROOT / "datasource" / name, paths, args.runs, env)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "index.py").write_text(minimal_source)
            base, _ = measure(args.python, Path(tmp), paths, args.runs, env)
        ours_ms, base_ms = statistics.median(ours), statistics.median(base)
        target = TARGETS_MS[name]
        verdict = "ok" if ours_ms <= target else "MISSED"
        failed |= ours_ms > target or (name == "business" and sdk)
        print(
            f"{name:<13} {ours_ms:>8.1f} {base_ms:>11.1f} {ours_ms / base_ms:>6.2f} {target:>5} ms  "
            f"{'yes' if sdk else 'no'}  {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
