"""The planner's read of the rollup states: one statement for every rollup, used for
``ROLLUP_STATE_TTL_S`` by this instance and (through Redis) by the others; and the
refresher's side of that bargain: a rollup is withdrawn, and its table left alone for
the readers' grace, before a rebuild or a drop touches it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from grafana_scf import deadline
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.mysql import refresh
from grafana_scf.sources.mysql.database import Database
from grafana_scf.sources.mysql.planner import _usable
from grafana_scf.sources.mysql.rollup_states import RollupStates, reader_grace_s
from grafana_scf.sources.mysql.rollup_store import RollupStore
from support.private_redis import private_redis, why_unavailable

from .conftest import NOW

TTL_S = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Reader:
    """A RollupStates on its own connection, with a clock of the test's and its statements counted."""

    def __init__(self, world, ttl_s: float = TTL_S, shared: SharedStore | None = None) -> None:
        self.database = Database(world.connection_settings())
        self.clock = Clock()
        self.states = RollupStates(self.database, world.schema, ttl_s, shared, clock=self.clock)
        self.statements = 0
        original = self.database.execute

        def counted(sql, params, **options):
            self.statements += 1
            return original(sql, params, **options)

        self.database.execute = counted

    def watermark(self):
        return self.states.read().states["events_5m"].watermark

    def close(self) -> None:
        self.database.close()


@pytest.fixture
def readers(fresh):
    made: list[Reader] = []

    def make(**options) -> Reader:
        made.append(Reader(fresh, **options))
        return made[-1]

    yield make
    for reader in made:
        reader.close()


@pytest.fixture(scope="module")
def redis_server():
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    with private_redis() as server:
        yield server


def test_one_statement_reads_every_state_and_serves_for_the_ttl(fresh, readers):
    fresh.refresher().tick(now=NOW, bounded=False)
    reader = readers()
    first = reader.states.read()
    assert first.states["events_5m"].watermark == NOW and reader.statements == 1
    assert first.statement.startswith("SELECT rollup, definition_hash, watermark, origin FROM")
    fresh.refresher().tick(now=NOW + timedelta(minutes=10))
    reader.clock.now += TTL_S - 0.1
    held = reader.states.read()
    assert held.states == first.states and reader.statements == 1  # an older state: still true
    assert held.statement.startswith("-- rollup state read 9.9 s ago (held by this instance)\nSELECT")
    reader.clock.now += 0.1
    assert reader.watermark() == NOW + timedelta(minutes=10) and reader.statements == 2


def test_a_ttl_of_zero_reads_with_every_answer(fresh, readers):
    fresh.refresher().tick(now=NOW, bounded=False)
    reader = readers(ttl_s=0)
    assert reader.watermark() == reader.watermark() == NOW
    assert reader.statements == 2


def test_instances_share_one_read_through_redis(fresh, readers, redis_server):
    redis_server.client().flushall()
    fresh.refresher().tick(now=NOW, bounded=False)
    first, second = (readers(shared=SharedStore(redis_server.url, 500, "business")) for _ in range(2))
    second.clock.now = first.clock.now + 4
    assert first.watermark() == NOW and first.statements == 1
    shared = second.states.read()
    assert shared.states["events_5m"].watermark == NOW and second.statements == 0
    assert shared.statement.startswith("-- rollup state read 4.0 s ago (shared)\nSELECT rollup")
    second.clock.now += TTL_S - 4  # as old as the TTL: read again, and shared again
    fresh.refresher().tick(now=NOW + timedelta(minutes=5))
    assert second.watermark() == NOW + timedelta(minutes=5) and second.statements == 1


def test_a_reader_whose_clock_is_behind_still_shares(fresh, readers, redis_server):
    """Another instance's clock a little ahead: its read counts as read now here, and is
    used no longer than the TTL plus the clocks' difference."""
    redis_server.client().flushall()
    fresh.refresher().tick(now=NOW, bounded=False)
    ahead, behind = (readers(shared=SharedStore(redis_server.url, 500, "business")) for _ in range(2))
    behind.clock.now = ahead.clock.now - 2
    assert ahead.watermark() == NOW and ahead.statements == 1
    assert behind.watermark() == NOW and behind.statements == 0
    behind.clock.now += TTL_S - 0.1
    assert behind.watermark() == NOW and behind.statements == 0  # held in memory
    behind.clock.now += 2.0
    assert behind.watermark() == NOW and behind.statements == 0  # Redis's copy, by the other clock
    behind.clock.now += 0.1
    behind.watermark()
    assert behind.statements == 1  # the TTL is over by either clock: read again


