"""Rows -> frames: column types, epoch detection, labels, fill. No database needed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from grafana_scf.sources.mysql.compiler import Fill
from grafana_scf.sources.mysql.shaping import ShapeError, apply_fill, table_frame, time_series_frames

LONGLONG, DOUBLE, NEWDECIMAL, DATETIME, VARCHAR, DATE = 8, 5, 246, 12, 253, 10
T0 = dt.datetime(2024, 1, 1)
T0_MS = 1_704_067_200_000


def series(columns, rows, fill=None, range_ms=(T0_MS, T0_MS + 3_600_000)):
    return time_series_frames("e", columns, rows, fill, range_ms)


@pytest.mark.parametrize(
    ("type_code", "value", "expected"),
    [
        (DATETIME, T0, T0_MS),
        (DATETIME, T0 + dt.timedelta(microseconds=1500), T0_MS + 1),
        (LONGLONG, T0_MS // 1000, T0_MS),
        (LONGLONG, T0_MS, T0_MS),
        (NEWDECIMAL, Decimal(T0_MS // 1000), T0_MS),
        (DATE, T0.date(), T0_MS),
    ],
)
def test_time_column_forms(type_code, value, expected):
    (frame,) = series([("time", type_code), ("v", LONGLONG)], [(value, 1)])
    assert frame.fields[0].values == [expected]


def test_decimals_become_floats_and_ints_stay_ints():
    (frame,) = series([("time", DATETIME), ("v", NEWDECIMAL)], [(T0, Decimal("2.50"))])
    assert frame.fields[1].values == [2.5] and isinstance(frame.fields[1].values[0], float)
    (frame,) = series([("time", DATETIME), ("v", LONGLONG)], [(T0, 7)])
    assert frame.fields[1].values == [7]


def test_string_columns_become_labels_and_each_value_column_a_series():
    columns = [("time", DATETIME), ("region", VARCHAR), ("a", LONGLONG), ("b", DOUBLE)]
    rows = [(T0, "x", 1, 1.5), (T0, "y", 2, 2.5)]
    frames = series(columns, rows)
    keys = [(f.fields[1].name, f.fields[1].labels["region"], f.fields[1].values[0]) for f in frames]
    assert keys == [("a", "x", 1), ("b", "x", 1.5), ("a", "y", 2), ("b", "y", 2.5)]


def test_metric_column_names_the_series():
    columns = [("time", DATETIME), ("metric", VARCHAR), ("value", LONGLONG)]
    frames = series(columns, [(T0, "cpu", 1), (T0, "mem", 2)])
    assert [(f.name, f.fields[1].labels) for f in frames] == [("cpu", {}), ("mem", {})]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([("t", DATETIME), ("v", LONGLONG)], "needs a column named time or time_sec"),
        ([("time", DATETIME), ("name", VARCHAR)], "needs at least one numeric column"),
    ],
)
def test_unusable_columns_are_a_catalog_error(columns, message):
    with pytest.raises(ShapeError, match=message):
        series(columns, [])


MINUTE = 60_000


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        (Fill(MINUTE, "value", 0.0), [1, 0.0, 0.0, 4]),
        (Fill(MINUTE, "null"), [1, None, None, 4]),
        (Fill(MINUTE, "previous"), [1, 1, 1, 4]),
    ],
)
def test_fill_modes_cover_every_bucket(fill, expected):
    times, values = apply_fill([0, 3 * MINUTE], [1, 4], fill, (30_000, 3 * MINUTE + 10))
    assert times == [0, MINUTE, 2 * MINUTE, 3 * MINUTE]
    assert values == expected


def test_empty_result_with_fill_is_a_zero_series():
    (frame,) = series([("time", LONGLONG), ("n", LONGLONG)], [], Fill(1_800_000, "value", 0.0))
    assert frame.fields[1].values == [0.0, 0.0, 0.0]


def test_table_types():
    frame = table_frame("t", [("when", DATETIME), ("n", NEWDECIMAL), ("s", VARCHAR)], [(T0, Decimal(1), "a")])
    assert [(f.name, f.type, f.values) for f in frame.fields] == [
        ("when", "time", [T0_MS]),
        ("n", "number", [1.0]),
        ("s", "string", ["a"]),
    ]
