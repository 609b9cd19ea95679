"""Grafana's own ``toDataFrame`` on our HTTP answers, for tests.

``GrafanaFrames`` starts ``node tests/grafana/13.2/to_data_frame.cjs`` once and sends it
response bodies; Node converts them with the ``@grafana/data`` version pinned in
``tests/grafana/13.2/package.json`` and sends back plain frames
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

Setup (once per checkout): ``npm ci --prefix tests/grafana/13.2``.

Session fixture for a conftest::

    @pytest.fixture(scope="session")
    def grafana():
        with GrafanaFrames() as g:
            yield g
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.node_process import GrafanaHarnessError, NodeProcess

GRAFANA_DIR = Path(__file__).resolve().parent.parent / "grafana"
HARNESS_DIR = GRAFANA_DIR / "13.2"
SCRIPT_NAME = "to_data_frame.cjs"
PROCESS_DATA_FRAME = Path(
    "node_modules", "@grafana", "data", "dist", "cjs", "dataframe", "processDataFrame.cjs"
)
INSTALL_COMMAND = "npm ci --prefix tests/grafana/13.2"

__all__ = ["HARNESS_DIR", "INSTALL_COMMAND", "PROCESS_DATA_FRAME", "GrafanaFrames", "GrafanaHarnessError"]


class GrafanaFrames(NodeProcess):
    """One long-lived Node process running Grafana's ``toDataFrame``.

    ``timeout`` bounds each conversion (write, convert, read) in seconds, and
    ``startup_timeout`` the start of Node. After a timeout or a crash the process is
    killed and the next call starts a new one. ``info`` holds what Node reported at
    start: ``grafana_data`` and ``node`` versions and ``load_ms`` (time to load
    ``processDataFrame.cjs``); ``startup_seconds`` is the whole start as seen from here.
    """

    label = f"node {SCRIPT_NAME}"
    install_command = INSTALL_COMMAND

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        startup_timeout: float = 60.0,
        node: str | None = None,
        harness_dir: Path | str | None = None,
    ) -> None:
        self.harness_dir = Path(harness_dir) if harness_dir is not None else HARNESS_DIR
        super().__init__(timeout=timeout, startup_timeout=startup_timeout, node=node, cwd=self.harness_dir)

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
        reply = self.call(message)
        if "error" in reply:
            raise AssertionError(f"Grafana toDataFrame failed ({mode}): {reply['error']}")
        return reply

    # -- the harness -----------------------------------------------------------

    def _argv(self, node: str) -> list[str]:
        return [node, str(self.harness_dir / SCRIPT_NAME)]

    def _preflight(self) -> None:
        script = self.harness_dir / SCRIPT_NAME
        if not script.is_file():
            raise GrafanaHarnessError(f"missing harness script {script}")
        if not (self.harness_dir / PROCESS_DATA_FRAME).is_file():
            raise GrafanaHarnessError(
                f"@grafana/data is not installed in {self.harness_dir / 'node_modules'}; "
                f"run `{INSTALL_COMMAND}` from the repository root"
            )

    def _accept_ready(self, info: dict[str, Any]) -> None:
        expected = self._expected_version()
        if expected is not None and info.get("grafana_data") != expected:
            self._fail(
                f"loaded @grafana/data {info.get('grafana_data')} but package.json pins "
                f"{expected}; run `{INSTALL_COMMAND}`"
            )

    def _expected_version(self) -> str | None:
        try:
            manifest = json.loads((self.harness_dir / "package.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return manifest.get("dependencies", {}).get("@grafana/data")