def test_garbage_or_no_redis_costs_a_statement_never_an_answer(fresh, readers, redis_server):
    redis_server.client().flushall()
    fresh.refresher().tick(now=NOW, bounded=False)
    store = SharedStore(redis_server.url, 500, "business")
    reader = readers(shared=store)
    assert reader.watermark() == NOW
    (key,) = redis_server.client().keys("lh:v*:business:rollup-state:*")
    redis_server.client().set(key, b"not a state", px=60_000)
    other = readers(shared=SharedStore(redis_server.url, 500, "business"))
    assert other.watermark() == NOW and other.statements == 1
    assert other.states.shared.health().state == "degraded"
    redis_server.stop()
    try:
        alone = readers(shared=SharedStore(redis_server.url, 500, "business"))
        assert alone.watermark() == NOW and alone.statements == 1
    finally:
        redis_server.start()


def test_the_default_grace_covers_the_ttl_and_the_longest_request():
    assert reader_grace_s(10) == 40.0
    assert refresh.RefreshLimits().reader_grace_s == 40.0


def test_a_rebuild_withdraws_the_rollup_and_leaves_its_table_to_readers_for_the_grace(fresh, readers):
    fresh.refresher().tick(now=NOW, bounded=False)
    rollup = fresh.rollups["events_5m"]
    changed = dataclasses.replace(rollup, sql=rollup.sql.replace("GROUP BY 1, 2", "GROUP BY 2, 1"))
    with deadline.bind(deadline.Deadline.after(3.0)):
        summary = fresh.refresher({"events_5m": changed}, reader_grace_s=30).tick(now=NOW)
    assert summary.rollups[0].action == "withdrawn"
    assert fresh.watermark() is None  # no new plan reads the table ...
    assert fresh.table() == fresh.expected(NOW)  # ... and a plan made before still finds it whole
    assert readers(ttl_s=0).states.read().states["events_5m"].watermark is None
    assert _usable(rollup, readers(ttl_s=0).states.read().states["events_5m"]) == (
        None,
        "events_5m has no watermark (being built, or withdrawn for a rebuild)",
    )
    slept = []
    original = refresh.time.sleep
    refresh.time.sleep = lambda seconds: slept.append(seconds) or original(min(seconds, 0.01))
    try:
        again = fresh.refresher({"events_5m": changed}, reader_grace_s=30).tick(now=NOW, bounded=False)
    finally:
        refresh.time.sleep = original
    assert again.rollups[0].action == "rebuilt" and fresh.table() == fresh.expected(NOW)
    assert len(slept) == 1 and 25 < slept[0] <= 31  # what was left of the grace since the withdrawal


def test_withdrawing_twice_counts_the_grace_from_the_first_time(fresh):
    fresh.refresher().tick(now=NOW, bounded=False)
    refresher = fresh.refresher()
    conn = refresher.connect()
    try:
        store = RollupStore(conn, fresh.schema)
        assert store.withdraw("events_5m", 30) == 30
        assert 28 <= store.withdraw("events_5m", 30) <= 31
        assert store.withdraw("no_such_rollup", 30) == 0
    finally:
        conn.close()


def test_a_rollup_never_refreshed_since_its_build_is_rebuilt_at_once(fresh):
    rollup = fresh.rollups["events_5m"]
    conn = fresh.refresher().connect()
    try:
        store = RollupStore(conn, fresh.schema)
        store.ensure_state_table()
        store.rebuild(rollup)  # built, no watermark: nobody can have planned from it
        assert store.withdraw("events_5m", 30) == 0
    finally:
        conn.close()


def test_a_drop_withdraws_before_it_waits_and_drops(fresh, monkeypatch):
    fresh.refresher().tick(now=NOW, bounded=False)
    seen = []

    def sleep(seconds):
        seen.append((seconds, fresh.watermark(), len(fresh.table())))

    monkeypatch.setattr(refresh.time, "sleep", sleep)
    fresh.refresher(reader_grace_s=30).drop()
    assert len(seen) == 1
    waited, watermark, rows = seen[0]
    assert waited == 30 and watermark is None and rows == len(fresh.expected(NOW))
    assert fresh.watermark() is None and fresh.origin() is None
