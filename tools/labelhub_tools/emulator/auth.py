"""Credentials the emulator accepts and the authentication of each request.

A ``CredentialStore`` holds key pairs: permanent ones (no token) and temporary STS
ones (a session token, optionally an expiry). ``authenticate`` checks a request the
way the API gateway does: Authorization header, clock skew, SecretId, signature,
then session token. Secret keys and tokens never leave this module in messages.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from labelhub_tools.emulator import signing
from labelhub_tools.emulator.errors import (
    AUTH_INVALID_SECRET_ID,
    AUTH_SECRET_ID_NOT_FOUND,
    AUTH_SIGNATURE_EXPIRE,
    AUTH_SIGNATURE_FAILURE,
    AUTH_TOKEN_FAILURE,
    ApiError,
    invalid_value,
    missing,
)

MAX_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class KeyPair:
    """One SecretId/SecretKey pair; ``token`` is set for temporary (STS) keys."""

    secret_id: str
    secret_key: str
    token: str | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class IncomingRequest:
    """What the server received: method, raw query, lower-cased headers and body."""

    method: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Caller:
    """An authenticated request: who sent it and the service its signature names."""

    secret_id: str
    service: str
    temporary: bool


# Demo credentials, documented in docs/emulator.md. They only work against the emulator.
DEMO_KEY = KeyPair("AKIDEMULATORDEMO00000000000000000001", "emulatorDemoSecretKey00000000001")
SECOND_DEMO_KEY = KeyPair("AKIDEMULATORDEMO00000000000000000002", "emulatorDemoSecretKey00000000002")
DEMO_STS_KEY = KeyPair(
    "AKIDEMULATORSTS000000000000000000001",
    "emulatorStsSecretKey000000000001",
    "emulator-sts-session-token-0001",
)
DEFAULT_SECRET_ID = DEMO_KEY.secret_id
DEFAULT_SECRET_KEY = DEMO_KEY.secret_key
SECOND_SECRET_ID = SECOND_DEMO_KEY.secret_id
SECOND_SECRET_KEY = SECOND_DEMO_KEY.secret_key
DEFAULT_STS_SECRET_ID = DEMO_STS_KEY.secret_id
DEFAULT_STS_SECRET_KEY = DEMO_STS_KEY.secret_key
DEFAULT_STS_TOKEN = DEMO_STS_KEY.token


def default_key_pairs() -> list[KeyPair]:
    """The demo key pairs: two permanent ones and one STS pair with a fixed token."""
    return [DEMO_KEY, SECOND_DEMO_KEY, DEMO_STS_KEY]


class CredentialStore:
    """Thread-safe map of SecretId to ``KeyPair``; also issues AssumeRole keys."""

    def __init__(self, pairs: Iterable[KeyPair] = ()) -> None:
        self._lock = threading.Lock()
        self._pairs: dict[str, KeyPair] = {}
        self._issued = 0
        for pair in pairs:
            self.add(pair)

    def add(self, pair: KeyPair) -> None:
        """Accept this key pair from now on (replacing one with the same SecretId)."""
        with self._lock:
            self._pairs[pair.secret_id] = pair

    def replace(self, pairs: Iterable[KeyPair]) -> None:
        """Forget every pair (issued ones too) and accept exactly ``pairs``."""
        with self._lock:
            self._pairs = {pair.secret_id: pair for pair in pairs}

    def get(self, secret_id: str) -> KeyPair | None:
        """The pair for a SecretId, or None."""
        with self._lock:
            return self._pairs.get(secret_id)

    def expire_tokens(self, at: float = 0.0) -> None:
        """Make every temporary key expire at ``at`` (default: long ago)."""
        with self._lock:
            for secret_id, pair in list(self._pairs.items()):
                if pair.token is not None:
                    self._pairs[secret_id] = KeyPair(pair.secret_id, pair.secret_key, pair.token, at)

    def issue_temporary(self, expires_at: float, seed: int = 0) -> KeyPair:
        """Create, store and return a new temporary key pair (as STS AssumeRole does)."""
        with self._lock:
            self._issued += 1
            digest = hashlib.sha256(f"{seed}:{self._issued}".encode()).hexdigest()
            pair = KeyPair(
                secret_id="AKIDTMP" + digest[:29].upper(),
                secret_key=digest[29:61],
                token="tmp-token-" + hashlib.sha256(digest.encode()).hexdigest()[:40],
                expires_at=expires_at,
            )
            self._pairs[pair.secret_id] = pair
            return pair


def _timestamp(headers: Mapping[str, str]) -> int:
    raw = headers.get("x-tc-timestamp")
    if raw is None:
        raise missing("X-TC-Timestamp")
    try:
        return int(raw)
    except ValueError:
        raise invalid_value("X-TC-Timestamp", "not a unix timestamp") from None


def _check_signature(request: IncomingRequest, auth: signing.Authorization, key: str, ts: int) -> None:
    if auth.date != signing.utc_date(ts):
        raise ApiError(AUTH_SIGNATURE_FAILURE, "The credential scope date does not match X-TC-Timestamp.")
    payload: bytes | str = request.body
    if request.method.upper() == "GET":
        payload = ""
    if request.headers.get("x-tc-content-sha256") == signing.UNSIGNED_PAYLOAD:
        payload = signing.UNSIGNED_PAYLOAD
    canonical = signing.canonical_request(
        request.method,
        request.query,
        request.headers,
        auth.signed_headers,
        signing.hash_payload(payload),
    )
    to_sign = signing.string_to_sign(ts, auth.date, auth.service, canonical)
    expected = signing.compute_signature(key, auth.date, auth.service, to_sign)
    if not signing.signatures_equal(expected, auth.signature):
        raise ApiError(
            AUTH_SIGNATURE_FAILURE,
            "The provided credentials could not be validated. Please check your signature is correct.",
        )


def _check_token(pair: KeyPair, token: str | None, now: float) -> None:
    if pair.token is None:
        if token:
            raise ApiError(AUTH_TOKEN_FAILURE, "A token was sent with a permanent key.")
        return
    if not token or not signing.signatures_equal(pair.token, token):
        raise ApiError(AUTH_TOKEN_FAILURE, "The token is missing or invalid.")
    if pair.expires_at is not None and pair.expires_at <= now:
        raise ApiError(AUTH_TOKEN_FAILURE, "The token has expired.")


def authenticate(request: IncomingRequest, store: CredentialStore, now: float) -> Caller:
    """Check a request's TC3 signature and token; return the caller or raise ``ApiError``."""
    auth = signing.parse_authorization(request.headers.get("authorization"))
    timestamp = _timestamp(request.headers)
    if abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS:
        raise ApiError(
            AUTH_SIGNATURE_EXPIRE,
            f"Signature expired: request timestamp {timestamp} is more than "
            f"{MAX_CLOCK_SKEW_SECONDS} s from server time {int(now)}.",
        )
    if not auth.secret_id.startswith("AKID"):
        raise ApiError(AUTH_INVALID_SECRET_ID, "Invalid SecretId (not an API key).")
    pair = store.get(auth.secret_id)
    if pair is None:
        raise ApiError(AUTH_SECRET_ID_NOT_FOUND, "The SecretId is not found, please ensure it exists.")
    _check_signature(request, auth, pair.secret_key, timestamp)
    _check_token(pair, request.headers.get("x-tc-token"), now)
    return Caller(pair.secret_id, auth.service, pair.token is not None)
