"""Names of what the suite creates on a shared database server, unique to this run.

Two checkouts may test at once against one server: every database and user a test makes
carries this run's suffix, so neither sees, drops nor rewrites the other's. Each fixture that
creates one drops it again at the end of its scope.
"""

from __future__ import annotations

import os
import secrets

RUN_SUFFIX = os.environ.get("TEST_RUN_SUFFIX") or secrets.token_hex(4)
"""Eight hex digits, or ``TEST_RUN_SUFFIX`` (letters, digits and ``_`` only) to pin it."""

if not RUN_SUFFIX.replace("_", "").isalnum():
    raise ValueError(f"TEST_RUN_SUFFIX must hold letters, digits and _ only, not {RUN_SUFFIX!r}")


def run_name(base: str) -> str:
    """``base`` with this run's suffix: a database or user name no other run uses."""
    name = f"{base}_{RUN_SUFFIX}"
    if len(name) > 64:
        raise ValueError(f"{name!r} is longer than a MySQL database name may be")
    return name
