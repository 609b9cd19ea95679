"""Rows to bytes and back, exactly: the cached answer must equal the uncached one.

JSON with tags for the types PyMySQL returns that JSON lacks (``Decimal``,
``datetime``, ``date``, ``timedelta``, ``bytes``); never pickle, so a value written into
Redis by anyone else can only ever be refused (``CodecError``), not run. Every value
starts with a checksum of the JSON (a value damaged or written by anything else is
refused whole, before any of its rows reach the shaping) and holds its format version.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from grafana_scf.shared.store import FORMAT_VERSION


class CodecError(ValueError):
    """Bytes from Redis that are not a value of ours (garbage, another format, truncated)."""


def _tag(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"f": repr(value)}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"D": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"s": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, (bytes, bytearray)):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _untag(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((kind, raw),) = value.items()
    if kind == "d":
        return Decimal(raw)
    if kind == "t":
        return dt.datetime.fromisoformat(raw)
    if kind == "D":
        return dt.date.fromisoformat(raw)
    if kind == "s":
        return dt.timedelta(days=raw[0], seconds=raw[1], microseconds=raw[2])
    if kind == "b":
        return base64.b64decode(raw)
    if kind == "f":
        return float(raw)
    raise ValueError(f"unknown tag {kind!r}")


def encode(document: dict[str, Any], rows: list[tuple[Any, ...]]) -> bytes:
    """``document`` (plain JSON) and ``rows`` (PyMySQL values) as one versioned value."""
    body = {"v": FORMAT_VERSION, **document, "rows": [[_tag(v) for v in row] for row in rows]}
    text = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    return _checksum(text) + b":" + text


def _checksum(text: bytes) -> bytes:
    """Catches a value that is not ours whole (garbage, truncated, edited): not a signature."""
    return hashlib.sha256(text).hexdigest()[:16].encode()


def digest(*parts: Any) -> str:
    """A key's digest of ``parts`` (plain JSON, anything else by ``repr``): never the parts themselves."""
    text = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def decode(raw: bytes) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The document and rows ``encode`` wrote; ``CodecError`` for anything else."""
    try:
        checksum, _, text = raw.partition(b":")
        if checksum != _checksum(text):
            raise ValueError("checksum mismatch")
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION:
            raise ValueError("not this format version")
        rows = [tuple(_untag(v) for v in row) for row in body.pop("rows")]
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ArithmeticError) as exc:
        raise CodecError(f"unreadable cached value ({type(exc).__name__})") from None
    return body, rows
