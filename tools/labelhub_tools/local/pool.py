"""The instances of one function: reuse a warm one, else start another, up to a cap.

As on SCF, an instance serves one request at a time and concurrency means more instances.
An idle instance is reused most-recently-used first (so the others can age out under
``--idle-timeout``). When ``max_instances`` are all busy a request waits for one, up to the
function timeout, then gets a concurrency error. A timed-out or crashed instance is
discarded, so the next request to need one pays a cold start.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass

from labelhub_tools.local.instance import (
    InitFailed,
    Instance,
    InstanceCrashed,
    InvokeTimeout,
)
from labelhub_tools.local.launch import LaunchPlan
from labelhub_tools.local.project import FunctionSpec

log = logging.getLogger("labelhub_tools.local")


@dataclass
class Invocation:
    """How one request went: the instance, whether it was cold, the answer or the failure.

    ``failure`` is None (``frame`` holds the worker's answer), ``"init"``, ``"timeout"``,
    ``"crash"`` or ``"busy"``; ``detail`` says more.
    """

    instance: str = "-"
    pid: int | None = None
    cold_import_ms: float | None = None
    frame: dict | None = None
    failure: str | None = None
    detail: str = ""


class FunctionPool:
    """Warm and busy instances of one function, started on demand up to ``max_instances``."""

    def __init__(self, spec: FunctionSpec, plan: LaunchPlan, max_instances: int = 10):
        self.spec = spec
        self.plan = plan
        self.max_instances = max(1, max_instances)
        self._cond = threading.Condition()
        self._idle: list[Instance] = []
        self._live: set[Instance] = set()
        self._starting = 0
        self._numbers = itertools.count(1)
        self._closed = False
        self.counts = dict.fromkeys(
            ("invocations", "cold_starts", "init_failures", "timeouts", "crashes", "reaped"), 0
        )

    def invoke(self, event: dict, context: dict) -> Invocation:
        """Run one event on some instance of this function."""
        try:
            instance, cold = self._acquire()
        except InitFailed as exc:
            return Invocation(failure="init", detail=exc.args[0], instance=exc.args[-1])
        except _Busy as exc:
            return Invocation(failure="busy", detail=str(exc))
        outcome = Invocation(instance=instance.label, pid=instance.pid)
        if cold:
            outcome.cold_import_ms = instance.import_ms
        self._count("invocations")
        try:
            outcome.frame = instance.invoke(event, context, self.spec.timeout_s)
        except InvokeTimeout as exc:
            self._discard(instance, "timeouts")
            outcome.failure, outcome.detail = "timeout", str(exc)
        except InstanceCrashed as exc:
            self._discard(instance, "crashes")
            outcome.failure, outcome.detail = "crash", str(exc)
        else:
            self._release(instance)
        return outcome

    def _acquire(self) -> tuple[Instance, bool]:
        """A warm idle instance, or a newly started one (cold); waits while at the cap."""
        deadline = time.monotonic() + self.spec.timeout_s
        with self._cond:
            while not self._idle and len(self._live) + self._starting >= self.max_instances:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    raise _Busy(f"all {self.max_instances} instances of {self.spec.name} stayed busy")
                self._cond.wait(remaining)
            if self._idle:
                return self._idle.pop(), False
            self._starting += 1
            label = f"{self.spec.name}#{next(self._numbers)}"
        return self._start(label), True

    def _start(self, label: str) -> Instance:
        instance = Instance(label, self.plan)
        try:
            instance.start()
        except InitFailed as exc:
            instance.kill()
            with self._cond:
                self._starting -= 1
                self.counts["init_failures"] += 1
                self._cond.notify()
            log.warning("%s cold start failed: %s", label, exc)
            raise InitFailed(str(exc), label) from exc
        with self._cond:
            self._starting -= 1
            self._live.add(instance)
            self.counts["cold_starts"] += 1
        log.debug(
            "%s cold start: import %.0f ms, ready in %.0f ms (pid %s)",
            label,
            instance.import_ms,
            instance.ready_ms,
            instance.pid,
        )
        return instance

    def _release(self, instance: Instance) -> None:
        with self._cond:
            if self._closed:
                self._live.discard(instance)
            else:
                self._idle.append(instance)
                self._cond.notify()
                return
        instance.close()

    def _discard(self, instance: Instance, counter: str) -> None:
        instance.kill()
        with self._cond:
            self._live.discard(instance)
            self.counts[counter] += 1
            self._cond.notify()

    def _count(self, counter: str) -> None:
        with self._cond:
            self.counts[counter] += 1

    def reap_idle(self, idle_timeout_s: float) -> int:
        """Stop instances idle for longer than ``idle_timeout_s``; return how many."""
        cutoff = time.monotonic() - idle_timeout_s
        with self._cond:
            stale = [i for i in self._idle if i.last_used < cutoff]
            self._idle = [i for i in self._idle if i.last_used >= cutoff]
            self._live.difference_update(stale)
            self.counts["reaped"] += len(stale)
        for instance in stale:
            log.info("%s reaped after %.0f s idle (pid %s)", instance.label, idle_timeout_s, instance.pid)
            instance.close()
        return len(stale)

    def stats(self) -> dict:
        """Counters plus the current instances (busy, idle, pids)."""
        with self._cond:
            idle = len(self._idle)
            return dict(
                self.counts,
                instances=len(self._live),
                idle=idle,
                busy=len(self._live) - idle,
                pids=sorted(i.pid for i in self._live if i.pid is not None),
            )

    def close(self) -> None:
        """Stop every instance: idle ones cleanly, busy ones are killed."""
        with self._cond:
            self._closed = True
            idle, busy = list(self._idle), [i for i in self._live if i not in self._idle]
            self._idle.clear()
            self._live.clear()
            self._cond.notify_all()
        for instance in busy:
            instance.kill()
        _close_all(idle)


def _close_all(instances: list[Instance]) -> None:
    """Close instances in parallel so shutdown takes one grace period, not one each."""
    threads = [threading.Thread(target=i.close, daemon=True) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class _Busy(Exception):
    """Every instance stayed busy until the request's wait ran out."""
