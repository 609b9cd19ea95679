"""Rows from MySQL -> Grafana frames (time series, table, annotations, variables).

Time series follow Grafana's MySQL rules: a ``time`` (or ``time_sec``) column,
string columns become labels, numeric columns become values, and a ``metric``
column names the series. Each (labels, value column) pair is one frame of
``[time, value]``, so every series is unique by name and labels and the answer
is dataplane ``timeseries-multi``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from grafana_scf.errors import ServiceError
from grafana_scf.frames import Field, Frame, series_frame
from grafana_scf.sources.mysql.buckets import check_answer_size, check_buckets, fill_window
from grafana_scf.sources.mysql.compiler import Fill

_EPOCH = dt.datetime(1970, 1, 1)
_NUMBER_TYPES = {0, 1, 2, 3, 4, 5, 8, 9, 13, 16, 246}
_TIME_TYPES = {7, 10, 12, 14}
_TIME_NAMES = ("time", "time_sec")


class ShapeError(ServiceError):
    """The catalog SQL returned columns its format cannot use (a catalog bug: 500)."""


def field_type(type_code: int) -> str:
    if type_code in _NUMBER_TYPES:
        return "number"
    if type_code in _TIME_TYPES:
        return "time"
    return "string"


def to_epoch_ms(value: Any) -> int | None:
    """DATETIME (naive, UTC session), DATE, or epoch seconds/ms -> epoch ms."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if isinstance(value, dt.date):
        return (value - _EPOCH.date()).days * 86_400_000
    number = float(value)
    return int(number * 1000) if abs(number) < 1e11 else int(number)


def to_number(value: Any) -> float | int | None:
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return float(value)


def to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"time": to_epoch_ms, "number": to_number, "string": to_text}
Row = tuple[Any, ...]  # one result row, as PyMySQL returns it
# PyMySQL already returns int/float for these (no per-value conversion needed).
_NATIVE_NUMBER_TYPES = {1, 2, 3, 4, 5, 8, 9, 13}
_DATETIME_TYPES = {7, 12}
_ONE_MS = dt.timedelta(milliseconds=1)


