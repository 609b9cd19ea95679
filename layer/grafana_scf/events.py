"""SCF event shapes. Each class recognises its own events.

The app tries ``EVENT_SHAPES`` in order and takes the first whose ``matches`` is
true; a new trigger type is a new class here, not a new branch in the app. A timer
event (``TimerEvent``) is not a request: the app hands it to the source's timer work.
Only ``httpMethod``, ``path``, lower-case ``headers``, ``queryString``, ``body``
and ``isBase64Encoded`` are read; ``requestContext`` is optional.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, ClassVar

from grafana_scf.errors import BadRequestError, UnsupportedEventError
from grafana_scf.transport import Request, Response


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadRequestError("event body must be a string")
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("event body is marked base64 but does not decode") from None
    return body.encode("utf-8", "surrogatepass")


def _query(event: Mapping[str, Any]) -> dict[str, str | list[str]]:
    raw = event.get("queryString") or {}
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): (v if isinstance(v, list) else str(v)) for k, v in raw.items()}


class HttpEvent:
    """What both HTTP triggers share: how a request is read and a response written."""

    name: ClassVar[str] = "http"

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    @classmethod
    def matches(cls, event: Any) -> bool:
        raise NotImplementedError

    def path(self) -> str:
        return str(self.event.get("path") or "/")

    def source_ip(self) -> str | None:
        return None

    def to_request(self) -> Request:
        headers = self.event.get("headers") or {}
        return Request(
            method=str(self.event.get("httpMethod") or "GET"),
            path=self.path(),
            headers=headers if isinstance(headers, Mapping) else {},
            query=_query(self.event),
            body=_body_bytes(self.event),
            source_ip=self.source_ip(),
        )

    @staticmethod
    def to_response(response: Response) -> dict[str, Any]:
        """The integrated response both triggers accept."""
        try:
            body = response.body.decode("utf-8")
            encoded = False
        except UnicodeDecodeError:
            body = base64.b64encode(response.body).decode("ascii")
            encoded = True
        return {
            "isBase64Encoded": encoded,
            "statusCode": int(response.status),
            "headers": dict(response.headers),
            "body": body,
        }


class ApiGatewayEvent(HttpEvent):
    """API Gateway trigger (legacy): has ``requestContext`` with ``serviceId``.

    ``path`` is the actual request path without the stage; under a prefix API
    (``requestContext.path`` = ``/grafana``) the prefix is stripped so routes see
    ``/query`` whatever the API path is.
    """

    name = "apigw"

    @classmethod
    def matches(cls, event: Any) -> bool:
        context = event.get("requestContext") if isinstance(event, Mapping) else None
        return isinstance(context, Mapping) and "serviceId" in context and "httpMethod" in event

    def path(self) -> str:
        path = super().path()
        prefix = str(self.event["requestContext"].get("path") or "")
        if "{" in prefix:
            prefix = prefix[: prefix.index("{")]
        prefix = prefix.rstrip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
        return path

    def source_ip(self) -> str | None:
        return self.event["requestContext"].get("sourceIp")


class FunctionUrlEvent(HttpEvent):
    """Function URL trigger: the API Gateway shape minus ``requestContext`` and friends."""

    name = "function-url"

    @classmethod
    def matches(cls, event: Any) -> bool:
        return (
            isinstance(event, Mapping)
            and isinstance(event.get("httpMethod"), str)
            and isinstance(event.get("path"), str)
            and "requestContext" not in event
        )

    def source_ip(self) -> str | None:
        headers = self.event.get("headers") or {}
        return headers.get("x-scf-remote-addr") if isinstance(headers, Mapping) else None


EVENT_SHAPES: tuple[type[HttpEvent], ...] = (ApiGatewayEvent, FunctionUrlEvent)


class TimerEvent:
    """Timer trigger: ``{"Type": "Timer", "TriggerName", "Time", "Message"}``.

    ``Message`` is the trigger's ``argument`` (at most 4 KB). The answer is the
    function's return value, logged by SCF; nothing is sent anywhere.
    """

    name: ClassVar[str] = "timer"

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    @classmethod
    def matches(cls, event: Any) -> bool:
        return (
            isinstance(event, Mapping)
            and event.get("Type") == "Timer"
            and isinstance(event.get("TriggerName"), str)
            and "httpMethod" not in event
        )

    @property
    def trigger_name(self) -> str:
        return str(self.event["TriggerName"])

    @property
    def time(self) -> str:
        return str(self.event.get("Time") or "")

    @property
    def message(self) -> str:
        return str(self.event.get("Message") or "")


def infer_event(event: Any) -> HttpEvent:
    """The shape object for ``event``; ``UnsupportedEventError`` names what was seen."""
    for shape in EVENT_SHAPES:
        if shape.matches(event):
            return shape(event)
    if isinstance(event, Mapping):
        keys = ", ".join(sorted(map(str, event))[:8]) or "no keys"
        seen = f"an object with {keys}"
    else:
        seen = type(event).__name__
    raise UnsupportedEventError(
        f"unsupported event: expected an API Gateway or Function URL HTTP event, or a timer, got {seen}"
    )
