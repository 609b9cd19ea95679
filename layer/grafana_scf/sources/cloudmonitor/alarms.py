"""Alarm history for annotations: DescribeAlarmHistories, paged, filtered by the payload.

The API filters on ``FirstOccurTime`` (unix seconds) within the range, so an
alarm that opened before the range is not returned even if it was still firing.
At most ``MAX_PAGES`` pages of 100 are read; the caller is told when more exist.
"""

from __future__ import annotations

from typing import Any

from grafana_scf.sources.cloudmonitor.api import CallStats, CloudApi
from grafana_scf.sources.cloudmonitor.payload import AlarmQuery
from grafana_scf.timerange import TimeRange

PAGE_SIZE = 100
MAX_PAGES = 10


def alarm_params(query: AlarmQuery, time_range: TimeRange, page: int) -> dict[str, Any]:
    """The DescribeAlarmHistories request for one page."""
    params: dict[str, Any] = {
        "Module": "monitor",
        "PageNumber": page,
        "PageSize": PAGE_SIZE,
        "Order": "ASC",
        "StartTime": time_range.from_s,
        "EndTime": max(time_range.to_s, time_range.from_s),
    }
    if query.statuses:
        params["AlarmStatus"] = list(query.statuses)
    if query.levels:
        params["AlarmLevels"] = list(query.levels)
    if query.policy:
        params["PolicyName"] = query.policy
    if query.alarm_object:
        params["AlarmObject"] = query.alarm_object
    return params


def alarm_histories(
    api: CloudApi, query: AlarmQuery, time_range: TimeRange, stats: CallStats, deadline: float
) -> tuple[list[dict[str, Any]], int]:
    """Histories whose first occurrence is in the range, and the total the API reports."""
    found: list[dict[str, Any]] = []
    total = 0
    for page in range(1, MAX_PAGES + 1):
        params = alarm_params(query, time_range, page)
        answer = api.monitor("DescribeAlarmHistories", query.region, params, stats, deadline)
        histories = answer.get("Histories") or []
        total = int(answer.get("TotalCount") or 0)
        found.extend(histories)
        if not histories or len(found) >= total:
            break
    return found, total
