"""The request deadline: taken from the SCF context, shared by everything under the request."""

from __future__ import annotations

import pytest

from grafana_scf import deadline
from grafana_scf.deadline import MARGIN_MS, Deadline, DeadlineExceeded


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_is_the_context_time_limit_less_the_margin():
    clock = Clock()
    limit = Deadline.from_context({"time_limit_in_ms": 30_000}, clock)
    assert limit.budget_s == (30_000 - MARGIN_MS) / 1000
    assert limit.remaining_s() == limit.budget_s
    clock.now += 10
    assert limit.remaining_s() == pytest.approx(limit.budget_s - 10)


@pytest.mark.parametrize("context", [None, {}, {"time_limit_in_ms": "3000"}, {"time_limit_in_ms": True}])
def test_a_context_without_a_usable_limit_gets_the_function_default(context):
    limit = Deadline.from_context(context, Clock())
    assert limit.budget_s == (deadline.DEFAULT_TIME_LIMIT_MS - MARGIN_MS) / 1000


def test_a_tiny_limit_still_leaves_a_minimum_budget():
    assert Deadline.from_context({"time_limit_in_ms": 100}, Clock()).budget_s == deadline.MIN_BUDGET_MS / 1000


def test_cap_and_check_follow_the_clock():
    clock = Clock()
    limit = Deadline.after(5, clock)
    assert limit.cap_s(3) == 3 and limit.cap_s(30) == 5
    limit.check("MySQL")
    clock.now += 6
    assert limit.cap_s(3) == 0 and limit.expired()
    with pytest.raises(DeadlineExceeded) as failure:
        limit.check("MySQL")
    assert failure.value.status == 504 and "MySQL did not finish" in failure.value.message


def test_bind_makes_a_deadline_current_for_the_block_only():
    assert deadline.current() is deadline.UNBOUNDED
    limit = Deadline.after(5, Clock())
    with deadline.bind(limit):
        assert deadline.current() is limit
    assert deadline.current() is deadline.UNBOUNDED
    assert deadline.UNBOUNDED.cap_s(7) == 7 and not deadline.UNBOUNDED.expired()
