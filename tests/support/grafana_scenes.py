"""Our dashboards opened by Grafana's own dashboard engine, for tests.

``GrafanaScenes(line)`` starts ``node tests/grafana/scenes/harness.cjs tests/grafana/<line>``
once: Grafana's npm packages of that line (``@grafana/scenes``, ``@grafana/data``,
``@grafana/runtime``, pinned in ``tests/grafana/<line>/package-lock.json``) under
jsdom, with stand-ins for the Grafana app services and our adapter for the simpod
JSON datasource plugin. Requests go over real HTTP to the URLs given.

* ``open(dashboard, datasources, now_ms)``: builds the dashboard into a scene, activates
  it, lets its variables resolve and every panel and annotation layer run, and returns
  ``{"variables", "panels", "annotations", "exchanges", "notes", "settled"}``.
* ``payloads(dashboard, datasources, queries, values)``: the payloads the plugin would
  send for targets and variable queries, interpolated by scenes (no HTTP).
* ``interpolate(dashboard, text, fmt, values)``: ``sceneGraph.interpolate``.

Setup (once per checkout): ``npm ci --prefix tests/grafana/<line>`` for each line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.node_process import GrafanaHarnessError, NodeProcess

GRAFANA_DIR = Path(__file__).resolve().parent.parent / "grafana"
SCRIPT = GRAFANA_DIR / "scenes" / "harness.cjs"
GRAFANA_LINES = ("12.4", "13.2")
PINNED = ("@grafana/data", "@grafana/runtime", "@grafana/scenes")


def install_command(line: str) -> str:
    return f"npm ci --prefix tests/grafana/{line}"


class GrafanaScenes(NodeProcess):
    """One long-lived Node process running one Grafana line's dashboard engine."""

    def __init__(
        self, line: str, *, timeout: float = 120.0, startup_timeout: float = 90.0, node: str | None = None
    ) -> None:
        if line not in GRAFANA_LINES:
            raise ValueError(f"Grafana line {line!r} is not one of {GRAFANA_LINES}")
        self.line = line
        self.packages_dir = GRAFANA_DIR / line
        self.label = f"node scenes/harness.cjs {line}"
        self.install_command = install_command(line)
        super().__init__(timeout=timeout, startup_timeout=startup_timeout, node=node, cwd=GRAFANA_DIR)

    def open(
        self,
        dashboard: dict[str, Any],
        datasources: dict[str, Any],
        now_ms: int | None = None,
        *,
        values: dict[str, Any] | None = None,
        screen_width: int = 1920,
        adhoc_key: str | None = None,
    ) -> dict[str, Any]:
        return self._ask(
            "open",
            adhoc_key=adhoc_key,
            dashboard=dashboard,
            datasources=datasources,
            now_ms=now_ms,
            values=values or {},
            screen_width=screen_width,
            timeout_ms=int((self.timeout - 10) * 1000),
        )

    def payloads(
        self,
        dashboard: dict[str, Any],
        datasources: dict[str, Any],
        queries: list[dict[str, Any]],
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._ask(
            "payloads", dashboard=dashboard, datasources=datasources, queries=queries, values=values or {}
        )

    def interpolate(
        self,
        dashboard: dict[str, Any],
        text: str,
        fmt: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> str:
        return self._ask("interpolate", dashboard=dashboard, text=text, format=fmt, values=values or {})[
            "text"
        ]

    def _ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        reply = self.call({"cmd": cmd, **fields})
        if "error" in reply:
            raise AssertionError(f"Grafana {self.line} harness failed ({cmd}): {reply['error']}")
        return reply

    def _argv(self, node: str) -> list[str]:
        return [node, str(SCRIPT), str(self.packages_dir)]

    def _preflight(self) -> None:
        if not (self.packages_dir / "node_modules" / "@grafana" / "scenes" / "package.json").is_file():
            raise GrafanaHarnessError(
                f"Grafana {self.line}'s packages are not installed in {self.packages_dir / 'node_modules'}; "
                f"run `{self.install_command}` from the repository root"
            )

    def _accept_ready(self, info: dict[str, Any]) -> None:
        manifest = json.loads((self.packages_dir / "package.json").read_text("utf-8"))
        pinned = manifest.get("dependencies", {})
        loaded = info.get("versions", {})
        stale = [
            f"{name} {loaded.get(name)} (pinned {pinned[name]})"
            for name in PINNED
            if loaded.get(name) != pinned[name]
        ]
        if stale:
            self._fail(f"loaded {', '.join(stale)}; run `{self.install_command}`")
