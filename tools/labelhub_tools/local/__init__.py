"""The local runner: every SCF function of the project served as its Function URL would.

``python -m labelhub_tools serve`` (see ``cli.py``) or, from Python and tests::

    from labelhub_tools.local import start_runner

    with start_runner("/path/to/project", port=0) as runner:
        url = runner.function_url("business")      # http://127.0.0.1:<port>/business/
        runner.stats()["business"]["cold_starts"]

Modules: ``project`` (serverless.yml discovery and variables), ``launch`` (interpreter,
import path, environment of an instance), ``worker`` (the instance process), ``instance``
(the runner's handle on it), ``pool`` (instances per function), ``events`` (event, context
and answer shapes), ``server`` (HTTP), ``runner`` (it all together), ``cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from labelhub_tools.local.runner import RunnerHandle


def start_runner(root: str | Path, port: int = 0, **options: Any) -> RunnerHandle:
    """Start a runner on a background thread; see ``labelhub_tools.local.runner.start_runner``."""
    from labelhub_tools.local.runner import start_runner as _start_runner

    return _start_runner(root, port=port, **options)


__all__ = ["start_runner"]
