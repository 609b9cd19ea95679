"""The rollup refresher: one bounded, resumable, idempotent pass over every rollup.

A tick takes ``GET_LOCK('<schema>.refresh', 0)`` on the writer's connection (another
tick holding it: this one skips), then for each rollup: rebuilds its table when the
catalog's definition hash differs from the stored one (after withdrawing it and waiting
``reader_grace_s`` for requests that planned from its old state; a tick without that
much time left leaves the rebuild to a later one), and re-aggregates
``[watermark - lateness·grain, min(now floored to the grain, watermark + max buckets))``
chunk by chunk, each chunk one transaction (DELETE of its bucket range, INSERT … SELECT,
watermark advanced, the rollup's snapshots after the chunk recomputed; chunks grow while
quick and shrink when slow). It stops when the
time budget (the request's deadline, i.e. the SCF context's time limit less a margin)
or the row bound runs out; the next tick resumes from the stored watermark. A crash
loses at most the chunk in flight (rolled back), and a rerun rewrites the same buckets
to the same rows.

The writer connection uses the rollup writer's credentials (``ROLLUP_MYSQL_*``), which
may point at the primary while the read-only user reads from a replica.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from grafana_scf import deadline as deadlines
from grafana_scf.settings import Settings
from grafana_scf.sources.mysql.database import ConnectionSettings
from grafana_scf.sources.mysql.refresh_summary import RollupOutcome, TickSummary, error_text, status_row
from grafana_scf.sources.mysql.rollup_states import reader_grace_s
from grafana_scf.sources.mysql.rollup_store import RollupState, RollupStore
from grafana_scf.sources.mysql.rollups import Rollup, quote_identifier

log = logging.getLogger("grafana_scf.rollups")
Progress = Callable[[str, int, int], None]  # (rollup, buckets done, buckets to do)
TARGET_CHUNK_S = 5.0


@dataclass(frozen=True)
class RefreshLimits:
    """How much one tick may do."""

    max_buckets_per_tick: int = 4032
    max_rows_per_tick: int = 1_000_000
    chunk_buckets: int = 288
    history_days: int = 400
    safety_factor: float = 2.0  # a chunk starts only if twice the slowest one so far still fits
    reader_grace_s: float = reader_grace_s(10)
    """After withdrawing a rollup, how long its table is left alone for requests that
    planned from its state before (``rollup_states.py``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RefreshLimits:
        return cls(
            max_buckets_per_tick=settings.rollup_max_buckets_per_tick,
            max_rows_per_tick=settings.rollup_max_rows_per_tick,
            chunk_buckets=settings.rollup_chunk_buckets,
            history_days=settings.rollup_history_days,
            reader_grace_s=reader_grace_s(settings.rollup_state_ttl_s),
        )


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def writer_settings(settings: Settings) -> ConnectionSettings:
    """The rollup writer's connection: its own user, and the primary when reads go to a replica."""
    return ConnectionSettings(
        host=settings.rollup_mysql_host or settings.mysql_host,
        port=settings.rollup_mysql_port or settings.mysql_port,
        user=settings.rollup_mysql_user,
        password=settings.rollup_mysql_password or "",
        database=settings.mysql_database,
        connect_timeout_s=settings.mysql_connect_timeout_s,
        read_timeout_s=max(settings.mysql_read_timeout_s or 0, 900),
        query_timeout_ms=settings.mysql_query_timeout_ms,
    )


class Refresher:
    """Keeps the catalog's rollups in ``schema`` up to date, through the writer's connection."""

    def __init__(
        self,
        rollups: Mapping[str, Rollup],
        writer: ConnectionSettings,
        schema: str,
        limits: RefreshLimits | None = None,
    ) -> None:
        quote_identifier(schema)
        self.rollups = rollups
        self.writer = writer
        self.schema = schema
        self.limits = limits or RefreshLimits()

    @classmethod
    def from_settings(cls, rollups: Mapping[str, Rollup], settings: Settings) -> Refresher:
        return cls(
            rollups, writer_settings(settings), settings.rollup_schema, RefreshLimits.from_settings(settings)
        )

    def connect(self) -> Any:
        import pymysql

        s = self.writer
        conn = pymysql.connect(
            host=s.host, port=s.port, user=s.user, password=s.password, database=s.database,
            charset="utf8mb4", autocommit=False, connect_timeout=s.connect_timeout_s,
            read_timeout=s.read_timeout_s, write_timeout=s.read_timeout_s,
            init_command="SET time_zone = '+00:00'",
        )  # fmt: skip
        with conn.cursor() as cursor:  # INSERT ... SELECT then takes no locks on the source rows
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return conn

    # -- the tick ------------------------------------------------------------------

    def tick(
        self,
        *,
        now: datetime | None = None,
        only: Iterable[str] | None = None,
        bounded: bool = True,
        progress: Progress | None = None,
    ) -> TickSummary:
        """One pass over the rollups (``only``: these); ``bounded=False`` ignores the work bounds."""
        started = time.monotonic()
        summary = TickSummary()
        try:
            conn = self.connect()
        except Exception as exc:
            summary.status, summary.error = "error", error_text(exc)
            log.error("rollups: cannot connect as the writer: %s", summary.error)
            return summary
        try:
            store = RollupStore(conn, self.schema)
            if not store.try_lock():
                summary.status = "skipped"
                return summary
            try:
                self._pass(store, summary, now, only, bounded, progress)
            finally:
                store.release_lock()
        finally:
            conn.close()
            summary.seconds = time.monotonic() - started
        return summary

    def _pass(
        self,
        store: RollupStore,
        summary: TickSummary,
        now: datetime | None,
        only: Iterable[str] | None,
        bounded: bool,
        progress: Progress | None,
    ) -> None:
        store.ensure_state_table()
        now = now or store.now()
        states = store.states()
        budget = _Budget(self.limits, bounded)
        for rollup in self._selected(only):
            outcome = RollupOutcome(rollup.name)
            summary.rollups.append(outcome)
            try:
                self._refresh_one(store, rollup, states.get(rollup.name), now, budget, outcome, progress)
            except _Stop as stop:
                outcome.action = "stopped"
                summary.status, summary.stopped_by = "partial", stop.reason
            except Exception as exc:
                outcome.action, outcome.error = "failed", error_text(exc)
                summary.status = "error"
                log.error("rollup %s: refresh failed: %s", rollup.name, outcome.error)
            if outcome.buckets:
                store.record_tick(rollup.name, outcome.rows_written, outcome.rows_read, outcome.buckets,
                                  int(budget.elapsed_ms()))  # fmt: skip
        if summary.status == "ok" and any(o.action == "stopped" for o in summary.rollups):
            summary.status = "partial"

    def _selected(self, only: Iterable[str] | None) -> list[Rollup]:
        if only is None:
            return list(self.rollups.values())
        names = list(only)
        unknown = [n for n in names if n not in self.rollups]
        if unknown:
            raise KeyError(f"no rollup named {unknown[0]!r} (rollups: {', '.join(self.rollups)})")
        return [self.rollups[n] for n in names]

    def _refresh_one(
        self,
        store: RollupStore,
        rollup: Rollup,
        state: RollupState | None,
        now: datetime,
        budget: _Budget,
        outcome: RollupOutcome,
        progress: Progress | None,
    ) -> None:
        state = self._fresh_state(store, rollup, state, outcome, budget.wait)
        if state is None:
            return
        grain = timedelta(seconds=rollup.grain_s)
        horizon = rollup.floor(now)
        watermark = state.watermark or rollup.floor(now - timedelta(days=self.limits.history_days))
        origin = state.origin if state.watermark else watermark  # a new rollup starts here
        start = max(watermark - grain * rollup.lateness, origin or watermark)
        end = max(watermark, horizon)
        if budget.bounded:
            end = min(end, watermark + grain * self.limits.max_buckets_per_tick)
        outcome.watermark = state.watermark
        total = int((end - start) / grain)
        cursor, size = start, min(self.limits.chunk_buckets, rollup.lateness + 1)
        while cursor < end:
            budget.check()
            chunk_end = min(cursor + grain * size, end)
            chunk_started = time.monotonic()
            mark = max(watermark, chunk_end)
            written, read = store.rewrite(rollup, cursor, chunk_end, mark, origin)
            took = time.monotonic() - chunk_started
            budget.spent(written, took)
            size = budget.next_chunk(size, took)
            outcome.buckets += int((chunk_end - cursor) / grain)
            outcome.rows_written += written
            outcome.rows_read += read
            outcome.watermark = watermark = mark
            cursor = chunk_end
            if progress:
                progress(rollup.name, outcome.buckets, total)
        outcome.behind_buckets = int((horizon - watermark) / grain)

    def _fresh_state(
        self,
        store: RollupStore,
        rollup: Rollup,
        state: RollupState | None,
        outcome: RollupOutcome,
        wait: Callable[[float], bool],
    ) -> RollupState | None:
        """The state to refresh from, the table rebuilt first when it is new, missing or of
        another definition; None when the rebuild must wait for readers of the old table
        longer than ``wait`` allows (the rollup is withdrawn; a later tick rebuilds it)."""
        if state is None or state.definition_hash != rollup.definition_hash or not store.table_exists(rollup):
            why = "new" if state is None else "definition changed or table missing"
            left = store.withdraw(rollup.name, self.limits.reader_grace_s) if state is not None else 0.0
            if left > 0 and not wait(left):
                log.info("rollup %s: withdrawn (%s); rebuilt when its readers are done", rollup.name, why)
                outcome.action = "withdrawn"
                return None
            log.info("rollup %s: building its table (%s)", rollup.name, why)
            store.rebuild(rollup)
            outcome.action = "rebuilt"
            return RollupState(rollup.name, rollup.definition_hash, None, None)
        return state

    # -- maintenance -----------------------------------------------------------------

    def backfill(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        only: Iterable[str] | None = None,
        progress: Progress | None = None,
    ) -> TickSummary:
        """Re-aggregate ``[start, end)`` (floored to each grain), unbounded by the tick limits.

        The covered range ``[origin, watermark)`` grows only contiguously: before the origin
        chunk by chunk backwards, past the watermark only when the range reaches back to it.
        A new rollup's origin is ``start``. ``start`` None: ``history_days`` ago; ``end`` None: now.
        """
        started = time.monotonic()
        summary = TickSummary()
        conn = self.connect()
        try:
            store = RollupStore(conn, self.schema)
            if not store.try_lock():
                summary.status = "skipped"
                return summary
            try:
                store.ensure_state_table()
                states, now = store.states(), store.now()
                start = start or now - timedelta(days=self.limits.history_days)
                for rollup in self._selected(only):
                    outcome = RollupOutcome(rollup.name)
                    summary.rollups.append(outcome)
                    state = self._fresh_state(store, rollup, states.get(rollup.name), outcome, _sleep)
                    assert state is not None  # _sleep always waits
                    self._backfill_one(store, rollup, state, start, end or now, outcome, progress)
            finally:
                store.release_lock()
        finally:
            conn.close()
            summary.seconds = time.monotonic() - started
        return summary

    def _backfill_one(
        self,
        store: RollupStore,
        rollup: Rollup,
        state: RollupState,
        start: datetime,
        end: datetime,
        outcome: RollupOutcome,
        progress: Progress | None,
    ) -> None:
        grain = timedelta(seconds=rollup.grain_s)
        start, end = rollup.floor(start), rollup.floor(end)
        if state.watermark is None or state.origin is None:  # nothing covered yet
            origin = watermark = start
        else:
            origin, watermark = state.origin, state.watermark
        total = int((max(end, origin) - start) / grain)

        def done(written_read: tuple[int, int], buckets: int) -> None:
            outcome.buckets += buckets
            outcome.rows_written += written_read[0]
            outcome.rows_read += written_read[1]
            if progress:
                progress(rollup.name, outcome.buckets, total)

        while start < origin:  # backwards from the origin, so [origin, watermark) stays whole
            chunk_start = max(origin - grain * self.limits.chunk_buckets, start)
            done(
                store.rewrite(rollup, chunk_start, origin, watermark, chunk_start),
                int((origin - chunk_start) / grain),
            )
            origin = chunk_start
        cursor = max(start, state.origin or start)
        while cursor < end:
            chunk_end = min(cursor + grain * self.limits.chunk_buckets, end)
            if cursor <= watermark:
                watermark = max(watermark, chunk_end)
            done(
                store.rewrite(rollup, cursor, chunk_end, watermark, origin), int((chunk_end - cursor) / grain)
            )
            cursor = chunk_end
        outcome.watermark = watermark

    def status(self) -> list[dict[str, Any]]:
        """Every catalog rollup with its stored state: fresh, stale (definition changed) or absent."""
        conn = self.connect()
        try:
            store = RollupStore(conn, self.schema)
            store.ensure_state_table()
            states = store.states()
            held = {
                name: store.snapshot_summary(self.rollups[name]) for name in states if name in self.rollups
            }
        finally:
            conn.close()
        return [status_row(r, states.get(r.name), held.get(r.name)) for r in self.rollups.values()]

    def drop(self, only: Iterable[str] | None = None) -> list[str]:
        """Drop the rollup tables and their state (rebuilt from scratch on the next tick),
        after withdrawing them and waiting ``reader_grace_s`` for their readers."""
        names = [r.name for r in self._selected(only)]
        conn = self.connect()
        try:
            store = RollupStore(conn, self.schema)
            store.ensure_state_table()
            _sleep(max((store.withdraw(name, self.limits.reader_grace_s) for name in names), default=0.0))
            for name in names:
                store.drop(name)
        finally:
            conn.close()
        return names


class _Budget:
    """The tick's bounds: the request deadline (time) and the rows written."""

    def __init__(self, limits: RefreshLimits, bounded: bool) -> None:
        self.limits, self.bounded = limits, bounded
        self.deadline = deadlines.current()
        self.started = time.monotonic()
        self.rows = 0
        self.slowest_s = 0.0

    def spent(self, rows: int, seconds: float) -> None:
        self.rows += rows
        self.slowest_s = max(self.slowest_s, seconds)

    def next_chunk(self, size: int, took_s: float) -> int:
        """The next chunk's buckets: doubled while chunks are quick, halved when one is slow.

        A chunk should take at most ``TARGET_CHUNK_S`` (and a quarter of the time left),
        so the time bound, checked between chunks, never waits long for one.
        """
        target = min(TARGET_CHUNK_S, self.deadline.remaining_s() / 4)
        if took_s > target:
            return max(1, size // 2)
        if took_s < target / 4:
            return min(self.limits.chunk_buckets, size * 2)
        return size

    def check(self) -> None:
        if not self.bounded:
            return
        if self.deadline.remaining_s() <= self.slowest_s * self.limits.safety_factor:
            raise _Stop("time")
        if self.rows >= self.limits.max_rows_per_tick:
            raise _Stop("rows")

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` if the tick's time allows it (always when unbounded)."""
        margin = self.slowest_s * self.limits.safety_factor
        if self.bounded and self.deadline.remaining_s() <= seconds + margin:
            return False
        return _sleep(seconds)

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000


def _sleep(seconds: float) -> bool:
    if seconds > 0:
        log.info("rollups: waiting %.0f s for requests planned from the withdrawn state", seconds)
        time.sleep(seconds)
    return True
