"""Errors that become HTTP answers: the class carries the status, the instance the message.

``plugin`` errors are our own fault (a bug, a bad catalog) and answer 500;
``downstream`` errors come from a bad request or a backend that said no (MySQL,
Cloud Monitor) and answer 4xx/502/504. Messages never hold secrets or tracebacks.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

ErrorSource = Literal["plugin", "downstream"]


class ServiceError(Exception):
    """An error with an HTTP status and a message safe to show to the caller."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    source: ErrorSource = "plugin"

    def __init__(
        self, message: str, status: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        if status is not None:
            self.status = int(status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"


class BadRequestError(ServiceError):
    """The request is malformed or names something that does not exist (400)."""

    status = HTTPStatus.BAD_REQUEST
    source = "downstream"


class UnauthorizedError(ServiceError):
    """The request carries no valid token (401)."""

    status = HTTPStatus.UNAUTHORIZED
    source = "downstream"
    code = "UNAUTHORIZED"  # answered as error: {code, message}, the shape "Save & test" reads


class NotFoundError(ServiceError):
    """No route at that path (404)."""

    status = HTTPStatus.NOT_FOUND
    source = "downstream"


class MethodNotAllowedError(ServiceError):
    """The route exists but not for that method (405)."""

    status = HTTPStatus.METHOD_NOT_ALLOWED
    source = "downstream"


class UnsupportedEventError(BadRequestError):
    """An SCF event of a shape we do not recognise."""


class DownstreamError(ServiceError):
    """A backend (MySQL, Cloud Monitor) failed: 502 by default, 504 on timeouts, 429 on limits."""

    status = HTTPStatus.BAD_GATEWAY
    source = "downstream"


class QueryError(ServiceError):
    """One query (one refId) failed; the renderer names the refId in the answer."""

    def __init__(
        self,
        message: str,
        status: int = HTTPStatus.BAD_REQUEST,
        source: ErrorSource = "downstream",
    ) -> None:
        super().__init__(message, status)
        self.source = source

    @classmethod
    def from_error(cls, error: Exception) -> QueryError:
        """Wrap any error raised while answering one query, keeping status and source."""
        if isinstance(error, QueryError):
            return error
        if isinstance(error, ServiceError):
            return cls(error.message, error.status, error.source)
        return cls("internal error while running the query", HTTPStatus.INTERNAL_SERVER_ERROR, "plugin")
