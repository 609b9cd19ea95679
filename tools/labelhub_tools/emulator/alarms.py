"""Synthetic alarm history for DescribeAlarmHistories, consistent with the metric data.

Alarms follow the misbehaving instances: every hourly spike of a ``hot`` CVM, CDB or
SCF function opens an alarm at the spike's first minute and closes 10 minutes later,
and every ``silent`` CVM raises a daily NO_DATA alarm. Records are a pure function
of time, so any window can be asked for; only records that began before ``now``
exist, and only for the last 186 days.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from labelhub_tools.emulator import data, inventory
from labelhub_tools.emulator.catalog import NAMESPACES, find_metric
from labelhub_tools.emulator.context import ActionContext
from labelhub_tools.emulator.errors import invalid_value
from labelhub_tools.emulator.inventory import Instance
from labelhub_tools.emulator.params import check_known, get_int, get_list, get_str, get_str_list

HISTORY_SECONDS = 186 * 86400
PARAMS = (
    "Module",
    "PageNumber",
    "PageSize",
    "Order",
    "StartTime",
    "EndTime",
    "MonitorTypes",
    "AlarmObject",
    "AlarmStatus",
    "ProjectIds",
    "InstanceGroupIds",
    "Namespaces",
    "MetricNames",
    "PolicyName",
    "Content",
    "ReceiverUids",
    "ReceiverGroups",
    "PolicyIds",
    "AlarmLevels",
    "ConvergenceHistoryIDs",
    "AlarmTypes",
    "ShieldStatus",
)


@dataclass(frozen=True)
class AlarmRule:
    """An alarm policy and which instances trip it, how often and for how long."""

    policy_id: str
    policy_name: str
    policy_type: str
    namespace: str
    metric: str
    behaviour: str
    level: str
    every: int
    duration: int
    condition: str
    firing_status: str = "ALARM"
    resolves: bool = True


RULES = (
    AlarmRule(
        "policy-cvm0cpu1",
        "cvm-cpu-high",
        "cvm_device",
        "QCE/CVM",
        "CPUUsage",
        "hot",
        "Serious",
        3600,
        600,
        "CPUUsage > 85%",
    ),
    AlarmRule(
        "policy-cdb0cpu1",
        "cdb-cpu-high",
        "cdb_detail",
        "QCE/CDB",
        "CpuUseRate",
        "hot",
        "Warn",
        3600,
        600,
        "CpuUseRate > 85%",
    ),
    AlarmRule(
        "policy-scf0err1",
        "scf-errors",
        "scf_v2",
        "QCE/SCF_V2",
        "Error",
        "hot",
        "Remind",
        3600,
        600,
        "Error > 3",
    ),
    AlarmRule(
        "policy-cvm0nod1",
        "cvm-no-data",
        "cvm_device",
        "QCE/CVM",
        "CPUUsage",
        "silent",
        "Warn",
        86400,
        86400,
        "CPUUsage no data",
        "NO_DATA",
        resolves=False,
    ),
)


@dataclass(frozen=True)
class Occurrence:
    """One alarm record before it is rendered: rule, instance and first occurrence."""

    rule: AlarmRule
    instance: Instance
    first: int

    @property
    def last(self) -> int:
        """When the alarm stopped (or will stop) firing."""
        return self.first + self.rule.duration - (60 if self.rule.behaviour == "hot" else 0)


def _occurrences(start: int, end: int) -> list[Occurrence]:
    found = []
    for rule in RULES:
        for instance in inventory.instances(NAMESPACES[rule.namespace].product):
            if instance.behaviour != rule.behaviour:
                continue
            delay = 60 if rule.behaviour == "hot" else 0
            for slot in data.slot_timestamps(start - delay, end - delay, rule.every):
                found.append(Occurrence(rule, instance, slot + delay))
    return found


def _matches(item: Occurrence, params: dict[str, Any], status: str) -> bool:
    rule, instance = item.rule, item.instance
    namespaces = {n.get("Namespace") for n in get_list(params, "Namespaces") if isinstance(n, dict)}
    checks = (
        ("MonitorTypes", "MT_QCE"),
        ("AlarmStatus", status),
        ("AlarmLevels", rule.level),
        ("MetricNames", rule.metric),
        ("PolicyIds", rule.policy_id),
        ("ProjectIds", "0"),
    )
    if any(get_str_list(params, name) and value not in get_str_list(params, name) for name, value in checks):
        return False
    if namespaces and rule.policy_type not in namespaces:
        return False
    text_filters = (
        ("AlarmObject", f"{instance.name}({instance.resource_id})"),
        ("PolicyName", rule.policy_name),
        ("Content", rule.condition),
    )
    return all((get_str(params, name) or "") in value for name, value in text_filters)


def _status(item: Occurrence, now: float) -> str:
    if item.rule.resolves and item.last <= now:
        return "OK"
    return item.rule.firing_status


def _peak(item: Occurrence) -> float | None:
    rule = item.rule
    if rule.behaviour != "hot":
        return None
    slots = range(item.first - 60, item.first - 60 + rule.duration, 60)
    values = [data.expected_value(rule.namespace, rule.metric, item.instance.key, t, 60) for t in slots]
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _render(item: Occurrence, now: float) -> dict[str, Any]:
    rule, instance = item.rule, item.instance
    spec = find_metric(rule.namespace, rule.metric)
    if spec is None:
        raise LookupError(f"alarm rule {rule.policy_id}: no metric {rule.namespace}/{rule.metric}")
    peak = _peak(item)
    value = "" if peak is None else f"{peak:g}"
    unit = spec.unit if spec.unit == "%" else f" {spec.unit}"
    content = rule.condition + (f", current value {value}{unit}" if value else "")
    alarm_id = hashlib.sha256(f"{rule.policy_id}|{instance.key}|{item.first}".encode())
    return {
        "AlarmId": "alarm-" + alarm_id.hexdigest()[:12],
        "MonitorType": "MT_QCE",
        "Namespace": rule.policy_type,
        "AlarmObject": f"{instance.name}({instance.resource_id})",
        "Content": content,
        "FirstOccurTime": item.first,
        "LastOccurTime": min(item.last, int(now)),
        "AlarmStatus": _status(item, now),
        "PolicyId": rule.policy_id,
        "PolicyName": rule.policy_name,
        "VPC": "",
        "ProjectId": 0,
        "ProjectName": "默认项目",
        "InstanceGroup": [],
        "ReceiverUids": [],
        "ReceiverGroups": [],
        "NoticeWays": ["EMAIL", "SMS"],
        "AlarmType": "METRIC",
        "Region": instance.region,
        "PolicyExists": 1,
        "MetricsInfo": [
            {
                "QceNamespace": rule.namespace.lower(),
                "MetricName": rule.metric,
                "Period": 60,
                "Value": value,
                "Description": rule.condition,
            }
        ],
        "Dimensions": json.dumps(dict(instance.match)),
        "AlarmLevel": rule.level,
        "ShieldFlag": 0,
        "MetricName": rule.metric,
    }


def describe_alarm_histories(ctx: ActionContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeAlarmHistories: records whose FirstOccurTime is in [StartTime, EndTime]."""
    check_known(params, PARAMS)
    module = get_str(params, "Module", required=True)
    if module != "monitor":
        raise invalid_value("Module", "must be monitor")
    page = get_int(params, "PageNumber", default=1, minimum=1)
    size = get_int(params, "PageSize", default=20, minimum=1, maximum=100)
    order = get_str(params, "Order") or "DESC"
    if order not in ("ASC", "DESC"):
        raise invalid_value("Order", "must be ASC or DESC")
    now = int(ctx.now)
    end = min(get_int(params, "EndTime", default=now), now)
    start = max(get_int(params, "StartTime", default=end - 86400), now - HISTORY_SECONDS)
    if end < start:
        raise invalid_value("EndTime", "EndTime must not be earlier than StartTime")
    found = [
        o
        for o in _occurrences(start, end)
        if start <= o.first <= end and _matches(o, params, _status(o, now))
    ]
    found.sort(key=lambda o: (o.first, o.instance.key), reverse=order == "DESC")
    chosen = found[(page - 1) * size : page * size]
    return {"TotalCount": len(found), "Histories": [_render(o, now) for o in chosen]}
