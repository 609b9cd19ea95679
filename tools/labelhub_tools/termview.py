"""Frames in a terminal: time series as sparklines with stats, tables as aligned text."""

from __future__ import annotations

import datetime as dt
from typing import Any

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], width: int = 60) -> str:
    """Values squeezed into ``width`` bars; gaps (None) show as spaces."""
    if not values:
        return ""
    buckets = _buckets(values, width)
    present = [v for v in buckets if v is not None]
    if not present:
        return " " * len(buckets)
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else _BARS[min(len(_BARS) - 1, int((v - low) / span * (len(_BARS) - 1) + 0.5))]
        for v in buckets
    )


def _buckets(values: list[float | None], width: int) -> list[float | None]:
    if len(values) <= width:
        return list(values)
    size = len(values) / width
    out = []
    for i in range(width):
        chunk = [v for v in values[int(i * size) : int((i + 1) * size)] if v is not None]
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return out


def _when(ms: Any) -> str:
    if not isinstance(ms, (int, float)):
        return str(ms)
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _number(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        if value.is_integer() or abs(value) >= 1e6:
            return f"{value:,.0f}"
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def describe_series(frame: dict[str, Any], width: int = 60) -> str:
    """One time series frame: its name and labels, a sparkline, and min/max/mean/last."""
    fields = frame["fields"]
    times = next(f for f in fields if f["type"] == "time")["values"]
    value_field = next(f for f in fields if f["type"] == "number")
    values = value_field["values"]
    labels = value_field.get("labels") or {}
    title = value_field["name"] + (
        " {" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    )
    present = [v for v in values if v is not None]
    unit = (value_field.get("config") or {}).get("unit", "")
    lines = [f"{title}  ({len(values)} points{', unit ' + unit if unit else ''})"]
    if times:
        lines.append(f"  {_when(times[0])} .. {_when(times[-1])} UTC")
    lines.append("  " + sparkline(values, width))
    if present:
        mean = sum(present) / len(present)
        lines.append(
            f"  min {_number(min(present))}  max {_number(max(present))}  "
            f"mean {_number(mean)}  last {_number(values[-1])}"
        )
    return "\n".join(lines)


def describe_table(frame: dict[str, Any], max_rows: int = 20) -> str:
    """A table frame as aligned columns (times in UTC), at most ``max_rows`` rows."""
    fields = frame["fields"]
    header = [f["name"] for f in fields]
    columns = []
    for f in fields:
        render = _when if f["type"] == "time" else _number if f["type"] == "number" else _cell
        columns.append([render(v) for v in f["values"][:max_rows]])
    rows = list(zip(*columns)) if columns else []
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)
    total = len(fields[0]["values"]) if fields else 0
    if total > max_rows:
        lines.append(f"... {total - max_rows} more rows")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def describe_frames(frames: list[dict[str, Any]], width: int = 60) -> str:
    out = []
    for frame in frames:
        kind = (frame.get("meta") or {}).get("type", "")
        if kind.startswith("timeseries"):
            out.append(describe_series(frame, width))
        else:
            out.append(f"{frame.get('name', '')}\n" + describe_table(frame))
        for notice in (frame.get("meta") or {}).get("notices", []):
            out.append(f"  note: {notice['text']}")
    return "\n\n".join(out) if out else "(no data)"
