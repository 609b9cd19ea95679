"""The runner's clock: fires each function's ``timer`` events on their declared schedule.

Like SCF, a timer fires whether or not its previous invocation has finished (each firing
runs on its own thread, on some instance of the function); the function itself decides
what overlapping means (the rollup refresher skips on its lock). One log line per firing::

    timer business/rollup-refresh -> {"trigger":"rollup-refresh","status":"ok",...} 812 ms
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from labelhub_tools.local.events import build_context, new_request_id
from labelhub_tools.local.schedule import TimerSpec, timer_event

if TYPE_CHECKING:
    from labelhub_tools.local.pool import FunctionPool, Invocation

log = logging.getLogger("labelhub_tools.local")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class TimerLoop:
    """Every enabled timer of the served functions, fired from one background thread."""

    def __init__(
        self,
        pools: dict[str, FunctionPool],
        variables: dict[str, dict[str, str]],
        clock: Clock = utc_now,
    ) -> None:
        self.pools, self.variables, self.clock = pools, variables, clock
        self.timers = [
            (name, timer) for name, pool in pools.items() for timer in pool.spec.timers if timer.enabled
        ]
        self.fired: list[tuple[str, str, datetime]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.timers and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="timers")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        now = self.clock()
        upcoming = [(timer.schedule.next_after(now), name, timer) for name, timer in self.timers]
        while upcoming:
            upcoming.sort(key=lambda item: item[0])
            due, name, timer = upcoming[0]
            wait_s = (due - self.clock()).total_seconds()
            if self._stop.wait(max(0.0, wait_s)):
                return
            threading.Thread(target=self.fire, args=(name, timer, due), daemon=True).start()
            upcoming[0] = (timer.schedule.next_after(due), name, timer)

    def fire(self, function: str, timer: TimerSpec, at: datetime) -> Invocation:
        """Invoke ``function`` with ``timer``'s event as fired at ``at``; log one line."""
        started = time.monotonic()
        pool = self.pools[function]
        context = build_context(pool.spec, new_request_id(), self.variables[function])
        outcome = pool.invoke(timer_event(timer, at), context)
        self.fired.append((function, timer.name, at))
        if outcome.failure:
            answer = f"[{outcome.failure}] {outcome.detail}"
        else:
            frame = outcome.frame or {}
            result = frame.get("result") if frame.get("ok") else frame
            answer = json.dumps(result, default=str, separators=(",", ":"))
        log.info(
            "timer %s/%s -> %s %.0f ms", function, timer.name, answer, (time.monotonic() - started) * 1000
        )
        return outcome
