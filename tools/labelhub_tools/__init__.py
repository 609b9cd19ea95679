"""Development tools for labelhub-dashboard: ``python -m labelhub_tools <command>``.

The local runner (``local``), the Tencent Cloud API emulator (``emulator``), the demo
data (``demo``), the layer build (``layerbuild``), the one-shot ``query`` command and the
validator generator. None of it ships: the SCF layer holds ``layer/grafana_scf/`` only.
The tools import the engine; the engine never imports the tools.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the tools work on: ``serverless.yml``, ``layer/``, ``datasource/``."""