def _column(rows: Sequence[Row], index: int, kind: str, type_code: int | None = None) -> list[Any]:
    """One column's values converted for ``kind``; the common types take a fast path."""
    raw = [row[index] for row in rows]
    if kind == "number" and type_code in _NATIVE_NUMBER_TYPES:
        return raw
    if kind == "time" and type_code in _DATETIME_TYPES:
        return [None if v is None else (v - _EPOCH) // _ONE_MS for v in raw]
    if kind == "time" and type_code in _NATIVE_NUMBER_TYPES:
        return _epoch_column(raw)
    convert = _CONVERTERS[kind]
    return [convert(v) for v in raw]


def _epoch_column(raw: list[Any]) -> list[Any]:
    """Epoch numbers to ms: seconds (below 1e11, as ``time_sec``) are scaled by 1000."""
    first = next((v for v in raw if v is not None), None)
    if first is None or abs(first) >= 1e11:
        return [None if v is None else int(v) for v in raw]
    return [None if v is None else int(v * 1000) for v in raw]


def table_frame(name: str, columns: list[tuple[str, int]], rows: Sequence[Row]) -> Frame:
    """Every column, typed; DATETIME columns as epoch ms."""
    fields = []
    for index, (column, type_code) in enumerate(columns):
        kind = field_type(type_code)
        fields.append(Field(column, kind, _column(rows, index, kind, type_code)))  # type: ignore[arg-type]
    return Frame(name, fields, meta={"type": "table", "typeVersion": [0, 0]})


def time_series_frames(
    entry_name: str,
    columns: list[tuple[str, int]],
    rows: Sequence[Row],
    fill: Fill | None,
    range_ms: tuple[int, int],
    truncated: bool = False,
    max_buckets: int | None = None,
    max_answer_bytes: int | None = None,
) -> list[Frame]:
    """Long rows -> one ``[time, value]`` frame per (labels, value column).

    ``truncated``: the rows were cut at the row cap. Rows come in time order, so the
    rows after the cut are at or after the last time seen: the fill stops before that
    time, and the last bucket keeps only the values the rows hold. No zero is made up
    for a bucket the database was never asked to finish.

    With a fill, the caps are checked before any series is filled: buckets per series
    (``max_buckets``) and the least size of the answer (``max_answer_bytes``)."""
    names = [c[0] for c in columns]
    time_index = next((i for i, n in enumerate(names) if n.lower() in _TIME_NAMES), None)
    if time_index is None:
        raise ShapeError(f"{entry_name}: a time series needs a column named time or time_sec; got {names}")
    kinds = [field_type(code) for _, code in columns]
    metric_index = next((i for i, n in enumerate(names) if n.lower() == "metric"), None)
    label_indexes = [i for i, k in enumerate(kinds) if k == "string" and i not in (time_index, metric_index)]
    value_indexes = [i for i, k in enumerate(kinds) if k == "number" and i != time_index]
    if not value_indexes:
        raise ShapeError(f"{entry_name}: a time series needs at least one numeric column; got {names}")
    times = _column(rows, time_index, "time", columns[time_index][1])
    cut_ms = max((t for t in times if t is not None), default=None) if truncated else None
    values_by_index = {i: _column(rows, i, "number", columns[i][1]) for i in value_indexes}
    groups = _group_rows(rows, names, label_indexes, metric_index)
    if fill is not None and max_answer_bytes is not None:
        check_answer_size(len(groups) * len(value_indexes), range_ms, fill.interval_ms, max_answer_bytes)
    frames = []
    for (metric, labels), positions in groups.items():
        whole = len(positions) == len(rows)
        series_times = times if whole else [times[p] for p in positions]
        for index in value_indexes:
            column = values_by_index[index]
            values = column if whole else [column[p] for p in positions]
            name = metric if metric is not None else names[index]
            series = _series_frame(
                name, series_times, values, dict(labels), fill, range_ms, cut_ms, max_buckets
            )
            frames.append(series)
    return frames


# The rows of one series share (metric or None, ((label, value), ...)). A plain tuple, not a
# dataclass: every row is hashed into it, and a tuple hashes and compares in C.
SeriesKey = tuple[str | None, tuple[tuple[str, str], ...]]


def _group_rows(
    rows: Sequence[Row], names: list[str], label_indexes: list[int], metric_index: int | None
) -> dict[SeriesKey, list[int]]:
    if not label_indexes and metric_index is None:
        return {(None, ()): list(range(len(rows)))}
    groups: dict[SeriesKey, list[int]] = {}
    for position, row in enumerate(rows):
        metric = to_text(row[metric_index]) if metric_index is not None else None
        labels = tuple((names[i], to_text(row[i]) or "") for i in label_indexes)
        groups.setdefault((metric, labels), []).append(position)
    return groups


def _series_frame(
    name: str,
    times: list[int | None],
    values: list[Any],
    labels: dict[str, str],
    fill: Fill | None,
    range_ms: tuple[int, int],
    cut_ms: int | None = None,
    max_buckets: int | None = None,
) -> Frame:
    if fill is None:
        return series_frame(name, times, values, labels)
    filled_times, filled_values = apply_fill(times, values, fill, range_ms, cut_ms, max_buckets)
    return series_frame(name, filled_times, filled_values, labels, time_config={"interval": fill.interval_ms})


def apply_fill(
    times: list[int | None],
    values: list[Any],
    fill: Fill,
    range_ms: tuple[int, int],
    cut_ms: int | None = None,
    max_buckets: int | None = None,
) -> tuple[list[int], list[Any]]:
    """Every bucket of the range present, empty ones filled as the macro asked; with
    ``cut_ms`` (a result cut at the row cap) only the buckets before it.

    The range is clamped to the window the SQL can match (1970-2038); more than
    ``max_buckets`` buckets is refused before one is built."""
    width = fill.interval_ms
    if max_buckets is not None:
        check_buckets(range_ms, width, max_buckets, "fill")
    known = {t: v for t, v in zip(times, values) if t is not None}
    start, end = fill_window(range_ms, width)
    if cut_ms is not None:
        end = min(end, cut_ms - 1)
    buckets = range(start, end + 1, width)
    extra = sorted(t for t in known if t < start or t > end)
    out_times, out_values, previous = [], [], None
    for bucket in sorted(set(buckets).union(extra)):
        if bucket in known:
            value = known[bucket]
        elif fill.mode == "value":
            value = fill.value
        elif fill.mode == "previous":
            value = previous
        else:
            value = None
        out_times.append(bucket)
        out_values.append(value)
        previous = value if value is not None else previous
    return out_times, out_values


_ANNOTATION_FIELDS = {"time": "time", "timeend": "timeEnd", "title": "title", "text": "text", "tags": "tags"}


def annotation_frame(entry_name: str, columns: list[tuple[str, int]], rows: Sequence[Row]) -> Frame:
    """Columns time, timeEnd?, title?, text, tags? (comma-separated) -> an annotation frame."""
    by_name = {name.lower(): i for i, (name, _) in enumerate(columns)}
    missing = [c for c in ("time", "text") if c not in by_name]
    if missing:
        got = [c[0] for c in columns]
        raise ShapeError(
            f"{entry_name}: annotations need columns time and text; missing {missing}, got {got}"
        )
    fields = []
    for key, name in _ANNOTATION_FIELDS.items():
        if key not in by_name:
            continue
        index = by_name[key]
        if key in ("time", "timeend"):
            fields.append(Field(name, "time", _column(rows, index, "time", columns[index][1])))
        elif key == "tags":
            fields.append(Field(name, "other", [_tags(row[index]) for row in rows]))
        else:
            fields.append(Field(name, "string", _column(rows, index, "string")))
    return Frame(entry_name, fields, meta={"type": "table", "typeVersion": [0, 0]})


def _tags(value: Any) -> list[str]:
    text = to_text(value) or ""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def variable_options(
    entry_name: str, columns: list[tuple[str, int]], rows: Sequence[Row]
) -> list[dict[str, str]]:
    """``__value``/``__text`` columns (or value, then text) -> ``[{__text, __value}]``."""
    names = [c[0] for c in columns]
    if not names:
        raise ShapeError(f"{entry_name}: a variable query must return at least one column")
    value_index = names.index("__value") if "__value" in names else 0
    if "__text" in names:
        text_index = names.index("__text")
    else:
        text_index = 1 if len(names) > 1 and value_index == 0 else value_index
    options, seen = [], set()
    for row in rows:
        value = to_text(row[value_index])
        if value is None or value in seen:
            continue
        seen.add(value)
        text = to_text(row[text_index])
        options.append({"__text": text if text is not None else value, "__value": value})
    return _unique_texts(options)


def _unique_texts(options: list[dict[str, str]]) -> list[dict[str, str]]:
    """Grafana drops options whose text repeats: tell repeated texts apart by their value."""
    counts: dict[str, int] = {}
    for option in options:
        counts[option["__text"]] = counts.get(option["__text"], 0) + 1
    for option in options:
        if counts[option["__text"]] > 1 and option["__text"] != option["__value"]:
            option["__text"] = f"{option['__text']} [{option['__value']}]"
    return options
