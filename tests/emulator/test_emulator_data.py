"""Properties of the synthetic data, checked without the server."""

from __future__ import annotations

import statistics

import pytest

from labelhub_tools.emulator import data
from labelhub_tools.emulator.catalog import METRICS

DAY = 86400
# 2024-01-01T00:00:00+08:00
MIDNIGHT_BEIJING = 1704038400


def test_slots_are_aligned_in_beijing_time():
    assert data.slot_timestamps(MIDNIGHT_BEIJING + 1, MIDNIGHT_BEIJING + 300, 60) == [
        MIDNIGHT_BEIJING + 60 * n for n in range(1, 6)
    ]
    assert data.slot_timestamps(MIDNIGHT_BEIJING - 10, MIDNIGHT_BEIJING + 2 * DAY, DAY) == [
        MIDNIGHT_BEIJING,
        MIDNIGHT_BEIJING + DAY,
        MIDNIGHT_BEIJING + 2 * DAY,
    ]
    assert data.slot_timestamps(100, 50, 60) == []


def test_values_are_a_pure_function():
    args = ("QCE/CVM", "CPUUsage", "ins-gz0web01", MIDNIGHT_BEIJING + 600, 60)
    assert data.expected_value(*args) == data.expected_value(*args) is not None
    assert data.expected_value(*args) != data.expected_value("QCE/CVM", "CPUUsage", "ins-gz0web02", *args[3:])


def test_statistics_are_ordered_and_percentages_bounded():
    for spec in [s for table in METRICS.values() for s in table.values()]:
        for slot in range(MIDNIGHT_BEIJING, MIDNIGHT_BEIJING + DAY, 3 * 3600):
            key = {
                "QCE/CVM": "ins-gz0hot01",
                "QCE/CDB": "cdb-gz0hot01",
                "QCE/SCF_V2": "labelhub-dashboard-prod-cloudmonitor",
                "QCE/LB_PUBLIC": "198.51.100.20",
            }[spec.namespace]
            got = [
                data.expected_value(spec.namespace, spec.name, key, slot, 300, stat)
                for stat in ("min", "avg", "max")
            ]
            if None in got:
                continue
            assert got[0] <= got[1] <= got[2], spec.name
            if spec.kind == "percent":
                assert got[0] >= 0 and got[2] <= 100, spec.name


def test_diurnal_shape_peaks_in_the_afternoon():
    def level(hour):
        slots = [MIDNIGHT_BEIJING + d * DAY + hour * 3600 + 1200 for d in range(14)]
        values = [data.expected_value("QCE/CVM", "CPUUsage", "ins-gz0web01", t, 60, "avg") for t in slots]
        return statistics.mean(v for v in values if v is not None)

    assert level(16) > level(10) > level(4)


def test_gap_rate_is_small_and_silent_instances_have_nothing():
    slots = data.slot_timestamps(MIDNIGHT_BEIJING, MIDNIGHT_BEIJING + 7 * DAY, 300)
    timestamps, _ = data.series("QCE/CVM", "MemUsage", "ins-gz0web01", slots[0], slots[-1], 300)
    assert 0.005 < 1 - len(timestamps) / len(slots) < 0.06
    assert data.series("QCE/CVM", "MemUsage", "ins-gz0sil01", slots[0], slots[-1], 300) == ([], [])


def test_count_sums_are_integers_and_scale_with_the_period():
    slot = MIDNIGHT_BEIJING + 15 * 3600 + 1200
    key = "labelhub-dashboard-dev-business"
    per_minute = data.expected_value("QCE/SCF_V2", "Invocation", key, slot, 60)
    per_hour = data.expected_value("QCE/SCF_V2", "Invocation", key, slot - 1200, 3600)
    assert per_minute.is_integer() and per_hour.is_integer()
    assert per_hour > 20 * per_minute


def test_unknown_metric_and_statistic_are_refused():
    with pytest.raises(KeyError):
        data.expected_value("QCE/CVM", "NoSuchMetric", "ins-gz0web01", MIDNIGHT_BEIJING)
    with pytest.raises(ValueError):
        data.expected_value("QCE/CVM", "CPUUsage", "ins-gz0web01", MIDNIGHT_BEIJING, 60, "sum")
