"""Tencent Cloud API calls: signed by the SDK, limited, retried and classified here.

Monitor actions go through ``MonitorClient`` and its request models; listings
(cvm, cdb, scf, clb, DescribeRegions) through ``CommonClient.call_json``. Every
attempt first takes a token from the account's bucket (``ratelimit``). Throttling
(``RequestLimitExceeded*``) and network errors are retried with exponential
backoff and jitter, never with the SDK's ``StandardRetryer`` (it re-raises a
stale error after a later success). Failures become ``ApiFailure`` with a kind
and the HTTP status the answer should carry; messages never hold secrets.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from grafana_scf import deadline as request_deadline
from grafana_scf.deadline import DeadlineExceeded
from grafana_scf.errors import BadRequestError, DownstreamError, ServiceError
from grafana_scf.settings import Settings
from grafana_scf.shared.gcra import Limiter, SharedRateLimit
from grafana_scf.shared.gcra import RateLimitTimeout as SharedRateLimitTimeout
from grafana_scf.shared.store import SharedStore
from grafana_scf.sources.cloudmonitor.credentials import Credentials, read_credentials, scrub
from grafana_scf.sources.cloudmonitor.ratelimit import RateLimitTimeout, bucket_for

log = logging.getLogger("grafana_scf.cloudmonitor")

MONITOR_VERSION = "2018-07-24"
QUERY_BUDGET_S = 20.0
"""The time of one target's calls outside a request (a bare call, the CLI); inside one, the
request's deadline is the only limit."""
MIN_CALL_S = 0.2
"""No call or retry starts with less time than this left."""
OUT_OF_TIME = "DeadlineExceeded"
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 2.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_STATUS = {
    "throttled": 429,
    "timeout": 504,
    "network": 502,
    "auth": 502,
    "request": 400,
    "service": 502,
    "credentials": 500,
}
_REQUEST_CODES = (
    "InvalidParameter",
    "MissingParameter",
    "UnknownParameter",
    "ResourceNotFound",
    "UnsupportedRegion",
    "InvalidFilter",
)


class ApiFailure(ServiceError):
    """A call that failed for good; ``kind`` says why and sets the HTTP status."""

    def __init__(self, kind: str, code: str, detail: str, request_id: str | None = None) -> None:
        self.kind, self.code, self.detail, self.request_id = kind, code, detail, request_id
        suffix = f" (RequestId {request_id})" if request_id else ""
        super().__init__(f"{detail}{suffix}", _STATUS[kind])

    @property
    def retriable(self) -> bool:
        return self.kind in ("throttled", "timeout", "network")


@dataclass(frozen=True)
class Endpoint:
    """Where calls go: the public ``<service>.tencentcloudapi.com``, or ``CLOUD_API_ENDPOINT``."""

    protocol: str = "https"
    host_template: str | None = None

    @classmethod
    def parse(cls, raw: str | None) -> Endpoint:
        """``http://127.0.0.1:9100``, ``https://{service}.internal.tencentcloudapi.com`` or unset."""
        text = (raw or "").strip()
        if not text:
            return cls()
        parts = urlsplit(text if "://" in text else f"https://{text}")
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError(f"CLOUD_API_ENDPOINT={text!r}: expected http(s)://host[:port]")
        return cls(parts.scheme, parts.netloc)

    def host(self, service: str) -> str | None:
        return self.host_template.replace("{service}", service) if self.host_template else None

    @property
    def loopback(self) -> bool:
        return bool(self.host_template) and urlsplit(f"//{self.host_template}").hostname in _LOOPBACK

    def describe(self) -> str:
        if not self.host_template:
            return "https://<service>.tencentcloudapi.com"
        return f"{self.protocol}://{self.host_template}"


