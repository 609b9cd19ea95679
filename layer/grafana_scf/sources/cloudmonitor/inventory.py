"""Regions and instance lists (CVM, CDB, SCF, CLB), paged and cached.

Each product is listed with its own API 3.0 action through ``CommonClient``, in
the region it is asked about (the region really drives the list). A resource
carries its id, a human name (the alias) and the fields a dimension template
may use (``{id}``, ``{name}`` plus the product's own, e.g. CLB ``{vip}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from grafana_scf.sources.cloudmonitor.api import CallStats, CloudApi
from grafana_scf.sources.cloudmonitor.cache import TtlCache

REGIONS_TTL_S = 6 * 3600
MAX_PAGES = 50


def _first(values: Any) -> str:
    return str(values[0]) if isinstance(values, list) and values else ""


@dataclass(frozen=True)
class Scope:
    """A product listed per namespace (SCF): the payload key, the API parameter, the default value."""

    payload_key: str
    api_parameter: str
    default: str


@dataclass(frozen=True)
class Product:
    """How to list one product's instances and what each item offers to templates."""

    name: str
    title: str
    service: str
    version: str
    action: str
    list_field: str
    page_limit: int
    id_field: str
    name_field: str
    fields_of: Callable[[Mapping[str, Any]], dict[str, str]] = field(default=lambda item: {})
    params: Mapping[str, Any] = field(default_factory=dict)
    scope: Scope | None = None

    @property
    def fields(self) -> frozenset[str]:
        """Template placeholders an item of this product fills."""
        sample = {"id", "name", *self.fields_of({})}
        if self.scope:
            sample.add(self.scope.api_parameter.lower())
        return frozenset(sample)


PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product(
            "cvm", "CVM instances", "cvm", "2017-03-12", "DescribeInstances", "InstanceSet", 100,
            "InstanceId", "InstanceName",
            lambda i: {"private_ip": _first(i.get("PrivateIpAddresses")),
                       "public_ip": _first(i.get("PublicIpAddresses"))},
        ),
        Product(
            "cdb", "MySQL (CDB) instances", "cdb", "2017-03-20", "DescribeDBInstances", "Items", 1000,
            "InstanceId", "InstanceName",
            lambda i: {"instance_type": str(i.get("InstanceType", "")), "vip": str(i.get("Vip", ""))},
        ),
        Product(
            "scf", "SCF functions", "scf", "2018-04-16", "ListFunctions", "Functions", 100,
            "FunctionName", "FunctionName",
            scope=Scope("function_namespace", "Namespace", "default"),
        ),
        Product(
            "clb", "public CLB instances", "clb", "2018-03-17", "DescribeLoadBalancers", "LoadBalancerSet",
            100, "LoadBalancerId", "LoadBalancerName",
            lambda i: {"vip": _first(i.get("LoadBalancerVips"))},
            params=MappingProxyType({"LoadBalancerType": "OPEN"}),
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Resource:
    """One listed instance: id, alias and template fields."""

    id: str
    name: str
    fields: Mapping[str, str]

    @property
    def label(self) -> str:
        """``alias (id)``, or the id alone when the alias adds nothing."""
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id


@dataclass(frozen=True)
class Region:
    region: str
    name: str


class Inventory:
    """Cached listings over one ``CloudApi``."""

    def __init__(self, api: CloudApi, list_ttl_s: float, region: str) -> None:
        self.api = api
        self.region = region
        self.list_ttl_s = list_ttl_s
        self.cache = TtlCache(max_size=256)

    def regions(self, stats: CallStats, deadline: float) -> list[Region]:
        """AVAILABLE regions (api 2020-11-06 DescribeRegions, Product=cvm)."""

        def load() -> list[Region]:
            params = {"Product": "cvm"}
            answer = self.api.common("api", "2020-11-06", "DescribeRegions", self.region, params,
                                     stats, deadline)  # fmt: skip
            found = [
                Region(str(r["Region"]), str(r.get("RegionName") or r["Region"]))
                for r in answer.get("RegionSet") or []
                if r.get("RegionState", "AVAILABLE") == "AVAILABLE"
            ]
            return sorted(found, key=lambda r: r.region)

        return self.cache.get_or_load(("regions",), REGIONS_TTL_S, load)

    def resources(
        self, product: Product, region: str, scope: str | None, stats: CallStats, deadline: float
    ) -> list[Resource]:
        """Every instance of ``product`` in ``region`` (and SCF namespace ``scope``)."""
        key = ("resources", product.name, region, scope)
        return self.cache.get_or_load(
            key, self.list_ttl_s, lambda: self._list(product, region, scope, stats, deadline)
        )

    def _list(
        self, product: Product, region: str, scope: str | None, stats: CallStats, deadline: float
    ) -> list[Resource]:
        base = dict(product.params)
        scope_fields: dict[str, str] = {}
        if product.scope and scope:
            base[product.scope.api_parameter] = scope
            scope_fields[product.scope.api_parameter.lower()] = scope
        found: list[Resource] = []
        for page in range(MAX_PAGES):
            params = {**base, "Offset": page * product.page_limit, "Limit": product.page_limit}
            answer = self.api.common(
                product.service, product.version, product.action, region, params, stats, deadline
            )
            items = answer.get(product.list_field) or []
            for item in items:
                found.append(_resource(product, item, scope_fields))
            if not items or len(found) >= int(answer.get("TotalCount") or 0):
                break
        return found


def _resource(product: Product, item: Mapping[str, Any], scope_fields: dict[str, str]) -> Resource:
    rid = str(item.get(product.id_field, ""))
    name = str(item.get(product.name_field) or rid)
    fields = {**scope_fields, **product.fields_of(item), "id": rid, "name": name}
    if product.scope and "Namespace" in item:
        fields[product.scope.api_parameter.lower()] = str(item["Namespace"])
    return Resource(rid, name, MappingProxyType(fields))
