"""A time range cut into bucket-aligned pieces, the unit the shared results cache keeps.

A piece is ``BUCKETS_PER_PIECE`` buckets of the query's interval, aligned to the epoch
(so are the buckets of ``$__timeGroup``): every bucket lies in exactly one piece, and the
same piece of a moving window is the same piece on the next refresh. The plan of a range
``[from, to]`` (inclusive ms):

- ``head``: the part of the first bucket before ``from`` is not asked for, so the first
  bucket (when ``from`` is not on a bucket boundary) is queried on its own, exactly;
- ``pieces``: whole pieces, from the one holding the first whole bucket; the first is
  fetched whole and cut at the first whole bucket when read;
- the last piece is ``open`` when ``to`` ends inside it: it covers ``[start, to]`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

BUCKETS_PER_PIECE = 12


@dataclass(frozen=True)
class Piece:
    start_ms: int
    end_ms: int  # inclusive
    open: bool = False  # ends at the range's end, inside the piece


@dataclass(frozen=True)
class PiecePlan:
    head: tuple[int, int] | None  # the partial first bucket, inclusive ms
    first_whole_ms: int  # rows of buckets before this come from ``head`` only
    pieces: tuple[Piece, ...]
    piece_ms: int


def plan_pieces(from_ms: int, to_ms: int, interval_ms: int) -> PiecePlan | None:
    """The pieces of ``[from_ms, to_ms]``, or ``None`` when splitting would not pay
    (the range within one piece) or cannot be done exactly."""
    if interval_ms <= 0 or from_ms < 0 or to_ms < from_ms:
        return None
    piece_ms = interval_ms * BUCKETS_PER_PIECE
    first_whole = -(-from_ms // interval_ms) * interval_ms
    head = (from_ms, first_whole - 1) if first_whole != from_ms else None
    if first_whole > to_ms:
        return None
    first, last = first_whole // piece_ms, to_ms // piece_ms
    if first == last:
        return None
    pieces = []
    for index in range(first, last + 1):
        start, end = index * piece_ms, (index + 1) * piece_ms - 1
        pieces.append(Piece(start, min(end, to_ms), open=to_ms < end))
    return PiecePlan(head, first_whole, tuple(pieces), piece_ms)