class CallStats:
    """Thread-safe counters of the attempts made for one request: calls and retries per action."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.retries = 0

    def count(self, action: str, retry: bool) -> None:
        with self._lock:
            self.calls[action] = self.calls.get(action, 0) + 1
            self.retries += int(retry)

    def of(self, action: str) -> int:
        return self.calls.get(action, 0)


def budget() -> tuple[CallStats, float]:
    """Fresh call counters and the deadline (``time.monotonic``) of the calls of one target.

    Inside a request that is the request's deadline (``deadline.current()``), shared by
    all its targets; outside one (a bare call, the CLI), ``QUERY_BUDGET_S`` from now.
    """
    limit = request_deadline.current()
    seconds = QUERY_BUDGET_S if limit is request_deadline.UNBOUNDED else limit.remaining_s()
    return CallStats(), time.monotonic() + seconds


def out_of_time(failure: ApiFailure) -> bool:
    """Whether ``failure`` comes from the time running out (the request's, or ``QUERY_BUDGET_S``)."""
    return failure.code == OUT_OF_TIME or (failure.kind == "timeout" and request_deadline.current().expired())


def deadline_error(prefix: str, what: str) -> DeadlineExceeded:
    """The 504 of a target whose calls did not finish within the request's time limit."""
    limit = request_deadline.current()
    if limit is request_deadline.UNBOUNDED:
        return DeadlineExceeded(f"{prefix}Cloud Monitor did not answer within {QUERY_BUDGET_S:g} s: {what}")
    within = f"the request's time limit ({limit.budget_s:.1f} s)"
    return DeadlineExceeded(f"{prefix}Cloud Monitor did not answer within {within}: {what}")


def as_answer(exc: ApiFailure, prefix: str) -> ServiceError:
    """An API failure as the request's error, with what was being done in front."""
    if out_of_time(exc):
        return deadline_error(prefix, exc.detail)
    if exc.kind == "request":
        return BadRequestError(prefix + exc.message)
    if exc.kind == "credentials":
        return ServiceError(prefix + exc.message, exc.status)
    return DownstreamError(prefix + exc.message, exc.status)


class CloudApi:
    """Signed, rate-limited, retried Tencent Cloud API calls with fresh credentials each time."""

    def __init__(self, settings: Settings, shared: SharedStore | None = None) -> None:
        from tencentcloud.common import credential
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.monitor.v20180724 import models, monitor_client

        # The SDK's DEBUG log dumps whole requests, X-TC-Token included: keep it quiet.
        logging.getLogger("tencentcloud_sdk_common").setLevel(logging.WARNING)
        self._credential, self._common, self._sdk_error = credential, CommonClient, TencentCloudSDKException
        self._profiles = (ClientProfile, HttpProfile)
        self._monitor, self._models = monitor_client, models
        self.settings = settings
        self.endpoint = Endpoint.parse(settings.cloud_api_endpoint)
        self.timeout = settings.cloud_api_timeout_s
        self.retries = max(0, int(settings.cloud_api_retries))
        self.rate = settings.cloud_api_rate_limit
        self.shared = shared
        self._clients: dict[tuple[str | int | None, ...], Any] = {}
        self._clients_lock = threading.Lock()

    def limiter(self, secret_id: str) -> Limiter:
        """The account's limit: shared by all instances in Redis, else this instance's bucket."""
        local = bucket_for(secret_id, self.rate)
        if self.shared is None or not self.shared.enabled:
            return local
        return SharedRateLimit(self.shared, secret_id, self.rate, local)

    def credentials(self) -> Credentials:
        """The credentials of this moment (re-read from the environment every time)."""
        return read_credentials(self.settings)

    # -- the two kinds of call --------------------------------------------------

    def monitor(
        self, action: str, region: str, params: Mapping[str, Any], stats: CallStats, deadline: float
    ) -> dict[str, Any]:
        """A monitor (2018-07-24) action through ``MonitorClient``; the ``Response`` as a dict."""

        def send(client: Any) -> dict[str, Any]:
            request = getattr(self._models, f"{action}Request")()
            request.from_json_string(json.dumps(params))
            return json.loads(getattr(client, action)(request).to_json_string())

        return self._with_retries("monitor", MONITOR_VERSION, action, region, send, stats, deadline)

    def common(
        self,
        service: str,
        version: str,
        action: str,
        region: str,
        params: Mapping[str, Any],
        stats: CallStats,
        deadline: float,
    ) -> dict[str, Any]:
        """Any other API 3.0 action through ``CommonClient.call_json``; the ``Response``."""

        def send(client: Any) -> dict[str, Any]:
            try:
                return client.call_json(action, dict(params))["Response"]
            except (ValueError, KeyError, TypeError) as exc:  # a 200 that is not an API answer
                raise self._sdk_error(type(exc).__name__, "the answer is not an API 3.0 response") from None

        return self._with_retries(service, version, action, region, send, stats, deadline)

    # -- retries ------------------------------------------------------------------

    def _with_retries(
        self,
        service: str,
        version: str,
        action: str,
        region: str,
        send: Callable[[Any], dict[str, Any]],
        stats: CallStats,
        deadline: float,
    ) -> dict[str, Any]:
        try:
            credentials = self.credentials()
        except ServiceError as exc:
            raise ApiFailure("credentials", "NoCredentials", exc.message) from None
        bucket = self.limiter(credentials.secret_id)
        for attempt in range(self.retries + 1):
            if deadline - time.monotonic() < MIN_CALL_S:
                raise ApiFailure("timeout", OUT_OF_TIME, f"{action}: no time left for a call")
            try:
                bucket.acquire(deadline)
            except (RateLimitTimeout, SharedRateLimitTimeout) as exc:
                raise ApiFailure("throttled", "ClientRateLimit", f"{action}: {exc}") from None
            stats.count(action, retry=attempt > 0)
            call_timeout = min(float(self.timeout), max(MIN_CALL_S, deadline - time.monotonic()))
            try:
                client = self._client(service, version, region, credentials)
                client.request.conn.timeout = call_timeout
                return send(client)
            except self._sdk_error as exc:
                failure = self._classify(exc, credentials, call_timeout)
            if not failure.retriable or attempt == self.retries:
                raise failure
            delay = _backoff(attempt)
            if time.monotonic() + delay + MIN_CALL_S > deadline:
                raise failure
            log.info("%s %s: %s; retry %d in %.2f s", action, region, failure.code, attempt + 1, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _classify(self, exc: Any, credentials: Credentials, timeout: float) -> ApiFailure:
        code = str(exc.get_code() or "UnknownError")
        raw = exc.get_message()
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        message = scrub(message, credentials)
        request_id = exc.get_request_id()
        if code.startswith("RequestLimitExceeded"):
            return ApiFailure("throttled", code, f"{code}: {message}", request_id)
        if code == "ClientNetworkError":
            if "timed out" in message.lower() or "timeout" in message.lower():
                return ApiFailure("timeout", code, f"no answer within {timeout:g} s")
            return ApiFailure("network", code, f"network error: {message[:200]}")
        if code == "ServerNetworkError":
            return ApiFailure("network", code, "the API answered with an HTTP error status")
        if code.startswith("AuthFailure") or code == "InvalidCredential":
            return ApiFailure(
                "auth", code, f"Tencent Cloud refused the credentials: {code}: {message}", request_id
            )
        if code.startswith(_REQUEST_CODES):
            return ApiFailure("request", code, f"{code}: {message}", request_id)
        return ApiFailure("service", code, f"{code}: {message}", request_id)

    # -- clients ------------------------------------------------------------------

    def _client(self, service: str, version: str, region: str, credentials: Credentials) -> Any:
        """A client per (service, region, key, thread); rebuilt when the role's keys rotate.

        Per thread, because each call sets its own timeout (what is left of the deadline)
        on its client's connection.
        """
        key = (
            service, version, region, credentials.secret_id, credentials.secret_key, credentials.token,
            threading.get_ident(),
        )  # fmt: skip
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                if len(self._clients) >= 64:
                    self._clients.clear()
                client = self._clients[key] = self._build(service, version, region, credentials)
            return client

    def _build(self, service: str, version: str, region: str, credentials: Credentials) -> Any:
        client_profile, http_profile = self._profiles
        cred = self._credential.Credential(credentials.secret_id, credentials.secret_key, credentials.token)
        http = http_profile(
            protocol=self.endpoint.protocol, endpoint=self.endpoint.host(service), reqTimeout=self.timeout
        )
        profile = client_profile(httpProfile=http, language="en-US")
        if service == "monitor":
            client = self._monitor.MonitorClient(cred, region, profile)
        else:
            client = self._common(service, version, cred, region, profile)
        if self.endpoint.loopback:
            _no_proxy(client)
        return client


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random."""
    step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return step / 2 + random.uniform(0, step / 2)


def _no_proxy(client: Any) -> None:
    """A loopback endpoint (the emulator) is never reached through a proxy.

    For http endpoints the SDK hands ``HTTP_PROXY`` to requests itself, and its own
    ``NO_PROXY`` check is a substring test that misses ``127.0.0.1:PORT``.
    """
    connection = getattr(getattr(client, "request", None), "conn", None)
    if connection is None:
        return
    connection.proxy = None
    session = getattr(connection, "_session", None)
    if session is not None:
        session.trust_env = False
