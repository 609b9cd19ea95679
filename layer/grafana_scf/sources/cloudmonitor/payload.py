"""Target payloads: read, coerced and checked; a bad value is a 400 naming target and field.

Values arrive as Grafana sends them: strings (builder mode, single-value
variables), numbers, arrays (code mode), or a regex alternation ``(a|b)`` /
``{a,b}`` or ``a,b`` (multi-value variables). ``instances`` absent, empty, ``*`` or
``$__all`` means every instance of the product in the region.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grafana_scf.errors import BadRequestError
from grafana_scf.protocol import empty_payload_hint, expand_target
from grafana_scf.sources.cloudmonitor.catalog import STATISTICS, Metric
from grafana_scf.sources.cloudmonitor.inventory import PRODUCTS

MAX_SERIES = 500
ALL = ("*", "$__all")
ALARM_STATUSES = ("ALARM", "OK", "NO_CONF", "NO_DATA")
ALARM_LEVELS = ("Remind", "Warn", "Serious")
_REGION = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")
_VALUE = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,128}$")
_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_]+$")
_METRIC = re.compile(r"^[A-Za-z0-9_.]{1,128}$")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class SeriesQuery:
    """What a metric target asks for, once its payload is read."""

    region: str
    period: int | None
    statistic: str | None
    instances: tuple[str, ...] | None = None  # curated; None = every instance
    scope: str | None = None  # SCF function namespace
    namespace: str = ""  # generic only
    metric: str = ""
    dimension_sets: tuple[tuple[tuple[str, str], ...], ...] = ()
    unit: str | None = None


@dataclass(frozen=True)
class AlarmQuery:
    region: str
    statuses: tuple[str, ...]
    levels: tuple[str, ...]
    policy: str | None
    alarm_object: str | None


def _fail(where: str, message: str) -> BadRequestError:
    return BadRequestError(f"{where}: {message}")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _check_keys(payload: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in payload:
        if key not in allowed:
            raise _fail(where, f"payload.{key} is not a field of this target (fields: {', '.join(allowed)})")


def values(raw: Any, where: str, field: str) -> list[str]:
    """A list of strings from a string, a number, an alternation, a comma list or an array of those."""
    items = raw if isinstance(raw, list) else [raw]
    found: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise _fail(where, f"payload.{field} must be a string or a list of strings, got {item!r}")
        for alternative in expand_target(str(item).strip()):
            for part in alternative.split(","):
                part = _ESCAPE.sub(r"\1", part.strip())
                if part and part not in found:
                    found.append(part)
    return found


def _region(payload: Mapping[str, Any], default: str, where: str) -> str:
    raw = payload.get("region")
    region = default if _empty(raw) else str(raw).strip()
    if not _REGION.match(region):
        raise _fail(where, f"payload.region {region!r} is not a region such as ap-guangzhou")
    return region


def _period(payload: Mapping[str, Any], where: str) -> int | None:
    raw = payload.get("period")
    if _empty(raw) or raw == "auto":
        return None
    text = str(raw).strip().removesuffix("s")
    if isinstance(raw, bool) or not text.isdigit() or int(text) <= 0:
        raise _fail(where, f"payload.period must be a number of seconds or 'auto', got {raw!r}")
    return int(text)


def _statistic(payload: Mapping[str, Any], default: str | None, where: str) -> str | None:
    raw = payload.get("statistic")
    if _empty(raw):
        return default
    if raw not in STATISTICS:
        raise _fail(where, f"payload.statistic must be one of {', '.join(STATISTICS)}, got {raw!r}")
    return str(raw)


def _instances(payload: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    raw = payload.get("instances")
    if _empty(raw):
        return None
    found = values(raw, where, "instances")
    if not found or any(v in ALL for v in found):
        return None
    for value in found:
        if not _VALUE.match(value):
            raise _fail(where, f"payload.instances: {value!r} is not an instance id")
    if len(found) > MAX_SERIES:
        raise _fail(where, f"payload.instances names {len(found)} instances; at most {MAX_SERIES}")
    return tuple(found)


def curated_query(metric: Metric, payload: Mapping[str, Any], default_region: str) -> SeriesQuery:
    """The payload of a curated metric: region, instances, period, statistic (SCF: namespace)."""
    product = PRODUCTS[metric.product]
    allowed: tuple[str, ...] = ("region", "instances", "period", "statistic")
    scope = None
    if product.scope:
        key = product.scope.payload_key
        allowed = (*allowed, key)
        raw = payload.get(key)
        scope = product.scope.default if _empty(raw) else str(raw).strip()
        if not _VALUE.match(scope):
            raise _fail(metric.name, f"payload.{key} {scope!r} is not a namespace name")
    _check_keys(payload, allowed, metric.name)
    return SeriesQuery(
        region=_region(payload, default_region, metric.name),
        period=_period(payload, metric.name),
        statistic=_statistic(payload, metric.statistic, metric.name),
        instances=_instances(payload, metric.name),
        scope=scope,
    )


def generic_query(metric: Metric, payload: Mapping[str, Any], default_region: str) -> SeriesQuery:
    """The payload of the generic metric: namespace, metric, dimensions, and the rest."""
    where = metric.name
    allowed = ("region", "namespace", "metric", "dimensions", "period", "statistic", "unit")
    _check_keys(payload, allowed, where)
    namespace = str(payload.get("namespace") or "").strip()
    if not _NAMESPACE.match(namespace):
        example = "must name a namespace such as QCE/CVM"
        raise _fail(where, f"payload.namespace {example}, got {namespace!r}{empty_payload_hint(payload)}")
    name = str(payload.get("metric") or "").strip()
    if not _METRIC.match(name):
        raise _fail(where, f"payload.metric must name a metric such as CPUUsage, got {name!r}")
    unit = payload.get("unit")
    return SeriesQuery(
        region=_region(payload, default_region, where),
        period=_period(payload, where),
        statistic=_statistic(payload, None, where),
        namespace=namespace,
        metric=name,
        dimension_sets=dimension_sets(payload.get("dimensions"), where),
        unit=str(unit) if not _empty(unit) else metric.unit,
    )


def dimension_sets(raw: Any, where: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``{"InstanceId": "(a|b)"}`` or a list of such objects -> one sorted tuple per series."""
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _fail(where, "payload.dimensions is not valid JSON") from None
    objects = raw if isinstance(raw, list) else [raw]
    if not objects or not all(isinstance(o, dict) and o for o in objects):
        raise _fail(where, 'payload.dimensions must be an object such as {"InstanceId": "ins-1"} or a list')
    found: list[tuple[tuple[str, str], ...]] = []
    for obj in objects:
        names = sorted(obj)
        for name in names:
            if not _DIMENSION.match(name):
                raise _fail(where, f"payload.dimensions: {name!r} is not a dimension name")
        choices = [_dimension_values(obj[n], where, n) for n in names]
        for combo in itertools.product(*choices):
            key = tuple(zip(names, combo))
            if key not in found:
                found.append(key)
            if len(found) > MAX_SERIES:
                raise _fail(where, f"payload.dimensions gives more than {MAX_SERIES} series")
    return tuple(found)


