"""Loading the Grafana files of the repository (strictly: duplicate keys are errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "dashboards"
PROVISIONING_DIR = ROOT / "provisioning"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

EXPR_UID = "__expr__"
SPECIAL_DATASOURCE_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", EXPR_UID}


class DuplicateKeyError(ValueError):
    pass


class _StrictLoader(yaml.SafeLoader):
    pass


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    merge = "tag:yaml.org,2002:merge"
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value if key.tag != merge]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DuplicateKeyError(f"duplicate keys {duplicates} at {node.start_mark}")
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DuplicateKeyError(f"duplicate keys {duplicates}")
    return dict(pairs)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.rglob("*.json"))


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard by file name."""
    return {path.name: load_json(path) for path in dashboard_files()}


def provisioning_files(kind: str) -> list[Path]:
    folder = PROVISIONING_DIR / kind
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


def provisioning(kind: str) -> dict[str, Any]:
    """Every provisioning document of one kind (datasources, dashboards, alerting) by file name."""
    return {path.name: load_yaml(path) for path in provisioning_files(kind)}


def load_schema(name: str) -> dict[str, Any]:
    return load_json(SCHEMA_DIR / f"{name}.schema.json")


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", []) if panel.get("type") == "row" else ()


def query_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (p for p in all_panels(dashboard) if p.get("type") != "row")


def provisioned_datasources() -> dict[str, dict[str, Any]]:
    """Every provisioned datasource by uid."""
    found: dict[str, dict[str, Any]] = {}
    for document in provisioning("datasources").values():
        for datasource in document.get("datasources", []):
            found[datasource["uid"]] = datasource
    return found


def alert_groups() -> list[dict[str, Any]]:
    return [g for doc in provisioning("alerting").values() for g in doc.get("groups", [])]


def alert_rules() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(group, rule) for every provisioned alert rule."""
    return [(group, rule) for group in alert_groups() for rule in group.get("rules", [])]
