"""Choosing ``Period`` and the batch size for a GetMonitorData query, and the slot grid.

Rules (docs/cloudmonitor.md, "Period selection"):

* an explicit period wins, if the metric supports it and the rest allows it;
* otherwise the smallest supported period at least as wide as the panel's
  interval (``resolve_interval_ms``: intervalMs, maxDataPoints, alert defaults)
  and as ``min_period`` (``CLOUD_API_MIN_PERIOD_S``, a cost floor);
* a period is only usable if its retention reaches back to the range start
  (under 60 s: 1 day; 60 s and 300 s: 31 days; up to 1 h: 93 days; longer: 186
  days) and one series of it fits the points cap of a call;
* instances per call = min(instances cap, points cap // slots per series).

An impossible combination is a 400 that says why. Slots start on period
boundaries in Beijing time (UTC+8), which differs from UTC only for daily data.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_scf.errors import BadRequestError
from grafana_scf.timerange import TimeRange, resolve_interval_ms

BEIJING_OFFSET_S = 8 * 3600
DAY_S = 86_400
RETENTION_S = ((59, DAY_S), (300, 31 * DAY_S), (3600, 93 * DAY_S), (None, 186 * DAY_S))


class PeriodError(BadRequestError):
    """No period can answer this query (400, with the reason)."""


def retention_s(period: int) -> int:
    """How far back Cloud Monitor keeps data at ``period``."""
    for upper, kept in RETENTION_S:
        if upper is None or period <= upper:
            return kept
    raise AssertionError("unreachable")  # pragma: no cover


def first_slot(start_s: int, period: int) -> int:
    """The first slot start at or after ``start_s``."""
    return -(-(start_s + BEIJING_OFFSET_S) // period) * period - BEIJING_OFFSET_S


def last_slot(end_s: int, period: int) -> int:
    """The last slot start at or before ``end_s``."""
    return (end_s + BEIJING_OFFSET_S) // period * period - BEIJING_OFFSET_S


def slot_grid(start_s: int, end_s: int, period: int) -> list[int]:
    """Every slot start in [start_s, end_s], in seconds."""
    return list(range(first_slot(start_s, period), end_s + 1, period))


def slot_count(start_s: int, end_s: int, period: int) -> int:
    return max(0, (last_slot(end_s, period) - first_slot(start_s, period)) // period + 1)


@dataclass(frozen=True)
class PeriodPlan:
    """The chosen period, how many slots one series has, and instances per call."""

    period: int
    slots: int
    batch_size: int
    wanted_s: float


def _days(seconds: int) -> str:
    return f"{round(seconds / DAY_S, 1):g} days"


def _problem(period: int, start_s: int, slots: int, now_s: int, points_cap: int) -> str | None:
    """Why ``period`` cannot serve the range, or None when it can."""
    kept = retention_s(period)
    if start_s < now_s - kept:
        return (
            f"period {period} s data is kept {_days(kept)} and the range starts {_days(now_s - start_s)} ago"
        )
    if slots > points_cap:
        return f"period {period} s gives {slots} points per series, over the {points_cap} a call may return"
    return None


def choose_period(
    time_range: TimeRange,
    supported: tuple[int, ...],
    now_s: int,
    *,
    explicit: int | None = None,
    interval_ms: int | None = None,
    max_data_points: int | None = None,
    instances_cap: int = 10,
    points_cap: int = 1440,
    min_period: int = 0,
) -> PeriodPlan:
    """The period plan for one query, or ``PeriodError`` saying why none works."""
    start_s, end_s = time_range.from_s, time_range.to_s
    wanted_s = max(resolve_interval_ms(time_range, interval_ms, max_data_points) / 1000, min_period)
    periods = sorted(set(supported))
    if explicit is not None:
        if explicit not in periods:
            raise PeriodError(f"period {explicit} s is not offered by this metric (periods: {periods})")
        candidates = [explicit]
    else:
        wider = [p for p in periods if p >= wanted_s]
        narrower = [p for p in reversed(periods) if p < wanted_s]
        candidates = wider + narrower
    problems = []
    for period in candidates:
        slots = slot_count(start_s, end_s, period)
        problem = _problem(period, start_s, slots, now_s, points_cap)
        if problem is None:
            batch = max(1, min(instances_cap, points_cap // max(slots, 1)))
            return PeriodPlan(period, slots, batch, wanted_s)
        problems.append(problem)
    raise PeriodError("no usable period: " + "; ".join(problems))
