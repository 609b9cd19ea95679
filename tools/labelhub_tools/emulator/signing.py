"""TC3-HMAC-SHA256, the API 3.0 request signature, computed the way Tencent Cloud does.

The emulator verifies requests with these functions, rebuilding the canonical
request from what it *received* (method, raw query string, the signed headers and
the body). ``sign_request`` builds an ``Authorization`` header the same way, for
hand-made requests in tests.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from labelhub_tools.emulator.errors import AUTH_INVALID_AUTHORIZATION, ApiError

ALGORITHM = "TC3-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
REQUIRED_SIGNED_HEADERS = frozenset({"content-type", "host"})


@dataclass(frozen=True)
class Authorization:
    """The parts of a TC3 ``Authorization`` header."""

    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def utc_date(timestamp: int) -> str:
    """The ``YYYY-MM-DD`` UTC date of a unix timestamp, as used in the credential scope."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")


def parse_authorization(header: str | None) -> Authorization:
    """Split an ``Authorization`` header; ``AuthFailure.InvalidAuthorization`` if malformed."""
    if not header:
        raise ApiError(AUTH_INVALID_AUTHORIZATION, "The Authorization header is missing.")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ApiError(AUTH_INVALID_AUTHORIZATION, f"Only the {ALGORITHM} signature method is supported.")
    fields = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    scope = fields.get("Credential", "").split("/")
    signed = tuple(name for name in fields.get("SignedHeaders", "").split(";") if name)
    if len(scope) != 4 or scope[3] != "tc3_request" or not all(scope) or not signed:
        raise ApiError(AUTH_INVALID_AUTHORIZATION, "The Authorization header is malformed.")
    if not set(signed) >= REQUIRED_SIGNED_HEADERS or not fields.get("Signature"):
        raise ApiError(
            AUTH_INVALID_AUTHORIZATION,
            "SignedHeaders must include content-type and host, and a Signature must be given.",
        )
    return Authorization(scope[0], scope[1], scope[2], signed, fields["Signature"])


def hash_payload(payload: bytes | str) -> str:
    """Hex SHA-256 of a body; a ``str`` is hashed as UTF-8."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()


def canonical_request(
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload_digest: str,
) -> str:
    """The canonical request: method, URI ``/``, query, signed headers and payload hash.

    ``headers`` maps lower-case header names to the values received; each signed
    header is written as ``name:value`` with the value trimmed and lower-cased.
    """
    lines = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers)
    return "\n".join([method.upper(), "/", query, lines, ";".join(signed_headers), payload_digest])


def string_to_sign(timestamp: int | str, date: str, service: str, canonical: str) -> str:
    """The string the signature covers: algorithm, timestamp, scope, canonical-request hash."""
    scope = f"{date}/{service}/tc3_request"
    return "\n".join([ALGORITHM, str(timestamp), scope, hash_payload(canonical)])


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def compute_signature(secret_key: str, date: str, service: str, to_sign: str) -> str:
    """Hex signature: HMAC chain over ``"TC3" + key``, date, service, ``tc3_request``."""
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, received: str) -> bool:
    """Compare two hex signatures in constant time."""
    return hmac.compare_digest(expected.encode("ascii", "replace"), received.encode("ascii", "replace"))


def sign_request(
    secret_id: str,
    secret_key: str,
    *,
    service: str,
    host: str,
    payload: bytes | str,
    timestamp: int,
    content_type: str = "application/json",
    method: str = "POST",
    query: str = "",
) -> str:
    """Build the ``Authorization`` header a client would send for this request."""
    date = utc_date(timestamp)
    signed = ("content-type", "host")
    headers = {"content-type": content_type, "host": host}
    digest = hash_payload("" if method.upper() == "GET" else payload)
    canonical = canonical_request(method, query, headers, signed, digest)
    to_sign = string_to_sign(timestamp, date, service, canonical)
    signature = compute_signature(secret_key, date, service, to_sign)
    return (
        f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
