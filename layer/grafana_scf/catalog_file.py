"""Reading a function's ``catalog.yaml``; each source validates its own entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class CatalogError(ValueError):
    """A catalog that cannot be served; the message names the entry and the problem."""


def load_catalog_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path.name}: cannot read: {exc.strerror}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise CatalogError(f"{path.name}: must be a mapping with a 'source' key")
    return document
