"""The functions' catalogs, loaded with the engine, as payload validators for the checks.

A provisioned JSON datasource points at ``http://datasource:9000/<function>``; its
catalog is ``datasource/<function>/catalog.yaml``, read by the engine's own loader for
its ``source:`` (mysql or cloudmonitor). ``validate(kind, entry, payload)`` raises
``ValueError`` with the function's own message when the function would refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.errors import ServiceError

from . import files
from .checks import JSON_DATASOURCE, function_of

DEFAULT_REGION = "ap-guangzhou"


class MySqlCatalog:
    def __init__(self, document: Mapping[str, Any]) -> None:
        from grafana_scf.sources.mysql.catalog import load_catalog

        self.catalog = load_catalog(document)

    def validate(self, kind: str, name: str | None, payload: dict[str, Any]) -> None:
        from grafana_scf.sources.mysql.params import resolve_params

        entry = self.catalog.entries.get(name or "")
        if entry is None:
            raise ValueError(f"no catalog entry {name!r}")
        if entry.kind != kind:
            raise ValueError(f"{name} is an entry of kind {entry.kind}, used as a {kind}")
        try:
            resolve_params(entry.params, payload, name)
        except ServiceError as exc:
            raise ValueError(str(exc)) from None


class CloudMonitorCatalog:
    def __init__(self, document: Mapping[str, Any]) -> None:
        from grafana_scf.sources.cloudmonitor.catalog import load_catalog

        self.catalog = load_catalog(document)

    def validate(self, kind: str, name: str | None, payload: dict[str, Any]) -> None:
        from grafana_scf.sources.cloudmonitor import payload as payloads

        try:
            if kind == "metric":
                metric = self._get(self.catalog.metrics, name, kind)
                check = payloads.generic_query if metric.generic else payloads.curated_query
                check(metric, payload, DEFAULT_REGION)
            elif kind == "annotation":
                self._get(self.catalog.annotations, name, kind)
                payloads.alarm_query(name, payload, DEFAULT_REGION)
            else:
                self._variable(self._get(self.catalog.variables, name, kind), payload)
        except ServiceError as exc:
            raise ValueError(str(exc)) from None

    def _get(self, entries: Mapping[str, Any], name: str | None, kind: str) -> Any:
        if name not in entries:
            raise ValueError(f"no {kind} entry {name!r} (entries: {', '.join(self.catalog.names())})")
        return entries[name]

    @staticmethod
    def _variable(variable: Any, payload: dict[str, Any]) -> None:
        from grafana_scf.sources.cloudmonitor import payload as payloads
        from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS

        if variable.list == "regions":
            allowed: tuple[str, ...] = ()
        else:
            product = PRODUCTS[variable.list]
            allowed = ("region", product.scope.payload_key) if product.scope else ("region",)
            payloads.region_value(payload, DEFAULT_REGION, variable.name)
            payloads.scope_value(variable.list, payload, variable.name)
        unknown = sorted(set(payload) - set(allowed))
        if unknown:
            raise ValueError(f"{variable.name}: payload.{unknown[0]} is not a field (fields: {allowed})")


SOURCES = {"mysql": MySqlCatalog, "cloudmonitor": CloudMonitorCatalog}


def load_catalogs(datasources: Mapping[str, Any]) -> dict[str, Any]:
    """A validator per provisioned JSON datasource uid."""
    found = {}
    for uid, datasource in datasources.items():
        if datasource["type"] != JSON_DATASOURCE:
            continue
        path = files.ROOT / "datasource" / str(function_of(datasource)) / "catalog.yaml"
        document = load_catalog_file(path)
        found[uid] = SOURCES[document["source"]](document)
    return found
