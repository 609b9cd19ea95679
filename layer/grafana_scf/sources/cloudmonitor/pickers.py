"""The query editor's pickers: ``/metrics`` payload fields and ``/metric-payload-options``.

Static choices (statistic, alarm status and level, curated periods) are sent with
``/metrics``; choices that need the API (regions, instances, metric names,
generic periods) are answered by ``/metric-payload-options`` from the caches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grafana_scf.errors import BadRequestError
from grafana_scf.sources.cloudmonitor.catalog import STATISTICS, Annotation, Catalog, Metric
from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS
from grafana_scf.sources.cloudmonitor.payload import ALARM_LEVELS, ALARM_STATUSES


def _options(values: list[Any]) -> list[dict[str, Any]]:
    return [{"label": str(v), "value": v} for v in values]


def period_options(periods: tuple[int, ...]) -> list[dict[str, Any]]:
    """``auto`` and every offered period, as select options."""
    return [{"label": "auto", "value": "auto"}] + [{"label": f"{p} s", "value": str(p)} for p in periods]


def _field(name: str, kind: str, label: str, placeholder: str = "", **extra: Any) -> dict[str, Any]:
    field = {"name": name, "label": label, "type": kind, **extra}
    if placeholder:
        field["placeholder"] = placeholder
    return field


def metric_fields(metric: Metric, catalog: Catalog, default_region: str) -> list[dict[str, Any]]:
    """The payload fields of one metric target, for the builder-mode editor."""
    region = _field("region", "select", "Region", f"default {default_region}", reloadMetric=True)
    statistic = _field(
        "statistic",
        "select",
        "Statistic",
        metric.statistic or "the metric's own",
        options=_options([*STATISTICS]),
    )
    if metric.generic:
        return [
            _field("namespace", "select", "Namespace", "QCE/CVM", options=_options(catalog.namespaces())),
            _field("metric", "select", "Metric", "pick a namespace first"),
            _field("dimensions", "textarea", "Dimensions", '{"InstanceId": "ins-xxxxxxxx"}'),
            region,
            _field("period", "select", "Period", "auto"),
            statistic,
            _field("unit", "input", "Unit", "Grafana unit id, e.g. percent"),
        ]
    product = PRODUCTS[metric.product]
    fields = [region]
    if product.scope:
        fields.append(_field(product.scope.payload_key, "input", "Function namespace", product.scope.default))
    fields.append(_field("instances", "multi-select", product.title.capitalize(), "all"))
    period = _field("period", "select", "Period", "auto")
    if metric.periods:
        period["options"] = period_options(metric.periods)
    return [*fields, period, statistic]


def annotation_fields(default_region: str) -> list[dict[str, Any]]:
    """The payload fields of an alarm-history annotation target."""
    return [
        _field("region", "select", "Region", f"default {default_region}"),
        _field("status", "multi-select", "Alarm status", "any", options=_options([*ALARM_STATUSES])),
        _field("levels", "multi-select", "Alarm level", "any", options=_options([*ALARM_LEVELS])),
        _field("policy", "input", "Policy name contains"),
        _field("object", "input", "Alarm object contains"),
    ]


def metric_list(catalog: Catalog, default_region: str) -> list[dict[str, Any]]:
    """``/metrics``: every metric target, then every annotation target."""
    listed: list[dict[str, Any]] = []
    for metric in catalog.metrics.values():
        fields = metric_fields(metric, catalog, default_region)
        listed.append({"value": metric.name, "label": metric.title, "payloads": fields})
    for annotation in catalog.annotations.values():
        listed.append(_annotation_entry(annotation, default_region))
    return listed


def _annotation_entry(annotation: Annotation, default_region: str) -> dict[str, Any]:
    label = f"{annotation.title} (annotations)"
    return {"value": annotation.name, "label": label, "payloads": annotation_fields(default_region)}


def static_options(fields: list[dict[str, Any]], name: str, where: str) -> list[dict[str, Any]] | None:
    """The options sent with ``/metrics`` for field ``name``, or None when they need the API."""
    for field in fields:
        if field["name"] == name:
            return field.get("options")
    known = ", ".join(f["name"] for f in fields)
    raise BadRequestError(f"{where}: no payload field {name!r} (fields: {known})")


def clean_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Builder-mode payloads hold every field; empty ones mean "not chosen"."""
    return {k: v for k, v in payload.items() if v not in (None, "", [])}
