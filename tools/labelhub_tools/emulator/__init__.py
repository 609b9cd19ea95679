"""A local emulator of the Tencent Cloud API 3.0 endpoints the dashboards use.

It speaks the real protocol (TC3-HMAC-SHA256 signatures, ``X-TC-*`` headers, HTTP
200 with ``Response``/``Response.Error`` bodies), so the official SDK talks to it
unchanged through ``HttpProfile(protocol="http", endpoint="127.0.0.1:PORT")``.
See docs/emulator.md. The names below are imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "start_emulator": "labelhub_tools.emulator.server",
    "EmulatorHandle": "labelhub_tools.emulator.server",
    "KeyPair": "labelhub_tools.emulator.auth",
    "DEFAULT_SECRET_ID": "labelhub_tools.emulator.auth",
    "DEFAULT_SECRET_KEY": "labelhub_tools.emulator.auth",
    "DEFAULT_STS_SECRET_ID": "labelhub_tools.emulator.auth",
    "DEFAULT_STS_SECRET_KEY": "labelhub_tools.emulator.auth",
    "DEFAULT_STS_TOKEN": "labelhub_tools.emulator.auth",
    "expected_value": "labelhub_tools.emulator.data",
    "series": "labelhub_tools.emulator.data",
    "slot_timestamps": "labelhub_tools.emulator.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
