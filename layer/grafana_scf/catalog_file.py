"""Reading a function's ``catalog.yaml``; each source validates its own entries."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def catalog_schema(
    source: str,
    sections: dict[str, Any],
    name_pattern: str,
    shared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of a catalog document: ``source`` plus named entry sections.

    ``sections`` maps a section (``metrics``, ...) to the schema of one entry; entry
    names must match ``name_pattern``; ``metrics`` is required. ``shared`` maps a
    section of shared definitions (``params``, ``products``) to its whole schema.
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
            **(shared or {}),
        },
    }


class CatalogError(ValueError):
    """A catalog that cannot be served; the message names the entry and the problem."""


class SharedDefinitions:
    """A catalog section of definitions stated once and used by name from entries.

    ``use`` hands out a definition and records that it was used; naming one that is not
    defined is a ``CatalogError`` naming the entry. ``check_all_used`` refuses
    definitions no entry used, so a catalog never carries dead shared text.
    """

    def __init__(self, section: str, definitions: Mapping[str, Mapping[str, Any]] | None) -> None:
        self.section = section
        self.definitions = dict(definitions or {})
        self.used: set[str] = set()

    def use(self, name: str, where: str) -> Mapping[str, Any]:
        if name not in self.definitions:
            known = ", ".join(self.definitions) or "none"
            raise CatalogError(f"{where}: {name!r} is not defined under {self.section} (defined: {known})")
        self.used.add(name)
        return self.definitions[name]

    def check_all_used(self) -> None:
        for name in self.definitions:
            if name not in self.used:
                raise CatalogError(f"{self.section}.{name}: defined but no entry uses it")


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
