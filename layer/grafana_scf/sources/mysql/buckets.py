"""How many buckets a filled series has, known before any SQL runs or any list is built.

A ``$__timeGroup…(col, width, fill)`` series has one bucket per ``width`` across the
range; the fill builds every one of them. The SQL side only ever matches rows in
1970-2038 (``FROM_UNIXTIME`` answers NULL outside it), so the fill is clamped to the same
window, and the bucket count is checked against ``MAX_BUCKETS_PER_SERIES`` (and the
answer's least size against ``MAX_ANSWER_BYTES``) before anything is allocated.
"""

from __future__ import annotations

from grafana_scf.limits import AnswerTooLarge, CapExceeded
from grafana_scf.sources.mysql.macros import UNIX_TIME_MAX

WINDOW_MS = (0, UNIX_TIME_MAX * 1000)
"""The times a macro can match, in epoch ms: 1970-01-01 to 2038-01-19."""

_LEAST_VALUE_BYTES = 2
"""A value is at least one character and a comma (``0,``)."""


def fill_window(range_ms: tuple[int, int], width_ms: int) -> tuple[int, int]:
    """The first bucket and the end of the range, both clamped to ``WINDOW_MS``."""
    low, high = (min(max(t, WINDOW_MS[0]), WINDOW_MS[1]) for t in range_ms)
    return low - low % width_ms, high


def bucket_count(range_ms: tuple[int, int], width_ms: int) -> int:
    start, end = fill_window(range_ms, width_ms)
    return 0 if end < start else (end - start) // width_ms + 1


def check_buckets(range_ms: tuple[int, int], width_ms: int, cap: int, what: str) -> int:
    """The bucket count of one series, or a 400 naming ``MAX_BUCKETS_PER_SERIES``."""
    count = bucket_count(range_ms, width_ms)
    if count > cap:
        what = f"{what}: buckets per series (range / {width_ms} ms):"
        raise CapExceeded(what, count, "MAX_BUCKETS_PER_SERIES", cap)
    return count


def least_answer_bytes(series: int, range_ms: tuple[int, int], width_ms: int) -> int:
    """The fewest bytes ``series`` filled series can take as frames: every point is a time
    (as many digits as the first bucket's, plus a comma) and a value."""
    start, _ = fill_window(range_ms, width_ms)
    per_point = len(str(start)) + 1 + _LEAST_VALUE_BYTES
    return series * bucket_count(range_ms, width_ms) * per_point


def check_answer_size(series: int, range_ms: tuple[int, int], width_ms: int, limit: int) -> None:
    """A 400 before the fill builds ``series`` series that could not fit in one response."""
    least = least_answer_bytes(series, range_ms, width_ms)
    if least > limit:
        raise AnswerTooLarge(least, limit)
