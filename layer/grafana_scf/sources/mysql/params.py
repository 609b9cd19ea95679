"""Catalog parameters: declared with JSON Schema types, checked against each payload.

A payload value may arrive as Grafana sends it: a string (builder mode, or a
single-value variable), a number, an array (an unquoted multi-value variable in
code mode), or a regex alternation ``(a|b)`` (a multi-value variable in builder
mode). Each is coerced to the declared type; anything else is a 400 naming the
parameter and the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grafana_scf.errors import BadRequestError
from grafana_scf.protocol import empty_payload_hint, split_alternation

_TYPES = ("string", "integer", "number", "boolean")


@dataclass(frozen=True)
class Param:
    """One declared parameter of a catalog entry."""

    name: str
    type: str = "string"
    multi: bool = False
    required: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 200
    label: str | None = None
    description: str | None = None
    options_from: str | None = None

    @classmethod
    def from_dict(cls, name: str, raw: Mapping[str, Any]) -> Param:
        enum = raw.get("enum")
        return cls(
            name=name,
            type=raw.get("type", "string"),
            multi=bool(raw.get("multi", False)),
            required=bool(raw.get("required", False)),
            default=raw.get("default"),
            enum=tuple(enum) if enum is not None else None,
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            max_length=int(raw.get("maxLength", 200)),
            label=raw.get("label"),
            description=raw.get("description"),
            options_from=raw.get("options_from"),
        )

    def resolve(self, payload: Mapping[str, Any]) -> Any:
        """The bound value for this parameter: coerced payload value, default, or None."""
        raw = payload.get(self.name)
        if raw is None or raw == "" or raw == []:
            if self.required and self.default is None:
                raise ValueError("is required")
            return self.default
        if self.multi:
            items = _as_list(raw)
            if len(items) > 1000:
                raise ValueError("takes at most 1000 values")
            return [self.coerce(item) for item in items]
        if isinstance(raw, list):
            if len(raw) != 1:
                raise ValueError("takes a single value, got a list")
            raw = raw[0]
        return self.coerce(raw)

    def coerce(self, value: Any) -> Any:
        converted = _convert(self.type, value)
        if self.enum is not None and converted not in self.enum:
            allowed = ", ".join(map(str, self.enum))
            raise ValueError(f"must be one of {allowed}, got {value!r}")
        if isinstance(converted, (int, float)) and not isinstance(converted, bool):
            if self.minimum is not None and converted < self.minimum:
                raise ValueError(f"must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and converted > self.maximum:
                raise ValueError(f"must be <= {self.maximum}, got {value!r}")
        if isinstance(converted, str) and len(converted) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        return converted


def _as_list(raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str):
        parts = split_alternation(raw)
        if parts is not None:
            return parts
    return [raw]


def checked_text(text: str) -> str:
    """``text`` if it has a UTF-8 form (a lone surrogate from JSON's ``\\ud800`` has none)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (it holds a lone surrogate)") from None
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _article(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _convert(type_name: str, value: Any) -> Any:
    if isinstance(value, (dict, list)):
        raise ValueError(f"must be {_article(type_name)}, got {type(value).__name__}")
    if type_name == "string":
        if isinstance(value, bool):
            raise ValueError(f"must be a string, got {value!r}")
        return checked_text(str(value))
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise ValueError(f"must be true or false, got {value!r}")
    if isinstance(value, bool):
        raise ValueError(f"must be {_article(type_name)}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be {_article(type_name)}, got {_shown(value)}") from None
    except OverflowError:
        raise ValueError(f"is out of range, got {_shown(value)}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"must be a finite {type_name}, got {value!r}")
    if type_name == "integer":
        if not number.is_integer():
            raise ValueError(f"must be an integer, got {value!r}")
        return int(number)
    return number


def resolve_params(params: Mapping[str, Param], payload: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Every declared parameter's value for one payload; unknown keys are refused."""
    unknown = sorted(set(payload) - set(params))
    if unknown:
        allowed = ", ".join(sorted(params)) or "none"
        raise BadRequestError(f"{where}: unknown parameter {unknown[0]!r} (parameters: {allowed})")
    values = {}
    for name, param in params.items():
        try:
            values[name] = param.resolve(payload)
        except ValueError as exc:
            hint = empty_payload_hint(payload) if param.required else ""
            raise BadRequestError(f"{where}: parameter {name!r} {exc}{hint}") from None
    return values
