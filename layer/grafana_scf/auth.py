"""Bearer-token auth: ``Authorization: Bearer <token>`` or Basic with the token as password."""

from __future__ import annotations

from grafana_scf.errors import UnauthorizedError
from grafana_scf.transport import Request


def presented_token(request: Request) -> str | None:
    """The token a request carries, from a Bearer or a Basic ``Authorization`` header."""
    header = (request.header("authorization") or "").strip()
    scheme, _, credentials = header.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "bearer" and credentials:
        return credentials
    if scheme == "basic" and credentials:
        import base64
        import binascii

        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(":")[2] or None
    return None


def check_token(request: Request, expected: str | None) -> None:
    """Raise 401 unless the request carries ``expected`` (compared in constant time)."""
    if not expected:
        return
    token = presented_token(request)
    if token is None:
        raise UnauthorizedError("missing credentials: send Authorization: Bearer <token>")
    import hmac

    try:
        presented = token.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a JSON escape): no UTF-8 form, no match
        raise UnauthorizedError("invalid token") from None
    if not hmac.compare_digest(presented, expected.encode("utf-8")):
        raise UnauthorizedError("invalid token")
