"""SCF timer expressions: 7-field cron and rate(), and when they fire next."""

from __future__ import annotations

from datetime import datetime

import pytest

from labelhub_tools.local.schedule import ScheduleError, parse_schedule

T = datetime(2026, 3, 14, 9, 26, 53)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 */5 * * * * *", T, datetime(2026, 3, 14, 9, 30, 0)),
        ("0 */5 * * * * *", datetime(2026, 3, 14, 9, 30, 0), datetime(2026, 3, 14, 9, 35, 0)),
        ("* * * * * * *", T, datetime(2026, 3, 14, 9, 26, 54)),
        ("0 0 3 * * * *", T, datetime(2026, 3, 15, 3, 0, 0)),
        ("30 15 10 1 * ? *", T, datetime(2026, 4, 1, 10, 15, 30)),
        ("0 0 12 ? * MON-FRI *", T, datetime(2026, 3, 16, 12, 0, 0)),  # Saturday -> Monday
        ("0 0 12 * * 0 *", T, datetime(2026, 3, 15, 12, 0, 0)),  # Sunday = 0
        ("0 0 0 1 JAN ? *", T, datetime(2027, 1, 1)),
        ("0 0 0 29 2 ? *", T, datetime(2028, 2, 29)),  # the next leap day
        ("0 0 0 1 1 ? 2030", T, datetime(2030, 1, 1)),
        ("10,40 0-5/5 9 14 3 * 2026", T, None),  # all of today's firings have passed
        ("rate(5 minutes)", T, datetime(2026, 3, 14, 9, 30, 0)),
        ("rate(1 hour)", T, datetime(2026, 3, 14, 10, 0, 0)),
    ],
)
def test_next_firing(expression, after, expected):
    schedule = parse_schedule(expression)
    if expected is None:
        with pytest.raises(ScheduleError, match="never fires again"):
            schedule.next_after(after)
    else:
        assert schedule.next_after(after) == expected


def test_day_and_weekday_both_restricted_fire_on_either():
    schedule = parse_schedule("0 0 0 13 * FRI *")
    assert schedule.next_after(datetime(2026, 3, 14)) == datetime(2026, 3, 20)  # a Friday before the 13th
    assert schedule.next_after(datetime(2026, 4, 10)) == datetime(2026, 4, 13)  # the 13th, a Monday


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 */5 * * * *", "expected 7 fields"),
        ("60 * * * * * *", "second field '60'"),
        ("0 * * * 13 * *", "month field '13'"),
        ("0 * * * * 8 *", "weekday field '8'"),
        ("? * * * * * *", "only for day or weekday"),
        ("0 */0 * * * * *", "step must be at least 1"),
        ("0 x * * * * *", "'X' is not a number"),
        ("0 9-3 * * * * *", "ascending"),
        ("rate(0 minutes)", "must be positive"),
    ],
)
def test_bad_expressions_name_the_field(expression, message):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expression)
    assert message in str(caught.value)
