"""The caps on one request, read once from the settings.

A request over a cap is refused whole, before any backend is asked, with a 400 that
names the cap's setting, the value asked for and the cap (``CapExceeded``). The answer
size is bounded too: SCF refuses a response body over 6 MB, so an answer that would not
fit is a 400 naming the refIds and the limit (``AnswerTooLarge``), never a platform error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grafana_scf.errors import BadRequestError
from grafana_scf.frames import Frame
from grafana_scf.settings import Settings

if TYPE_CHECKING:
    from grafana_scf.protocol import AdhocFilter


class CapExceeded(BadRequestError):
    """A request asks for more than a cap allows (400)."""

    def __init__(self, what: str, value: int, setting: str, cap: int) -> None:
        super().__init__(f"{what} {value:,} over the cap {setting}={cap:,}; ask for less")
        self.setting = setting


class AnswerTooLarge(BadRequestError):
    """The answer would not fit in one SCF response (400); the renderer names the refIds."""

    def __init__(self, size: int, limit: int, exact: bool = False) -> None:
        size_text = f"{size:,} bytes" if exact else f"more than {size:,} bytes"
        super().__init__(
            f"the answer would be {size_text}, over the {limit:,}-byte limit of one response "
            "(MAX_ANSWER_BYTES); narrow the range, widen the interval or split the panel"
        )


@dataclass(frozen=True)
class RequestLimits:
    """Caps every request is held to; the defaults are the settings' defaults."""

    max_targets: int = 50
    max_alternatives: int = 100
    max_adhoc_values: int = 1000
    max_answer_bytes: int = 6_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            max_targets=settings.max_targets_per_request,
            max_alternatives=settings.max_alternatives_per_target,
            max_adhoc_values=settings.max_adhoc_values,
            max_answer_bytes=settings.max_answer_bytes,
        )

    def check_targets(self, count: int) -> None:
        if count > self.max_targets:
            raise CapExceeded("targets:", count, "MAX_TARGETS_PER_REQUEST", self.max_targets)

    def check_alternatives(self, count: int) -> None:
        if count > self.max_alternatives:
            what = "target alternatives (a|b|...):"
            raise CapExceeded(what, count, "MAX_ALTERNATIVES_PER_TARGET", self.max_alternatives)

    def check_adhoc_values(self, filters: Iterable[AdhocFilter], where: str = "filters") -> None:
        for index, item in enumerate(filters):
            if len(item.values) > self.max_adhoc_values:
                what = f"{where}[{index}] ({item.key!r} {item.operator}) values:"
                raise CapExceeded(what, len(item.values), "MAX_ADHOC_VALUES", self.max_adhoc_values)


def least_frame_bytes(frame: Frame) -> int:
    """The fewest bytes a frame's values take as JSON: two a value (``0,``), and as many
    digits as the smallest time, plus a comma, a time."""
    total = 0
    for field in frame.fields:
        if field.type == "time":
            smallest = min((v for v in field.values if isinstance(v, int) and v >= 0), default=0)
            total += (len(str(smallest)) + 1) * len(field.values)
        else:
            total += 2 * len(field.values)
    return total


class AnswerBudget:
    """What one request's answer has taken so far, counted as each target's frames arrive,
    so that frames that could never be sent are not piled up in memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.least = 0

    @property
    def exceeded(self) -> bool:
        return self.least > self.limit

    def spend(self, frames: Iterable[Frame]) -> None:
        """Count ``frames``; an ``AnswerTooLarge`` once the answer cannot fit any more."""
        self.least += sum(least_frame_bytes(frame) for frame in frames)
        if self.exceeded:
            raise AnswerTooLarge(self.least, self.limit)
