"""The business function's shared results cache (Redis), split by time pieces.

A time-series entry whose SQL only groups by ``$__interval`` buckets inside
``$__timeFilter`` (no ``$__timeFrom``, window functions, ``LIMIT`` or clock functions)
is answered piece by piece (``shared.pieces``): each piece's rows are cached under the
normalised query (entry, SQL, bound parameters and ad hoc values, interval, database)
and the piece's start; only the missing pieces are asked for, one statement per run
of adjacent missing pieces. Pieces that ended before ``SHARED_CACHE_RECENT_S`` are
immutable and kept ``SHARED_CACHE_TTL_S``; later ones, the open piece (read back only
when at most ``SHARED_CACHE_RECENT_TTL_S`` older than the asked end) and the partial
first bucket expire after ``SHARED_CACHE_RECENT_TTL_S``. The rows are shaped once, as
for an uncached query, so the answer is the same value by value.

Any other entry (tables, annotations, non-splittable series) is cached whole for
``SHARED_CACHE_RECENT_TTL_S``; a range ending now is served an answer at most that much
older (as the open piece). A truncated result (row cap) is never cached: the query runs
uncached. Every backend call goes through ``coalesced``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grafana_scf.shared.coalesce import coalesced
from grafana_scf.shared.codec import CodecError, decode, digest, encode
from grafana_scf.shared.pieces import Piece, PiecePlan, plan_pieces
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.mysql.catalog import Entry
from grafana_scf.sources.mysql.compiler import BoundSql
from grafana_scf.sources.mysql.database import QueryResult
from grafana_scf.sources.mysql.shaping import to_epoch_ms

_TIME_PARAMS = frozenset({"__from", "__to", "__from_dt", "__to_dt"})
_GROUP_MACROS = frozenset({"timeGroup", "timeGroupAlias", "unixEpochGroup", "unixEpochGroupAlias"})
_FILTER_MACROS = frozenset({"timeFilter", "unixEpochFilter"})
_SPLIT_SAFE_MACROS = _GROUP_MACROS | _FILTER_MACROS | {"inFilter", "adhocFilters", "time", "timeEpoch"}
_GROUP_BY_INTERVAL = re.compile(
    r"\$__(?:timeGroup|timeGroupAlias|unixEpochGroup|unixEpochGroupAlias)\s*\([^,()]+,\s*\$__interval(?:_ms)?\s*[,)]"
)
_NOT_SPLITTABLE = re.compile(r"\bOVER\s*\(|\bLIMIT\b|\bNOW\s*\(|UTC_TIMESTAMP|CURRENT_|\bSYSDATE\b", re.I)
_TIME_NAMES = ("time", "time_sec")
_UNIX_TIME_MAX_MS = 2_147_483_647_000


class _RunUncached(Exception):
    """The pieces cannot reproduce the uncached answer (row cap): run the query whole."""


@dataclass(frozen=True)
class CacheTimes:
    ttl_s: int
    recent_s: int
    recent_ttl_s: int


def splittable(entry: Entry, bound: BoundSql) -> bool:
    """Whether the entry's rows are per-bucket aggregates that pieces reproduce exactly."""
    macros = bound.used_macros
    return (
        entry.kind == "metric"
        and entry.format == "timeseries"
        and bool(macros & _GROUP_MACROS)
        and bool(macros & _FILTER_MACROS)
        and macros <= _SPLIT_SAFE_MACROS
        and len(_GROUP_BY_INTERVAL.findall(entry.sql)) == 1
        and not _NOT_SPLITTABLE.search(entry.sql)
    )


