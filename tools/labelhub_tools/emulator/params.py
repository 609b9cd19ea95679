"""Reading action parameters: typed getters, unknown-parameter checks, time parsing.

Parameters arrive as the JSON body of a POST or, for GET, flattened into the query
string (``Instances.0.Dimensions.0.Name=InstanceId``); ``unflatten`` rebuilds the
nested structure so actions see the same dict either way. Integers may come as
digit strings (always the case with GET).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, overload

from labelhub_tools.emulator.errors import UNKNOWN_PARAMETER, ApiError, invalid_type, invalid_value
from labelhub_tools.emulator.errors import missing as missing_error

BEIJING = timezone(timedelta(hours=8))
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6})?(Z|[+-]\d{2}:\d{2})?$")


def check_known(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Raise ``UnknownParameter`` for a top-level parameter the action does not take."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ApiError(UNKNOWN_PARAMETER, f"The parameter `{unknown[0]}` is not recognized.")


@overload
def get_str(params: Mapping[str, Any], name: str, *, required: Literal[True]) -> str: ...
@overload
def get_str(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None: ...
def get_str(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string parameter, or None when absent and not required."""
    value = params.get(name)
    if value is None:
        if required:
            raise missing_error(name)
        return None
    if not isinstance(value, str):
        raise invalid_type(name, "a string")
    return value


@overload
def get_int(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int: ...
@overload
def get_int(
    params: Mapping[str, Any],
    name: str,
    *,
    default: None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None: ...
def get_int(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An integer parameter (a digit string is accepted), checked against its range."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(name, "an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise invalid_value(name, f"{value} is outside [{minimum}, {maximum}]")
    return value


def get_list(params: Mapping[str, Any], name: str, *, required: bool = False) -> list:
    """A list parameter (empty when absent and not required)."""
    value = params.get(name)
    if value is None:
        if required:
            raise missing_error(name)
        return []
    if not isinstance(value, list):
        raise invalid_type(name, "an array")
    return value


def get_str_list(params: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings; integers are turned into their decimal strings."""
    items = get_list(params, name)
    if not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in items):
        raise invalid_type(name, "an array of strings")
    return [str(item) for item in items]


def parse_time(name: str, raw: str) -> int:
    """Unix seconds of an API time: ISO-8601 with ``Z`` or an offset, or a local
    ``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DDTHH:MM:SS``, read as Beijing time."""
    text = raw.strip()
    if not _TIME_RE.match(text):
        raise invalid_value(name, f"{raw!r} is not a time like 2024-01-01T00:00:00+08:00")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise invalid_value(name, f"{raw!r} is not a valid date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return int(moment.timestamp())


def format_time(timestamp: float) -> str:
    """A unix time as the API writes it back: ISO-8601 in Beijing time, ``+08:00``."""
    return datetime.fromtimestamp(int(timestamp), tz=BEIJING).isoformat()


def _insert(node: dict[str, Any] | list[Any], parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if not head.isdigit():
            raise ApiError("InvalidParameter", f"Unexpected key {head!r} in a list parameter.")
        index = int(head)
        while len(node) <= index:
            node.append(None)
        if not rest:
            node[index] = value
            return
        if node[index] is None:
            node[index] = [] if rest[0].isdigit() else {}
        child = node[index]
    else:
        if not rest:
            node[head] = value
            return
        if node.get(head) is None:
            node[head] = [] if rest[0].isdigit() else {}
        child = node[head]
    _insert(child, rest, value)


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested parameters from GET query pairs such as ``Instances.0.Dimensions.0.Name``."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        try:
            _insert(result, key.split("."), value)
        except (TypeError, AttributeError):
            raise ApiError("InvalidParameter", f"Malformed parameter name {key!r}.") from None
    return result
