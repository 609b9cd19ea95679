"""One deadline per request, shared by every target and every backend call under it.

SCF kills an invocation at the function's timeout and answers with its own error body
(HTTP 200 through a Function URL), so we stop first: the app takes the time limit from
the SCF context (``time_limit_in_ms``), less a margin to render and log the answer, and
every piece of work below it asks the deadline how long it may still take
(``remaining_s``, ``cap_s``) or whether to give up (``check``). What does not finish in
time is answered as a 504 that names what did not answer.

The deadline of the request being handled is a context variable: set by the app around
each request (``bind``), read anywhere below with ``current()``. Threads started for a
request must copy the context (``contextvars.copy_context().run``) to see it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from grafana_scf.errors import DownstreamError

DEFAULT_TIME_LIMIT_MS = 30_000
"""When the context has no ``time_limit_in_ms`` (a test, a bare call): the functions' timeout."""
MARGIN_MS = 1_500
"""Kept back from the platform's limit to finish the answer: render, log, return."""
MIN_BUDGET_MS = 500


class DeadlineExceeded(DownstreamError):
    """The request's time ran out before a backend answered (504)."""

    status = HTTPStatus.GATEWAY_TIMEOUT


@dataclass(frozen=True)
class Deadline:
    """A point in time (monotonic clock) by which the answer must be on its way."""

    at: float
    budget_s: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(at=clock() + seconds, budget_s=seconds, clock=clock)

    @classmethod
    def from_context(cls, context: Any, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The SCF context's ``time_limit_in_ms`` less ``MARGIN_MS`` (at least ``MIN_BUDGET_MS``)."""
        limit_ms = _time_limit_ms(context)
        budget_ms = max(MIN_BUDGET_MS, limit_ms - MARGIN_MS)
        return cls.after(budget_ms / 1000, clock)

    def remaining_s(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at

    def cap_s(self, timeout_s: float) -> float:
        """``timeout_s``, or less when the deadline comes first (never below zero)."""
        return min(float(timeout_s), self.remaining_s())

    def check(self, what: str) -> None:
        """Raise ``DeadlineExceeded`` naming ``what`` when the time is up."""
        if self.expired():
            raise DeadlineExceeded(
                f"{what} did not finish within the request's time limit ({self.budget_s:.1f} s)"
            )

    def exceeded(self, backend: str) -> DeadlineExceeded:
        """The 504 for work the time ran out on: ``MySQL did not answer within …``."""
        return DeadlineExceeded(
            f"{backend} did not answer within the request's time limit ({self.budget_s:.1f} s)"
        )


UNBOUNDED = Deadline(at=float("inf"), budget_s=float("inf"))
"""What ``current()`` answers outside a request: no limit."""

_current: contextvars.ContextVar[Deadline] = contextvars.ContextVar("grafana_scf_deadline", default=UNBOUNDED)


def current() -> Deadline:
    """The deadline of the request being handled (``UNBOUNDED`` outside one)."""
    return _current.get()


@contextmanager
def bind(deadline: Deadline) -> Iterator[Deadline]:
    """Make ``deadline`` the current one for the duration of the block."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def _time_limit_ms(context: Any) -> float:
    value = context.get("time_limit_in_ms") if isinstance(context, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return DEFAULT_TIME_LIMIT_MS
    return float(min(value, 900_000))  # SCF's longest event-function timeout is 900 s
