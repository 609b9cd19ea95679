"""grafana_scf: Grafana JSON datasource backends as Tencent SCF event functions.

The package ships flat at the root of the SCF layer (mounted at /opt). A function's
``index.py`` builds one app at import time and hands every event to it::

    from grafana_scf import create_app

    app = create_app(__file__)

    def main_handler(event, context):
        return app.handle(event, context)

Only what that path needs is imported here; everything heavy loads lazily.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grafana_scf.app import App

__version__ = "0.1.0"


def create_app(index_file: str | os.PathLike[str], **overrides: Any) -> App:
    """Build the app for the function whose ``index.py`` is ``index_file``."""
    from grafana_scf.app import create_app as _create_app

    return _create_app(index_file, **overrides)


__all__ = ["__version__", "create_app"]
