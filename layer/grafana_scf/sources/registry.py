"""Which source class serves a catalog, by the catalog's ``source`` key.

Sources are imported only when a catalog asks for them, so the business
function never loads the Cloud Monitor SDK and vice versa.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from grafana_scf.catalog_file import CatalogError
from grafana_scf.settings import Settings
from grafana_scf.sources.base import Source

SOURCES = {
    "mysql": "grafana_scf.sources.mysql.source:MySqlSource",
    "cloudmonitor": "grafana_scf.sources.cloudmonitor.source:CloudMonitorSource",
}


def build_source(catalog: dict[str, Any], settings: Settings, base_dir: Path) -> Source:
    kind = catalog.get("source")
    if kind not in SOURCES:
        raise CatalogError(f"source: must be one of {', '.join(SOURCES)}, got {kind!r}")
    module_name, _, class_name = SOURCES[kind].partition(":")
    source_class = getattr(importlib.import_module(module_name), class_name)
    return source_class.from_catalog(catalog, settings, base_dir)
