"""Timer triggers as SCF reads them: 7-field cron (and ``rate(...)``), and the next firing time.

SCF's ``cronExpression`` has seven fields, ``second minute hour day month weekday year``:
``*`` every value, ``?`` no constraint (day or weekday), ``a``, ``a-b``, ``a,b``, ``*/n``,
``a/n``, ``a-b/n``; months ``1-12`` or ``JAN``-``DEC``, weekdays ``0-6`` (Sunday = 0) or
``SUN``-``SAT``. When both day and weekday are restricted, either matching fires (classic
cron). ``rate(5 minutes)`` (``second(s)``, ``minute(s)``, ``hour(s)``, ``day(s)``) is also
read, counted from the epoch. Times are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_FIELDS = (  # name, low, high
    ("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31),
    ("month", 1, 12), ("weekday", 0, 6), ("year", 1970, 2099),
)  # fmt: skip
_NAMES = {
    "month": {
        m: i + 1
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        )
    },
    "weekday": {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
}
_RATE = re.compile(r"rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)\Z", re.I)
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}


class ScheduleError(ValueError):
    """A timer expression that cannot be read; the message says which field and why."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression: the allowed values of each field (or a fixed period for ``rate``)."""

    expression: str
    fields: tuple[frozenset[int], ...] = ()
    day_any: bool = True
    weekday_any: bool = True
    period_s: int | None = None

    def next_after(self, when: datetime) -> datetime:
        """The first firing time strictly after ``when`` (naive UTC, whole seconds)."""
        when = when.replace(microsecond=0)
        if self.period_s is not None:
            epoch = int(when.replace(tzinfo=timezone.utc).timestamp())
            nxt = (epoch // self.period_s + 1) * self.period_s
            return datetime.fromtimestamp(nxt, timezone.utc).replace(tzinfo=None)
        return self._next_cron(when + timedelta(seconds=1))

    def _next_cron(self, t: datetime) -> datetime:
        seconds, minutes, hours, _, months, _, years = self.fields
        for _ in range(200_000):
            if t.year > 2099:
                break
            if t.year not in years:
                t = datetime(t.year + 1, 1, 1)
            elif t.month not in months:
                t = _next_month(t)
            elif not self._day_matches(t):
                t = datetime(t.year, t.month, t.day) + timedelta(days=1)
            elif t.hour not in hours:
                t = datetime(t.year, t.month, t.day, t.hour) + timedelta(hours=1)
            elif t.minute not in minutes:
                t = datetime(t.year, t.month, t.day, t.hour, t.minute) + timedelta(minutes=1)
            elif t.second not in seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise ScheduleError(f"{self.expression!r}: never fires again")

    def _day_matches(self, t: datetime) -> bool:
        day_ok = t.day in self.fields[3]
        weekday_ok = (t.isoweekday() % 7) in self.fields[5]
        if self.day_any or self.weekday_any:
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def parse_schedule(expression: str) -> CronSchedule:
    """Read a 7-field SCF cron expression or ``rate(N unit)``."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        period = int(rate.group(1)) * _UNIT_S[rate.group(2).lower()]
        if period <= 0:
            raise ScheduleError(f"{expression!r}: the rate must be positive")
        return CronSchedule(text, period_s=period)
    parts = text.split()
    if len(parts) != 7:
        raise ScheduleError(
            f"{expression!r}: expected 7 fields (second minute hour day month weekday year), got {len(parts)}"
        )
    fields = tuple(_field(part, *spec) for part, spec in zip(parts, _FIELDS))
    return CronSchedule(text, fields, day_any=parts[3] in ("*", "?"), weekday_any=parts[5] in ("*", "?"))


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.upper().split(","):
        values |= _item(item, name, low, high)
    return frozenset(values)


def _item(item: str, name: str, low: int, high: int) -> set[int]:
    where = f"{name} field {item!r}"
    base, _, step_text = item.partition("/")
    step = _number(step_text, name, where) if step_text else 1
    if step < 1:
        raise ScheduleError(f"{where}: the step must be at least 1")
    if base in ("*", "?"):
        if base == "?" and name not in ("day", "weekday"):
            raise ScheduleError(f"{where}: '?' is only for day or weekday")
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, name, where), _number(last, name, where)
    else:
        start = _number(base, name, where)
        end = high if step_text else start
    if not low <= start <= end <= high:
        raise ScheduleError(f"{where}: values must lie in {low}-{high}, ascending")
    return set(range(start, end + 1, step))


def _number(text: str, name: str, where: str) -> int:
    named = _NAMES.get(name, {}).get(text)
    if named is not None:
        return named
    if not text.isdigit():
        raise ScheduleError(f"{where}: {text!r} is not a number")
    value = int(text)
    return 0 if name == "weekday" and value == 7 else value


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + 1, 1, 1) if t.month == 12 else datetime(t.year, t.month + 1, 1)


@dataclass(frozen=True)
class TimerSpec:
    """One ``timer`` event of a function's serverless.yml."""

    name: str
    schedule: CronSchedule
    argument: str = ""
    enabled: bool = True


def timer_event(timer: TimerSpec, fired_at: datetime) -> dict[str, str]:
    """The event SCF hands the function when ``timer`` fires."""
    return {
        "Type": "Timer",
        "TriggerName": timer.name,
        "Time": fired_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Message": timer.argument,
    }
