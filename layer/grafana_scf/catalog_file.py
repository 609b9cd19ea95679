"""Reading a function's ``catalog.yaml``; each source validates its own entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def catalog_schema(source: str, sections: dict[str, Any], name_pattern: str) -> dict[str, Any]:
    """The JSON Schema of a catalog document: ``source`` plus named entry sections.

    ``sections`` maps a section (``metrics``, ...) to the schema of one entry; entry
    names must match ``name_pattern``; ``metrics`` is required.
    """
    return {
        "type": "object",
        "required": ["source", "metrics"],
        "additionalProperties": False,
        "properties": {
            "source": {"const": source},
            "description": {"type": "string"},
            **{
                section: {
                    "type": "object",
                    "propertyNames": {"pattern": name_pattern},
                    "additionalProperties": entry,
                }
                for section, entry in sections.items()
            },
        },
    }


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
