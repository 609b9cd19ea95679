"""The Cloud Monitor catalog: curated metrics, the generic metric, alarms, variables.

Loaded once at cold start into frozen dataclasses. The document is checked
against ``CATALOG_SCHEMA`` (a pre-generated validator), then cross-checked: a
curated metric names its namespace, metric, product and dimension template (whose
placeholders the product must fill); a generic one names none of them; a
variable lists regions or a known product. Errors name the entry.

Facts shared by a product's metrics (namespace, dimension template, statistic,
unit, periods) may be stated once under the top-level ``products``: a curated
metric takes every key it does not set from its product's defaults. A default
that no metric takes is a ``CatalogError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from grafana_scf.catalog_file import CatalogError, SharedDefinitions, catalog_schema
from grafana_scf.protocol import schema_message
from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS

_NAME = "^[a-z][a-z0-9_]*$"
STATISTICS = ("avg", "max", "min")
STATISTIC_BITS = {"avg": (1, "AvgValues"), "max": (2, "MaxValues"), "min": (4, "MinValues")}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_CURATED_KEYS = ("namespace", "metric", "product", "dimensions")

_DEFAULTABLE = {
    "namespace": {"type": "string", "pattern": "^[A-Za-z0-9_]+/[A-Za-z0-9_]+$"},
    "dimensions": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"type": "string", "minLength": 1},
    },
    "statistic": {"enum": list(STATISTICS)},
    "unit": {"type": "string"},
    "periods": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}},
}
_METRIC = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "generic": {"type": "boolean"},
        "metric": {"type": "string", "pattern": "^[A-Za-z0-9_.]+$"},
        "product": {"enum": sorted(PRODUCTS)},
        **_DEFAULTABLE,
    },
}
# products.<product>: what that product's curated metrics take unless they set it.
_PRODUCTS = {
    "type": "object",
    "propertyNames": {"enum": sorted(PRODUCTS)},
    "additionalProperties": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": _DEFAULTABLE,
    },
}
_ANNOTATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}
_VARIABLE = {
    "type": "object",
    "required": ["list"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "list": {"enum": ["regions", *sorted(PRODUCTS)]},
    },
}


CATALOG_SCHEMA: dict[str, Any] = catalog_schema(
    "cloudmonitor",
    {"metrics": _METRIC, "annotations": _ANNOTATION, "variables": _VARIABLE},
    _NAME,
    shared={"products": _PRODUCTS},
)


@dataclass(frozen=True)
class Metric:
    """A metric target: curated (everything fixed but instances) or generic (payload says all)."""

    name: str
    title: str
    description: str = ""
    generic: bool = False
    namespace: str = ""
    metric: str = ""
    product: str = ""
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str | None = None
    unit: str | None = None
    periods: tuple[int, ...] = ()

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(p for v in self.dimensions.values() for p in _PLACEHOLDER.findall(v))

    def dimensions_for(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The template filled with one resource's fields."""
        return {k: _PLACEHOLDER.sub(lambda m: fields[m.group(1)], v) for k, v in self.dimensions.items()}


@dataclass(frozen=True)
class Annotation:
    name: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Variable:
    name: str
    title: str
    list: str
    description: str = ""


@dataclass(frozen=True)
class Catalog:
    """Every entry by name, in catalog order."""

    metrics: Mapping[str, Metric]
    annotations: Mapping[str, Annotation]
    variables: Mapping[str, Variable]

    def names(self) -> list[str]:
        return [*self.metrics, *self.annotations, *self.variables]

    def namespaces(self) -> list[str]:
        """Namespaces of the curated metrics, for the generic metric's picker."""
        return sorted({m.namespace for m in self.metrics.values() if not m.generic})


def load_catalog(document: Mapping[str, Any]) -> Catalog:
    """Validate a parsed catalog document and build the frozen catalog."""
    _check_schema(document)
    products = ProductDefaults(document.get("products"))
    metrics = {n: _metric(n, products.apply(n, raw)) for n, raw in (document.get("metrics") or {}).items()}
    products.check_all_taken()
    annotations = {
        n: Annotation(n, raw.get("title", n), raw.get("description", ""))
        for n, raw in (document.get("annotations") or {}).items()
    }
    variables = {
        n: Variable(n, raw.get("title", n), raw["list"], raw.get("description", ""))
        for n, raw in (document.get("variables") or {}).items()
    }
    seen: dict[str, str] = {}
    for section, names in (("metrics", metrics), ("annotations", annotations), ("variables", variables)):
        for name in names:
            if name in seen:
                raise CatalogError(f"{section}.{name}: the name is already used in {seen[name]}")
            seen[name] = section
    return Catalog(MappingProxyType(metrics), MappingProxyType(annotations), MappingProxyType(variables))


def _check_schema(document: Mapping[str, Any]) -> None:
    import fastjsonschema

    from grafana_scf.validators import validator

    try:
        validator("catalog_cloudmonitor")(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise CatalogError(schema_message(exc, "catalog")) from None


class ProductDefaults:
    """``products``: per-product defaults, and which of their keys some metric took."""

    def __init__(self, raw: Mapping[str, Mapping[str, Any]] | None) -> None:
        self.shared = SharedDefinitions("products", raw)
        self.taken: set[tuple[str, str]] = set()

    def apply(self, name: str, raw: Mapping[str, Any]) -> Mapping[str, Any]:
        """The metric with its product's defaults filled in (generic metrics take none)."""
        product = raw.get("product")
        if raw.get("generic") or product not in self.shared.definitions:
            return raw
        defaults = self.shared.use(product, f"metrics.{name}.product")
        self.taken.update((product, key) for key in defaults if key not in raw)
        return {**defaults, **raw}

    def check_all_taken(self) -> None:
        self.shared.check_all_used()
        for product, defaults in self.shared.definitions.items():
            for key in defaults:
                if (product, key) not in self.taken:
                    raise CatalogError(
                        f"products.{product}.{key}: every {product} metric sets its own {key}; "
                        "remove the default"
                    )


def _metric(name: str, raw: Mapping[str, Any]) -> Metric:
    where = f"metrics.{name}"
    common = {"name": name, "title": raw.get("title", name), "description": raw.get("description", "")}
    if raw.get("generic"):
        extra = [k for k in (*_CURATED_KEYS, "statistic", "periods") if k in raw]
        if extra:
            raise CatalogError(
                f"{where}: a generic metric takes {extra[0]} from the payload, not the catalog"
            )
        return Metric(**common, generic=True, unit=raw.get("unit"))
    missing = [k for k in ("product", *_CURATED_KEYS) if k not in raw]  # the product names the defaults
    if missing:
        product = raw.get("product")
        place = f", here or under products.{product}," if product and missing[0] in _DEFAULTABLE else ""
        raise CatalogError(f"{where}: {missing[0]} is required{place} or set generic: true")
    metric = Metric(
        **common,
        namespace=raw["namespace"],
        metric=raw["metric"],
        product=raw["product"],
        dimensions=MappingProxyType(dict(raw["dimensions"])),
        statistic=raw.get("statistic"),
        unit=raw.get("unit"),
        periods=tuple(sorted(set(raw.get("periods") or ()))),
    )
    offered = PRODUCTS[metric.product].fields
    unknown = sorted(metric.placeholders - offered)
    if unknown:
        raise CatalogError(
            f"{where}.dimensions: {{{unknown[0]}}} is not a field of {metric.product} "
            f"(fields: {', '.join(sorted(offered))})"
        )
    if not metric.placeholders:
        raise CatalogError(f"{where}.dimensions: the template must use a field of the instance, e.g. {{id}}")
    return metric
