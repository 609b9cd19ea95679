"""Pre-generated JSON Schema validators, one module per schema.

Compiling a schema with fastjsonschema costs tens of milliseconds; at cold start
that is most of the budget. So the validators are generated once, from the
schemas declared in the code, by ``python -m labelhub_tools.validators``,
and imported here like any module. ``tests/test_validators.py`` fails when a
generated module no longer matches its schema.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any


@cache
def validator(name: str) -> Callable[[Any], Any]:
    """The ``validate(data)`` function generated for schema ``name``."""
    return importlib.import_module(f"grafana_scf.validators.{name}").validate
