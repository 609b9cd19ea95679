"""Read-only request and plain response objects shared by every event shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

from grafana_scf.errors import BadRequestError

_REDACTED_HEADERS = frozenset({"authorization", "cookie", "x-tc-token", "x-api-key"})


@dataclass(frozen=True)
class Request:
    """One HTTP request, whatever event it came in. Header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str | list[str]] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str | None = None

    def __post_init__(self) -> None:
        lowered = {str(k).lower(): str(v) for k, v in self.headers.items()}
        object.__setattr__(self, "headers", MappingProxyType(lowered))
        object.__setattr__(self, "query", MappingProxyType(dict(self.query)))
        object.__setattr__(self, "method", self.method.upper())

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; an empty body is ``{}``; bad JSON is a 400."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequestError(f"request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadRequestError("request body is nested too deeply") from None

    def __str__(self) -> str:
        shown = {k: ("<redacted>" if k in _REDACTED_HEADERS else v) for k, v in self.headers.items()}
        return f"{self.method} {self.path} headers={shown}"


JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def encode_json(data: Any) -> bytes:
    """Compact UTF-8 JSON; never a NaN literal."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (echoed from a hostile request) has no UTF-8 form: escape it.
        return json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


@dataclass(frozen=True)
class Response:
    """A response before it is shaped for the event that asked for it."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, data: Any, status: int = HTTPStatus.OK, headers: Mapping[str, str] | None = None
    ) -> Response:
        return cls(status, encode_json(data), {**JSON_HEADERS, **(headers or {})})

    @classmethod
    def error(
        cls, status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> Response:
        return cls.json({"message": message, **extra}, status, headers)

    @classmethod
    def empty(cls, status: int = HTTPStatus.NO_CONTENT, **headers: str) -> Response:
        return cls(status, b"", headers)
