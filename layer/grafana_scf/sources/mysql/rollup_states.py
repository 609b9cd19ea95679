"""What the planner knows of the rollups: every row of ``rollup_state``, read in one
statement and shared for ``ROLLUP_STATE_TTL_S``.

Every planned answer starts from its rollup's state (definition hash, watermark, origin).
Read per request, that is one statement more than the answer itself, for every panel of
every viewer. Here one statement reads every rollup's row; the rows are kept in the
instance's memory and, with a shared store, in Redis (coalesced: one instance reads, the
others wait for its rows), for at most ``ttl_s`` after they were read (by the reading
instance's clock; another's may differ by its skew).

A state read earlier is still a true description of the tables, only an older one:

- the watermark only moves forward, and every stored bucket before an older watermark is
  still in the table (a chunk is rewritten in one transaction): a plan from it reads a
  little more live, the answer is the same;
- a backfill moves the origin back; the plan's statement checks the origin it was given
  against ``rollup_state`` and reads the stored rows instead of a snapshot when it moved
  (``snapshots.py``);
- a rebuild or a drop empties or removes a table: the refresher first *withdraws* the
  rollup (watermark NULL, committed) and leaves the table alone for ``reader_grace_s``
  (this TTL plus the functions' time limit), so no request that planned from the old
  state can still start a statement on it (``refresh.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grafana_scf.deadline import DEFAULT_TIME_LIMIT_MS
from grafana_scf.shared.codec import CodecError, decode, digest, encode
from grafana_scf.sources.mysql.rollups import EPOCH, state_table

if TYPE_CHECKING:
    from grafana_scf.shared.store import SharedStore
    from grafana_scf.sources.mysql.database import Database

_KIND = "rollup-state"


def state_statement(schema: str) -> str:
    """The one statement that reads every rollup's state."""
    return f"SELECT rollup, definition_hash, watermark, origin FROM {state_table(schema)}"


def reader_grace_s(state_ttl_s: float) -> float:
    """How long after a withdrawal a request may still use the rollup's table: its state
    may be ``state_ttl_s`` old, and the request may run for the functions' time limit."""
    return state_ttl_s + DEFAULT_TIME_LIMIT_MS / 1000


@dataclass(frozen=True)
class RollupState:
    """One row of ``rollup_state``: what the table holds."""

    definition_hash: str
    watermark: dt.datetime | None
    origin: dt.datetime = EPOCH
    """Rows before the origin are not in the table (the refresher started there): they are
    always read raw, so an answer never misses history the rollup does not hold."""


@dataclass(frozen=True)
class StateRead:
    """Every rollup's state, when it was read (wall clock), and how: the statement, with
    a comment in front when the rows were read earlier, by this instance or another."""

    states: dict[str, RollupState]
    read_at: float
    statement: str

    def age_s(self, now: float) -> float:
        return now - self.read_at


class RollupStates:
    """The rollup states of one schema, read at most once per ``ttl_s`` per instance, and
    once per ``ttl_s`` among all instances with a shared store (0: every time)."""

    def __init__(
        self,
        database: Database,
        schema: str,
        ttl_s: float,
        shared: SharedStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.schema = schema
        self.ttl_s = ttl_s
        self.shared = shared if shared is not None and shared.enabled else None
        self._clock = clock
        self._held: StateRead | None = None

    def read(self) -> StateRead:
        """The states, from memory, Redis or the database; ``ServiceError`` when the
        database cannot be asked (the state table missing included)."""
        if self.ttl_s <= 0:
            return self._query()
        now = self._clock()
        held = self._held
        if held is not None and 0 <= held.age_s(now) < self.ttl_s:
            return _noted(held, now, "held by this instance")
        if self.shared is None:
            self._held = self._query()
            return self._held
        from grafana_scf.shared.coalesce import coalesced

        mine: list[StateRead] = []

        def query() -> StateRead:
            mine.append(self._query_and_share())
            return mine[0]

        found = coalesced(self.shared, self._key(), self._lookup, query)
        self._held = found
        return found if mine else _noted(found, self._clock(), "shared")

    def _query(self) -> StateRead:
        result = self.database.execute(state_statement(self.schema), {}, max_rows=10_000)
        states = {
            name: RollupState(definition_hash, watermark, origin or EPOCH)
            for name, definition_hash, watermark, origin in result.rows
        }
        return StateRead(states, self._clock(), result.executed)

    def _query_and_share(self) -> StateRead:
        found = self._query()
        assert self.shared is not None
        rows = [(name, s.definition_hash, s.watermark, s.origin) for name, s in found.states.items()]
        value = encode({"read_at": found.read_at, "statement": found.statement}, rows)
        self.shared.set(self._key(), value, self.ttl_s)
        return found

    def _lookup(self) -> StateRead | None:
        assert self.shared is not None
        key = self._key()
        raw = self.shared.get(key)
        if raw is None:
            return None
        try:
            document, rows = decode(raw)
            states = {str(n): RollupState(str(h), w, o) for n, h, w, o in rows}
            read_at = float(document["read_at"])
            statement = str(document["statement"])
        except (CodecError, KeyError, TypeError, ValueError) as exc:
            self.shared.refuse(key, "the rollup state", str(exc) or type(exc).__name__)
            return None
        # Redis expires the key ttl_s after it was written; another instance's clock may be
        # a little ahead of this one's, so a read "in the future" counts as read now.
        now = self._clock()
        found = StateRead(states, min(read_at, now), statement)
        return found if found.age_s(now) < self.ttl_s else None

    def _key(self) -> str:
        assert self.shared is not None
        return self.shared.key(_KIND, digest(self.database.settings.where, self.schema))


def _noted(found: StateRead, now: float, how: str) -> StateRead:
    comment = f"-- rollup state read {found.age_s(now):.1f} s ago ({how})\n"
    return StateRead(found.states, found.read_at, comment + found.statement)