class SharedResults:
    """Answers ``QueryResult``s through the shared store, exactly as ``run`` would alone."""

    def __init__(
        self, store: SharedStore, times: CacheTimes, database: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.times = times
        self.database = database
        self._clock = clock

    def answer(
        self,
        entry: Entry,
        bound: BoundSql,
        span: tuple[int, int],
        interval_ms: int,
        compile_range: Callable[[int, int], BoundSql],
        run: Callable[[BoundSql], QueryResult],
        max_rows: int,
    ) -> QueryResult:
        plan = plan_pieces(*span, interval_ms) if span[1] <= _UNIX_TIME_MAX_MS else None
        if plan is None or not splittable(entry, bound):
            return self._whole(entry, bound, span, interval_ms, lambda: (run(bound), {}))[0]
        try:
            return _Assembly(self, entry, bound, span, plan, compile_range, run, max_rows).result()
        except _RunUncached:
            return run(bound)

    # -- whole answers -----------------------------------------------------------

    def planned(
        self,
        entry: Entry,
        bound: BoundSql,
        span: tuple[int, int],
        interval_ms: int,
        plan: Callable[[], tuple[QueryResult, dict[str, Any]]],
    ) -> tuple[QueryResult, dict[str, Any]]:
        """A rollup-planned answer and its plan meta, cached whole like a table's answer (the
        planner reads few rows, but several statements: the state, the pieces)."""
        return self._whole(entry, bound, span, interval_ms, plan, "planned")

    def _whole(
        self,
        entry: Entry,
        bound: BoundSql,
        span: tuple[int, int],
        interval_ms: int,
        compute_answer: Callable[[], tuple[QueryResult, dict[str, Any]]],
        kind: str = "whole",
    ) -> tuple[QueryResult, dict[str, Any]]:
        """The answer (and what ``meta`` it carries) cached whole, briefly. A range ending in
        the recent window is keyed by its length (viewers' clocks differ by seconds), or by
        its start when that is an interval boundary (``ALIGN_RANGE_START``: the viewers'
        starts are the same, their lengths not): an answer up to
        ``SHARED_CACHE_RECENT_TTL_S`` older serves it (like the open piece); an older range
        by its exact bounds."""
        recent = span[1] >= self.now_ms() - self.times.recent_s * 1000
        fixed = {k: v for k, v in bound.params.items() if k not in _TIME_PARAMS}
        aligned = interval_ms > 0 and span[0] % interval_ms == 0
        anchor: tuple[Any, ...] = ("fixed", span)
        if recent:
            anchor = ("ending now, from", span[0]) if aligned else ("ending now", span[1] - span[0])
        name = digest(kind, entry.name, entry.sql, bound.text, fixed, anchor, self.database)
        key = self.store.key(kind, name)

        def lookup() -> tuple[QueryResult, dict[str, Any]] | None:
            value = self.read(key)
            if value is None:
                return None
            doc, rows = value
            cached_to, executed, meta = doc.get("to"), doc.get("executed"), doc.get("meta", {})
            if not isinstance(executed, str) or not isinstance(cached_to, int) or not isinstance(meta, dict):
                self.store.report("GET", "unreadable value under a results key (no statement or end)")
                return None
            if not 0 <= span[1] - cached_to <= self.times.recent_ttl_s * 1000:
                return None
            return QueryResult(_columns(doc), rows, False, executed), meta

        def compute() -> tuple[QueryResult, dict[str, Any]]:
            result, meta = compute_answer()
            if not result.truncated:
                doc = {"columns": result.columns, "executed": result.executed, "to": span[1], "meta": meta}
                self.store.set(key, encode(doc, result.rows), self.times.recent_ttl_s)
            return result, meta

        return coalesced(self.store, name, lookup, compute)

    # -- reading and writing values ---------------------------------------------------

    def read(self, key: str, raw: bytes | None = None, fetched: bool = False) -> Any:
        """The decoded value under ``key`` (``raw`` when already fetched); garbage is a fault and a miss."""
        if not fetched:
            raw = self.store.get(key)
        if raw is None:
            return None
        try:
            doc, rows = decode(raw)
            columns = _columns(doc)
            if any(len(row) != len(columns) for row in rows):
                raise CodecError("rows do not match the columns")
        except (CodecError, KeyError, TypeError, ValueError) as exc:
            self.store.refuse(key, "a results", str(exc))
            return None
        return doc, rows

    def ttl_for(self, piece: Piece) -> int:
        recent_from_ms = (self._clock() - self.times.recent_s) * 1000
        long_lived = not piece.open and piece.end_ms < recent_from_ms
        return self.times.ttl_s if long_lived else self.times.recent_ttl_s

    def now_ms(self) -> float:
        return self._clock() * 1000


class _Assembly:
    """One split query: pieces read, the missing ones fetched (coalesced), rows put together."""

    def __init__(
        self,
        cache: SharedResults,
        entry: Entry,
        bound: BoundSql,
        span: tuple[int, int],
        plan: PiecePlan,
        compile_range: Callable[[int, int], BoundSql],
        run: Callable[[BoundSql], QueryResult],
        max_rows: int,
    ) -> None:
        self.cache, self.store, self.entry, self.bound = cache, cache.store, entry, bound
        self.span, self.plan = span, plan
        self.compile_range, self.run = compile_range, run
        fixed = {k: v for k, v in bound.params.items() if k not in _TIME_PARAMS}
        parts = (entry.name, entry.sql, bound.text, fixed, plan.piece_ms, cache.database)
        self.identity = digest("pieces", *parts)
        self.columns: list[tuple[str, int]] | None = None
        self.max_rows = max_rows

    def key(self, piece: Piece) -> str:
        kind = "open" if piece.open else "piece"
        return self.store.key(kind, f"{self.identity}:{piece.start_ms}")

    def result(self) -> QueryResult:
        rows_by_piece = self.lookup(self.plan.pieces)
        missing = [p for p in self.plan.pieces if p not in rows_by_piece]
        for run in _adjacent_runs(missing):
            rows_by_piece.update(self.fetch_run(run))
        rows: list[tuple[Any, ...]] = []
        if self.plan.head is not None:
            rows.extend(self.fetch_head(*self.plan.head))
        time_index = self.time_index()
        for piece in self.plan.pieces:
            piece_rows = rows_by_piece[piece]
            if piece.start_ms < self.plan.first_whole_ms:
                piece_rows = [r for r in piece_rows if _bucket_ms(r, time_index) >= self.plan.first_whole_ms]
            rows.extend(piece_rows)
        return self.finish(rows)

    def finish(self, rows: list[tuple[Any, ...]]) -> QueryResult:
        if len(rows) > self.max_rows:
            raise _RunUncached()
        return QueryResult(self.columns or [], rows, False, _mogrify(self.bound))

    def time_index(self) -> int:
        names = [name.lower() for name, _ in self.columns or []]
        index = next((i for i, name in enumerate(names) if name in _TIME_NAMES), None)
        if index is None:
            raise _RunUncached()
        return index

    def lookup(self, pieces: list[Piece] | tuple[Piece, ...]) -> dict[Piece, list[tuple[Any, ...]]]:
        """The pieces found in the store (an open piece only when recent enough)."""
        keys = [self.key(p) for p in pieces]
        found: dict[Piece, list[tuple[Any, ...]]] = {}
        for piece, key, raw in zip(pieces, keys, self.store.mget(keys)):
            value = self.cache.read(key, raw, fetched=True)
            if value is None:
                continue
            doc, rows = value
            if piece.open and not self._fresh_enough(doc.get("to")):
                continue
            self.columns = self.columns or _columns(doc)
            found[piece] = rows
        return found

    def _fresh_enough(self, cached_to: Any) -> bool:
        asked_to = self.span[1]
        if not isinstance(cached_to, int) or cached_to > asked_to:
            return False
        return asked_to - cached_to <= self.cache.times.recent_ttl_s * 1000

    def fetch_run(self, run: list[Piece]) -> dict[Piece, list[tuple[Any, ...]]]:
        """Adjacent missing pieces with one statement (or from whoever is fetching them)."""
        ends = "open" if run[-1].open else run[-1].end_ms
        name = f"{self.identity}:{run[0].start_ms}:{ends}"

        def lookup() -> dict[Piece, list[tuple[Any, ...]]] | None:
            found = self.lookup(run)
            return found if len(found) == len(run) else None

        def compute() -> dict[Piece, list[tuple[Any, ...]]]:
            result = self.statement(run[0].start_ms, run[-1].end_ms)
            by_piece: dict[Piece, list[tuple[Any, ...]]] = {p: [] for p in run}
            starts = {p.start_ms: p for p in run}
            index = self.time_index()
            for row in result.rows:
                piece = starts.get(_bucket_ms(row, index) // self.plan.piece_ms * self.plan.piece_ms)
                if piece is None:
                    raise _RunUncached()
                by_piece[piece].append(row)
            items = []
            for piece, rows in by_piece.items():
                doc = {"columns": self.columns, "to": piece.end_ms}
                items.append((self.key(piece), encode(doc, rows), self.cache.ttl_for(piece)))
            self.store.set_many(items)
            return by_piece

        return coalesced(self.store, name, lookup, compute)

    def fetch_head(self, from_ms: int, to_ms: int) -> list[tuple[Any, ...]]:
        """The partial first bucket, exactly as asked (kept briefly: equal requests share it)."""
        name = f"{self.identity}:head:{from_ms}:{to_ms}"
        key = self.store.key("head", name)

        def lookup() -> list[tuple[Any, ...]] | None:
            value = self.cache.read(key)
            return None if value is None else value[1]

        def compute() -> list[tuple[Any, ...]]:
            rows = self.statement(from_ms, to_ms).rows
            self.store.set(key, encode({"columns": self.columns}, rows), self.cache.times.recent_ttl_s)
            return rows

        return coalesced(self.store, name, lookup, compute)

    def statement(self, from_ms: int, to_ms: int) -> QueryResult:
        result = self.run(self.compile_range(from_ms, to_ms))
        if result.truncated:
            raise _RunUncached()
        self.columns = self.columns or [(str(n), int(c)) for n, c in result.columns]
        return result


def _adjacent_runs(pieces: list[Piece]) -> list[list[Piece]]:
    runs: list[list[Piece]] = []
    for piece in pieces:
        if runs and runs[-1][-1].end_ms + 1 == piece.start_ms:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs


def _bucket_ms(row: tuple[Any, ...], index: int) -> int:
    value = to_epoch_ms(row[index])
    if value is None:
        raise _RunUncached()
    return value


def _columns(doc: dict[str, Any]) -> list[tuple[str, int]]:
    columns = doc["columns"]
    if not isinstance(columns, list):
        raise CodecError("no column list")
    out = []
    for item in columns:
        name, code = item
        if not isinstance(name, str) or not isinstance(code, int):
            raise CodecError("bad column")
        out.append((name, code))
    return out


def _mogrify(bound: BoundSql) -> str:
    """The statement as PyMySQL's ``cursor.mogrify`` writes it (``executedQueryString``)."""
    from pymysql.converters import escape_item

    return bound.text % {name: escape_item(value, "utf8mb4") for name, value in bound.params.items()}
