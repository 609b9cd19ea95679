"""What one request may spend on Cloud Monitor, over all its targets: points and calls.

Two caps, declared in settings: data points asked for (series x slots,
``CLOUD_API_MAX_POINTS_PER_REQUEST``) and ``GetMonitorData`` calls
(``CLOUD_API_MAX_CALLS_PER_REQUEST``). Each target plans its calls (cache misses cut
into batches) and reserves them here before its first call; over a cap it fails with a
400 naming the setting and the value, so the request never gets a partial answer and
never spends calls it is not allowed.

The usage of a request lives beside its deadline (``deadline.current()``): the app binds
a fresh deadline to every request, so every target of that request, in any thread,
counts against the same usage. Outside a request (no deadline bound) every target is
counted on its own.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from grafana_scf import deadline
from grafana_scf.errors import BadRequestError

_HINT = "ask for fewer instances, a shorter range or a wider period"


@dataclass
class RequestUsage:
    """Points and calls reserved so far by the targets of one request."""

    points: int = 0
    calls: int = 0


_USAGE: weakref.WeakKeyDictionary[deadline.Deadline, RequestUsage] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def request_usage() -> RequestUsage:
    """The usage of the request being handled (a fresh one outside a request)."""
    current = deadline.current()
    if current is deadline.UNBOUNDED:
        return RequestUsage()
    with _LOCK:
        usage = _USAGE.get(current)
        if usage is None:
            usage = _USAGE[current] = RequestUsage()
        return usage


@dataclass(frozen=True)
class RequestCaps:
    """The two per-request caps (from settings)."""

    max_points: int
    max_calls: int

    def reserve_points(self, usage: RequestUsage, where: str, series: int, slots: int) -> None:
        """Count ``series x slots`` against the request, or refuse (400) before any call."""
        wanted = series * slots
        with _LOCK:
            total = usage.points + wanted
            if total > self.max_points:
                raise BadRequestError(
                    f"{where}: {series} series x {slots} slots = {wanted} Cloud Monitor points"
                    f"{_before(usage.points)}, over CLOUD_API_MAX_POINTS_PER_REQUEST={self.max_points}; "
                    f"{_HINT}"
                )
            usage.points = total

    def reserve_calls(self, usage: RequestUsage, where: str, calls: int, series: int, batch: int) -> None:
        """Count the planned ``GetMonitorData`` calls against the request, or refuse (400)."""
        with _LOCK:
            total = usage.calls + calls
            if total > self.max_calls:
                raise BadRequestError(
                    f"{where}: {calls} GetMonitorData calls needed ({series} series not cached, at most "
                    f"{batch} per call){_before(usage.calls)}, over CLOUD_API_MAX_CALLS_PER_REQUEST="
                    f"{self.max_calls}; {_HINT}"
                )
            usage.calls = total


def _before(used: int) -> str:
    return f" on top of {used} for the request's other targets" if used else ""
