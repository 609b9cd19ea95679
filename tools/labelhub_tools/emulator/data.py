"""Deterministic synthetic metric values: a pure function of namespace, metric,
instance, slot timestamp, period and statistic.

Tests compute what the emulator must answer by calling ``series`` or
``expected_value`` themselves. The ``instance`` argument is the value of the
namespace's primary dimension: the InstanceId for QCE/CVM and QCE/CDB, the
functionName for QCE/SCF_V2, the vip for QCE/LB_PUBLIC.

Shape of the data:

* slots start on period boundaries in Beijing time (UTC+8; only 86400 s differs
  from UTC alignment), from the first boundary at or after the start time;
* a diurnal curve (low at 04:00, high at 16:00 Beijing time), a per-instance scale
  and about 10 % of noise;
* about 3 % of slots are missing for every instance (gaps: no timestamp at all);
* the misbehaving instances described in ``inventory`` add spikes, long gaps,
  ``null`` values or no data at all.
"""

from __future__ import annotations

import hashlib
import math

from labelhub_tools.emulator.catalog import MetricSpec, find_metric
from labelhub_tools.emulator.inventory import behaviour_of

BEIJING_OFFSET = 8 * 3600
GAP_RATE = 0.03
NULL_RATE = 0.2
SPIKE_SECONDS = 600
GAPPY_WINDOW = (1800, 2700)
HOT_THRESHOLD = 85.0


def slot_timestamps(start: int, end: int, period: int) -> list[int]:
    """Slot start times within [start, end], aligned to ``period`` in Beijing time."""
    first = -(-(start + BEIJING_OFFSET) // period) * period - BEIJING_OFFSET
    return list(range(first, end + 1, period))


def _fraction(*parts: object) -> float:
    """A reproducible pseudo-random number in [0, 1) derived from ``parts``."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def metric_spec(namespace: str, metric_name: str) -> MetricSpec:
    """The catalogue entry of a metric; ``KeyError`` if the emulator does not know it."""
    spec = find_metric(namespace, metric_name)
    if spec is None:
        raise KeyError(f"unknown metric {namespace}/{metric_name}")
    return spec


def slot_state(namespace: str, metric_name: str, instance: str, timestamp: int) -> str:
    """``ok``, ``gap`` (no timestamp) or ``null`` (timestamp with a null value)."""
    name = metric_spec(namespace, metric_name).name
    behaviour = behaviour_of(namespace, instance)
    if behaviour == "silent":
        return "gap"
    if _fraction("gap", namespace, name, instance, timestamp) < GAP_RATE:
        return "gap"
    if behaviour == "gappy" and GAPPY_WINDOW[0] <= timestamp % 3600 < GAPPY_WINDOW[1]:
        return "gap"
    if behaviour == "flaky" and _fraction("null", namespace, name, instance, timestamp) < NULL_RATE:
        return "null"
    return "ok"


def _level(spec: MetricSpec, instance: str, timestamp: int, period: int) -> float:
    """The average level of a slot: diurnal curve times instance scale, plus noise."""
    parts = (spec.namespace, spec.name, instance)
    scale = 0.8 + 0.4 * _fraction("scale", *parts)
    phase = ((timestamp + period / 2 + BEIJING_OFFSET) % 86400) / 86400
    diurnal = 0.5 - 0.5 * math.cos(2 * math.pi * (phase - 4 / 24))
    level = spec.base * scale * (1 - spec.swing + 2 * spec.swing * diurnal)
    noise = 0.1 * min(1.0, spec.swing * 4)
    level *= 1 + noise * (2 * _fraction("noise", *parts, timestamp) - 1)
    if behaviour_of(spec.namespace, instance) == "hot" and timestamp % 3600 < SPIKE_SECONDS:
        if spec.kind == "percent":
            return HOT_THRESHOLD + 1 + 12 * _fraction("spike", *parts, timestamp)
        level *= 20 if spec.kind == "count" else 3
    return min(level, 100.0) if spec.kind == "percent" else level


def _statistic(spec: MetricSpec, level: float, statistic: str, period: int, jitter: float) -> float:
    """One statistic of a slot from its level; counts are summed, others averaged."""
    if spec.kind == "count":
        if statistic == "sum":
            return float(math.floor(level * period / 60 + jitter))
        level *= min(1.0, period / 60)
    spread = min(0.6, 0.04 * math.sqrt(period / 60)) * (0.5 + jitter)
    value = {"avg": level, "max": level * (1 + spread), "min": level * (1 - spread)}[statistic]
    if spec.kind == "percent":
        value = min(value, 100.0)
    return round(value, 3)


def _check_statistic(spec: MetricSpec, statistic: str) -> None:
    allowed = ("avg", "max", "min", "sum") if spec.kind == "count" else ("avg", "max", "min")
    if statistic not in allowed:
        raise ValueError(f"{spec.name} has no statistic {statistic!r}; use one of {allowed}")


def expected_value(
    namespace: str,
    metric_name: str,
    instance: str,
    timestamp: int,
    period: int = 300,
    statistic: str | None = None,
) -> float | None:
    """The value the emulator reports for one slot, or None when the slot has no value.

    ``statistic`` is ``avg``, ``max``, ``min`` or (count metrics) ``sum``; by default
    the metric's default statistic at that period, which is what ``Values`` carries.
    ``timestamp`` must be a slot start (see ``slot_timestamps``).
    """
    spec = metric_spec(namespace, metric_name)
    statistic = statistic or spec.default_statistic(period)
    _check_statistic(spec, statistic)
    if slot_state(namespace, spec.name, instance, timestamp) != "ok":
        return None
    level = _level(spec, instance, timestamp, period)
    jitter = _fraction("jitter", namespace, spec.name, instance, timestamp)
    return _statistic(spec, level, statistic, period, jitter)


def series(
    namespace: str,
    metric_name: str,
    instance: str,
    start: int,
    end: int,
    period: int = 300,
    statistic: str | None = None,
) -> tuple[list[int], list[float | None]]:
    """``(Timestamps, Values)`` exactly as one DataPoint carries them for [start, end].

    Gaps are left out; ``null`` slots keep their timestamp with a None value. The
    emulator additionally drops slots newer than its ingest delay (see docs).
    """
    timestamps: list[int] = []
    values: list[float | None] = []
    for slot in slot_timestamps(start, end, period):
        if slot_state(namespace, metric_name, instance, slot) == "gap":
            continue
        timestamps.append(slot)
        values.append(expected_value(namespace, metric_name, instance, slot, period, statistic))
    return timestamps, values