def _dimension_values(raw: Any, where: str, name: str) -> list[str]:
    """The values of one dimension; none at all (``""``, ``[]``, ``","``) is a 400, not an empty panel."""
    found = values(raw, where, f"dimensions.{name}")
    if not found:
        raise _fail(
            where,
            f"payload.dimensions.{name} has no value (got {json.dumps(raw)}); name at least one, "
            "or leave the dimension out",
        )
    return found


def alarm_query(name: str, payload: Mapping[str, Any], default_region: str) -> AlarmQuery:
    """The payload of an alarm-history annotation: optional status, level and text filters."""
    _check_keys(payload, ("region", "status", "levels", "policy", "object"), name)
    statuses = _choices(payload.get("status"), ALARM_STATUSES, name, "status")
    levels = _choices(payload.get("levels"), ALARM_LEVELS, name, "levels")
    policy, alarm_object = payload.get("policy"), payload.get("object")
    return AlarmQuery(
        region=_region(payload, default_region, name),
        statuses=statuses,
        levels=levels,
        policy=None if _empty(policy) else str(policy),
        alarm_object=None if _empty(alarm_object) else str(alarm_object),
    )


def _choices(raw: Any, allowed: tuple[str, ...], where: str, field: str) -> tuple[str, ...]:
    if _empty(raw):
        return ()
    found = [v for v in values(raw, where, field) if v not in ALL]
    for value in found:
        if value not in allowed:
            raise _fail(where, f"payload.{field}: {value!r} is not one of {', '.join(allowed)}")
    return tuple(found)


def scope_value(product_name: str, payload: Mapping[str, Any], where: str) -> str | None:
    """The SCF namespace a variable or picker lists (``default`` unless given)."""
    product = PRODUCTS[product_name]
    if not product.scope:
        return None
    raw = payload.get(product.scope.payload_key)
    value = product.scope.default if _empty(raw) else str(raw).strip()
    if not _VALUE.match(value):
        raise _fail(where, f"payload.{product.scope.payload_key} {value!r} is not a namespace name")
    return value


def region_value(payload: Mapping[str, Any], default: str, where: str) -> str:
    """The region a variable or picker lists."""
    return _region(payload, default, where)
