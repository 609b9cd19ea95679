"""What the refresher answers: a tick's summary (one JSON line), and a rollup's status row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grafana_scf.sources.mysql.rollup_store import RollupState
from grafana_scf.sources.mysql.rollups import Rollup


@dataclass
class RollupOutcome:
    """What a tick did to one rollup."""

    rollup: str
    action: str = "refreshed"  # refreshed | rebuilt | withdrawn (waiting for readers) | stopped | failed
    watermark: datetime | None = None
    buckets: int = 0
    rows_written: int = 0
    rows_read: int = 0
    behind_buckets: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if v is not None}
        if self.watermark is not None:
            data["watermark"] = self.watermark.isoformat() + "Z"
        return data


@dataclass
class TickSummary:
    """A tick's answer: logged on one line, returned by the timer invocation."""

    status: str = "ok"  # ok | skipped (lock held) | partial (a bound stopped it) | error
    stopped_by: str | None = None  # time | rows
    error: str | None = None  # when the writer could not connect
    seconds: float = 0.0
    rollups: list[RollupOutcome] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            **({"stopped_by": self.stopped_by} if self.stopped_by else {}),
            **({"error": self.error} if self.error else {}),
            "seconds": round(self.seconds, 3),
            "rows_written": sum(o.rows_written for o in self.rollups),
            "rows_read": sum(o.rows_read for o in self.rollups),
            "rollups": [o.to_json() for o in self.rollups],
        }


def status_row(
    rollup: Rollup, state: RollupState | None, snapshots: tuple[int, datetime | None] | None = None
) -> dict[str, Any]:
    """A rollup's status; ``snapshots``: (snapshots held, the latest boundary), when it keeps them."""
    row: dict[str, Any] = {"rollup": rollup.name, "grain_s": rollup.grain_s, "lateness": rollup.lateness}
    if rollup.snapshot_ms:
        held, last = snapshots or (0, None)
        row.update(snapshot_s=rollup.snapshot_s, snapshots=held, last_snapshot=last)
    if state is None:
        return {**row, "state": "absent"}
    fresh = state.definition_hash == rollup.definition_hash and state.watermark is not None
    stale = state.definition_hash != rollup.definition_hash
    return {
        **row,
        "state": "fresh" if fresh else "stale" if stale else "building",
        "origin": state.origin,
        "watermark": state.watermark,
        "refreshed_at": state.refreshed_at,
        "rows_written": state.rows_written,
        "rows_read": state.rows_read,
        "buckets": state.buckets,
        "tick_ms": state.tick_ms,
    }


def error_text(exc: Exception) -> str:
    """The server's message (never a password: PyMySQL errors carry none) or the class name."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[1], str):
        return f"({args[0]}) {args[1]}"
    return str(exc) if isinstance(exc, (KeyError, ValueError)) else type(exc).__name__
