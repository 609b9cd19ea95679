"""Monitor (2018-07-24) actions: GetMonitorData, DescribeBaseMetrics, DescribeAlarmHistories.

Each handler takes the ``ActionContext`` and the request parameters and returns the
``Response`` payload without ``RequestId``; errors are raised as ``ApiError``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from labelhub_tools.emulator import alarms, data, inventory
from labelhub_tools.emulator.catalog import NAMESPACES, MetricSpec, find_metric, metrics_of
from labelhub_tools.emulator.context import RETENTION_SECONDS, ActionContext
from labelhub_tools.emulator.errors import (
    LIMIT_EXCEEDED,
    MONITOR_LIMITED_ACCESS,
    ApiError,
    invalid_type,
    invalid_value,
    missing,
)
from labelhub_tools.emulator.params import (
    check_known,
    format_time,
    get_int,
    get_list,
    get_str,
    get_str_list,
    parse_time,
)

GET_MONITOR_DATA_PARAMS = (
    "Namespace",
    "MetricName",
    "Instances",
    "Period",
    "StartTime",
    "EndTime",
    "SpecifyStatistics",
)
DESCRIBE_BASE_METRICS_PARAMS = ("Namespace", "MetricName", "Dimensions")
STATISTIC_BITS = (("avg", 1, "AvgValues"), ("max", 2, "MaxValues"), ("min", 4, "MinValues"))


def _metric(params: dict[str, Any]) -> MetricSpec:
    namespace = get_str(params, "Namespace", required=True)
    name = get_str(params, "MetricName", required=True)
    if namespace not in NAMESPACES:
        raise invalid_value("Namespace", f"{namespace!r} is not a supported namespace")
    spec = find_metric(namespace, name)
    if spec is None:
        raise invalid_value("MetricName", f"{name!r} is not a metric of {namespace}")
    return spec


def _dimension_sets(params: dict[str, Any], max_instances: int) -> list[list[dict[str, str]]]:
    """The ``Instances`` parameter as a list of dimension lists, validated."""
    instances = get_list(params, "Instances", required=True)
    if not instances:
        raise missing("Instances")
    if len(instances) > max_instances:
        raise ApiError(
            MONITOR_LIMITED_ACCESS,
            f"Too many instances: {len(instances)} in one request, at most {max_instances}.",
        )
    result = []
    for n, item in enumerate(instances):
        dims = item.get("Dimensions") if isinstance(item, dict) else None
        if not (
            isinstance(dims, list)
            and dims
            and all(
                isinstance(d, dict) and isinstance(d.get("Name"), str) and isinstance(d.get("Value"), str)
                for d in dims
            )
        ):
            raise invalid_type(f"Instances.{n}.Dimensions", "a non-empty array of {Name, Value}")
        result.append([{"Name": d["Name"], "Value": d["Value"]} for d in dims])
    return result


def _time_range(ctx: ActionContext, params: dict[str, Any], period: int) -> tuple[int, int]:
    start_raw = get_str(params, "StartTime", required=True)
    end_raw = get_str(params, "EndTime")
    start = parse_time("StartTime", start_raw)
    end = parse_time("EndTime", end_raw) if end_raw else int(ctx.now)
    if end < start:
        raise invalid_value("EndTime", "EndTime must not be earlier than StartTime")
    retention = RETENTION_SECONDS[period]
    if start < ctx.now - retention:
        raise invalid_value("StartTime", f"data at period {period} s is kept for {retention // 86400} days")
    return start, end


def _datapoint(
    ctx: ActionContext,
    spec: MetricSpec,
    dims: list[dict[str, str]],
    window: tuple[int, int, int],
    statistics: int,
) -> dict[str, Any] | None:
    """One DataPoint; None for an instance that exists but reports nothing."""
    start, end, period = window
    point: dict[str, Any] = {"Dimensions": dims, "Timestamps": [], "Values": []}
    for _, _, field in STATISTIC_BITS:
        point[field] = None
    mapping = {d["Name"]: d["Value"] for d in dims}
    instance = inventory.resolve(spec.namespace, mapping, ctx.region or "")
    if instance is None:
        return point
    if instance.behaviour == "silent":
        return None
    end = min(end, int(ctx.now) - ctx.limits.ingest_delay)
    args = (spec.namespace, spec.name, instance.key, start, end, period)
    point["Timestamps"], point["Values"] = data.series(*args)
    for statistic, bit, field in STATISTIC_BITS:
        if statistics & bit:
            point[field] = data.series(*args, statistic)[1]
    return point


def _order_key(point: dict[str, Any]) -> str:
    """DataPoints come back in a stable order unrelated to the request's order."""
    return hashlib.sha256(json.dumps(point["Dimensions"], sort_keys=True).encode()).hexdigest()


def get_monitor_data(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """GetMonitorData: one metric for up to N instances over a time range."""
    check_known(params, GET_MONITOR_DATA_PARAMS)
    spec = _metric(params)
    dimension_sets = _dimension_sets(params, ctx.limits.max_instances)
    period = get_int(params, "Period", default=300)
    if period not in spec.periods:
        raise invalid_value("Period", f"{spec.name} supports periods {list(spec.periods)}, not {period}")
    statistics = get_int(params, "SpecifyStatistics", default=0, minimum=0, maximum=7)
    start, end = _time_range(ctx, params, period)
    points = len(data.slot_timestamps(start, end, period)) * len(dimension_sets)
    if points > ctx.limits.max_points:
        raise ApiError(
            LIMIT_EXCEEDED,
            f"The request asks for {points} data points; at most {ctx.limits.max_points} "
            "per request. Shorten the range, raise Period or send fewer instances.",
        )
    window = (start, end, period)
    found = [_datapoint(ctx, spec, dims, window, statistics) for dims in dimension_sets]
    return {
        "Period": period,
        "MetricName": spec.name,
        "DataPoints": sorted((p for p in found if p is not None), key=_order_key),
        "StartTime": format_time(start),
        "EndTime": format_time(end),
        "Msg": "",
    }


def describe_base_metrics(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeBaseMetrics: the catalogue of a namespace, optionally filtered."""
    check_known(params, DESCRIBE_BASE_METRICS_PARAMS)
    namespace = get_str(params, "Namespace", required=True)
    name = get_str(params, "MetricName")
    wanted = set(get_str_list(params, "Dimensions"))
    metric_set = []
    for spec in metrics_of(namespace):
        if name and spec.name.lower() != name.lower():
            continue
        combos = NAMESPACES[namespace].combinations
        if wanted and not any(wanted <= set(combo) for combo in combos):
            continue
        metric_set.append(spec.describe())
    return {"MetricSet": metric_set}


def describe_alarm_histories(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeAlarmHistories: synthetic alarm records, filtered and paged."""
    return alarms.describe_alarm_histories(ctx, params)
