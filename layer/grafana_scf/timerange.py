"""Time ranges and query resolution.

Grafana sends ``range.from``/``range.to`` as ISO-8601 UTC strings; hand-written
bodies (Infinity alert queries, curl) may send epoch milliseconds. Epoch seconds
(1e9 to 1e11, years 2001-2286) are refused with a message that says milliseconds. The CLI also
takes Grafana's relative forms (``now``, ``now-7d``). Everything becomes epoch ms.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "M": 30 * 86_400_000,
    "y": 365 * 86_400_000,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|M|y)\s*$")
_RELATIVE = re.compile(r"^now(?:\s*([-+])\s*(\d+)\s*(ms|s|m|h|d|w|M|y))?$")

# Grafana alert evaluation fills these when the model has none: they mean "not given".
ALERT_DEFAULT_INTERVAL_MS = 1000
ALERT_DEFAULT_MAX_DATA_POINTS = 43200
DEFAULT_MAX_DATA_POINTS = 1000

# Steps an automatic interval is rounded up to, like Grafana's own rounding.
NICE_STEPS_MS = (
    1_000, 5_000, 10_000, 15_000, 30_000,
    60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
    3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000, 604_800_000, 2_592_000_000,
)  # fmt: skip


class TimeFormatError(ValueError):
    """A time or duration that cannot be read."""


# Times are accepted from year 1 to 9999 (what ISO-8601 and datetime can write).
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999
_DIGITS = re.compile(r"^-?[0-9]{1,16}$")


# Epoch numbers in this band are seconds of 2001-2286 sent by mistake: as milliseconds they
# would be a few weeks of 1970 (empty data, no notice). Refused, never guessed.
_SECONDS_BAND = (1e9, 1e11)


def _checked_ms(value: float | int, shown: object) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise TimeFormatError(f"expected a time, got {shown!r}")
    if not _MIN_MS <= value <= _MAX_MS:
        raise TimeFormatError(f"{shown!r} is out of range (years 1 to 9999)")
    return int(value)


def _checked_epoch_ms(value: float | int, shown: object) -> int:
    """A number or digit string: epoch milliseconds, and not epoch seconds by mistake."""
    if _SECONDS_BAND[0] <= abs(value) < _SECONDS_BAND[1]:
        raise TimeFormatError(
            f"{shown!r} looks like epoch seconds; times are epoch milliseconds "
            f"(send {int(value) * 1000}), ISO-8601 or now-6h"
        )
    return _checked_ms(value, shown)


@dataclass(frozen=True)
class TimeRange:
    """A closed time range in epoch milliseconds."""

    from_ms: int
    to_ms: int

    @property
    def span_ms(self) -> int:
        return self.to_ms - self.from_ms

    @property
    def from_s(self) -> int:
        return self.from_ms // 1000

    @property
    def to_s(self) -> int:
        return self.to_ms // 1000


def parse_time(value: object, now_ms: int | None = None) -> int:
    """Epoch ms from an ISO-8601 string, epoch ms (number or digits), or ``now-7d``."""
    if isinstance(value, bool):
        raise TimeFormatError(f"expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        return _checked_epoch_ms(value, value)
    if not isinstance(value, str) or not value.strip():
        raise TimeFormatError(f"expected a time, got {value!r}")
    text = value.strip()
    if _DIGITS.match(text):
        return _checked_epoch_ms(int(text), text)
    relative = _RELATIVE.match(text)
    if relative:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        sign, amount, unit = relative.groups()
        if sign is None:
            return now
        delta = int(amount) * _UNITS_MS[unit]
        return _checked_ms(now - delta if sign == "-" else now + delta, text)
    return _parse_iso(text)


def _parse_iso(text: str) -> int:
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        parsed = datetime.fromisoformat(iso)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return _checked_ms(parsed.timestamp() * 1000, text)
    except (ValueError, OverflowError):
        raise TimeFormatError(
            f"{text!r} is not a time (use ISO-8601 like 2024-01-01T00:00:00Z, epoch ms, or now-6h)"
        ) from None


def parse_range(from_value: object, to_value: object, now_ms: int | None = None) -> TimeRange:
    start, end = parse_time(from_value, now_ms), parse_time(to_value, now_ms)
    if end < start:
        raise TimeFormatError("range.to is before range.from")
    return TimeRange(start, end)


def parse_duration_ms(text: str) -> int:
    """``'5m'`` -> 300000. Bare numbers are seconds, as in Grafana's SQL macros."""
    raw = text.strip().strip("'\"")
    if raw.isdigit():
        return int(raw) * 1000
    match = _DURATION.match(raw)
    if not match or float(match.group(1)) <= 0:
        raise TimeFormatError(f"{text!r} is not a duration (e.g. 30s, 5m, 1h, 1d)")
    return int(float(match.group(1)) * _UNITS_MS[match.group(2)])


def format_duration(ms: int) -> str:
    """300000 -> ``'5m'``: the largest unit that divides evenly, as Grafana writes $__interval."""
    for unit in ("d", "h", "m", "s"):
        size = _UNITS_MS[unit]
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def resolve_interval_ms(
    time_range: TimeRange,
    interval_ms: int | None,
    max_data_points: int | None,
    min_interval_ms: int = 1000,
) -> int:
    """The bucket width for a query.

    The widest of: what the panel asked for, what keeps the point count under
    ``maxDataPoints``, and the entry's minimum; an automatic width is rounded up
    to a nice step, an explicit one up to whole seconds (what the SQL group macros
    need: 86400001 ms becomes 86401000). Grafana alert defaults (1000 ms / 43200)
    count as not given.
    """
    alert_defaults = (
        interval_ms is not None
        and interval_ms <= ALERT_DEFAULT_INTERVAL_MS
        and (max_data_points or 0) >= ALERT_DEFAULT_MAX_DATA_POINTS
    )
    if alert_defaults:
        interval_ms, max_data_points = None, None
    points = max_data_points if max_data_points and max_data_points > 0 else DEFAULT_MAX_DATA_POINTS
    by_points = -(-time_range.span_ms // points)
    wanted = max(interval_ms or 0, by_points, min_interval_ms, 1)
    if interval_ms is not None and wanted == interval_ms:
        return _whole_seconds(wanted)
    # Beyond the largest nice step: whole seconds, as the SQL group macros need.
    return next((step for step in NICE_STEPS_MS if step >= wanted), _whole_seconds(wanted))


def _whole_seconds(ms: int) -> int:
    return -(-ms // 1000) * 1000
