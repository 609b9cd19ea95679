"""Cloud Monitor answers -> Grafana frames.

Time series are dataplane ``timeseries-multi``: one ``[time, value]`` frame per
instance, labelled so every series is unique (metric, instance, alias, region).
Values sit on the period grid of the range: a slot the API did not report is a
``null``, never an invented value; a reported timestamp off the grid is kept.
Alarm histories become an annotation frame: time, timeEnd, title, text, tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grafana_scf.frames import Field, Frame, series_frame
from grafana_scf.sources.cloudmonitor.fetch import Points


def on_grid(grid_s: Sequence[int], points: Points) -> tuple[list[int], list[float | None]]:
    """Every grid slot (ms) with its reported value or ``None``; off-grid reports kept."""
    known = dict(zip(points.timestamps, points.values))
    slots = sorted(set(grid_s).union(known))
    return [t * 1000 for t in slots], [known.get(t) for t in slots]


def instance_frame(
    name: str,
    grid_s: Sequence[int],
    points: Points,
    labels: Mapping[str, str],
    *,
    period: int,
    unit: str | None,
    display: str,
) -> Frame:
    """One instance's series as a ``[time, value]`` frame."""
    times, values = on_grid(grid_s, points)
    config: dict[str, Any] = {"displayNameFromDS": display}
    if unit:
        config["unit"] = unit
    return series_frame(
        name, times, values, dict(labels), time_config={"interval": period * 1000}, value_config=config
    )


def annotation_frame(name: str, histories: Sequence[Mapping[str, Any]]) -> Frame:
    """Alarm histories -> time, timeEnd, title, text, tags (a list per row)."""
    rows = sorted(histories, key=lambda h: int(h.get("FirstOccurTime") or 0))
    fields = [
        Field("time", "time", [int(h.get("FirstOccurTime") or 0) * 1000 for h in rows]),
        Field("timeEnd", "time", [_end_ms(h) for h in rows]),
        Field("title", "string", [_title(h) for h in rows]),
        Field("text", "string", [str(h.get("Content") or "") for h in rows]),
        Field("tags", "other", [_tags(h) for h in rows]),
    ]
    return Frame(name, fields, meta={"type": "table", "typeVersion": [0, 0]})


def _end_ms(history: Mapping[str, Any]) -> int | None:
    last = history.get("LastOccurTime")
    return int(last) * 1000 if last else None


def _title(history: Mapping[str, Any]) -> str:
    policy = str(history.get("PolicyName") or "alarm")
    target = str(history.get("AlarmObject") or "")
    return f"{policy}: {target}" if target else policy


def _tags(history: Mapping[str, Any]) -> list[str]:
    keys = ("AlarmStatus", "AlarmLevel", "PolicyName", "Namespace")
    return [str(history[k]) for k in keys if history.get(k)]
