"""Comparing a catalog before and after a rewrite: resolved objects and served answers.

``tests/fixtures/catalog-before/<function>/catalog.yaml`` keeps each shipped catalog as
it was before shared definitions (``params``, ``products``) were introduced; the
rewritten one must resolve to the same frozen objects, in the same order, and make
the function answer every route with the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support.events import function_url_event

ROOT = Path(__file__).resolve().parents[2]
BEFORE = ROOT / "tests" / "fixtures" / "catalog-before"


def resolved(value: Any) -> Any:
    """A plain, order-preserving picture of a loaded catalog (dataclasses, mappings, tuples)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(f.name, resolved(getattr(value, f.name))) for f in dataclasses.fields(value)]
        return [type(value).__name__, fields]
    if isinstance(value, Mapping):
        return ["mapping", [(key, resolved(item)) for key, item in value.items()]]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [resolved(item) for item in value]]
    return [type(value).__name__, value]


def function_before(function: str, tmp_path: Path) -> Path:
    """A copy of the function folder holding its pre-rewrite catalog; its ``index.py``."""
    folder = tmp_path / "before" / function
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "datasource" / function / "index.py", folder / "index.py")
    shutil.copy(BEFORE / function / "catalog.yaml", folder / "catalog.yaml")
    return folder / "index.py"


def answer(app: Any, path: str, body: Any) -> tuple[int, str]:
    """One POST through the SCF handler: (status, body text as sent)."""
    response = app.handle(function_url_event("POST", path, body), {})
    return response["statusCode"], response["body"]


def decoded(app: Any, path: str, body: Any) -> Any:
    status, text = answer(app, path, body)
    assert status == 200, text
    return json.loads(text)
