"""Request processing independent of HTTP: faults, authentication, routing, rate
limit, the action itself, statistics and logging.

``Emulator.handle`` turns one ``IncomingRequest`` into a ``Reply``; the HTTP server
only reads requests and writes replies.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from labelhub_tools.emulator import actions, listings
from labelhub_tools.emulator.auth import CredentialStore, IncomingRequest, KeyPair, authenticate
from labelhub_tools.emulator.context import ActionContext, Limits
from labelhub_tools.emulator.errors import (
    INTERNAL_ERROR,
    INVALID_ACTION,
    INVALID_PARAMETER,
    NO_SUCH_VERSION,
    REQUEST_LIMIT_EXCEEDED,
    UNSUPPORTED_REGION,
    ApiError,
    missing,
)
from labelhub_tools.emulator.faults import FaultConfig, FaultDice, RateLimiter, Stats
from labelhub_tools.emulator.inventory import AVAILABLE_REGIONS
from labelhub_tools.emulator.params import unflatten

logger = logging.getLogger("labelhub_tools.emulator")

Handler = Callable[[ActionContext, dict[str, Any]], dict[str, Any]]

ROUTES: dict[str, dict[str, dict[str, Handler]]] = {
    "monitor": {
        "2018-07-24": {
            "GetMonitorData": actions.get_monitor_data,
            "DescribeBaseMetrics": actions.describe_base_metrics,
            "DescribeAlarmHistories": actions.describe_alarm_histories,
        }
    },
    "cvm": {
        "2017-03-12": {
            "DescribeInstances": listings.describe_instances,
            "DescribeRegions": listings.describe_regions,
        }
    },
    "cdb": {"2017-03-20": {"DescribeDBInstances": listings.describe_db_instances}},
    "scf": {
        "2018-04-16": {
            "ListFunctions": listings.list_functions,
            "ListNamespaces": listings.list_namespaces,
        }
    },
    "clb": {"2018-03-17": {"DescribeLoadBalancers": listings.describe_load_balancers}},
    "api": {"2020-11-06": {"DescribeRegions": listings.describe_regions_api}},
    "sts": {"2018-08-13": {"AssumeRole": listings.assume_role}},
}
REGIONLESS_ACTIONS = frozenset({("cvm", "DescribeRegions"), ("api", "DescribeRegions")})
HTTP_ERROR_BODY = b"<html><body><h1>Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class Reply:
    """What to send back: status, body and type, after waiting ``delay`` seconds.

    ``hang`` > 0 means: wait that long, then close the connection without answering.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    hang: float = 0.0


def resolve_route(service: str, version: str | None, action: str | None) -> Handler:
    """The handler for service/version/action, or the API error a real endpoint gives."""
    if not action:
        raise missing("Action")
    if not version:
        raise missing("Version")
    versions = ROUTES.get(service, {})
    if not any(action in handlers for handlers in versions.values()):
        raise ApiError(INVALID_ACTION, f"The action `{action}` of service `{service}` is not found.")
    if action not in versions.get(version, {}):
        raise ApiError(NO_SUCH_VERSION, f"The API version `{version}` of `{action}` does not exist.")
    return versions[version][action]


def _check_region(service: str, action: str, region: str | None) -> None:
    if (service, action) in REGIONLESS_ACTIONS:
        return
    if not region:
        raise missing("Region")
    if region not in AVAILABLE_REGIONS:
        raise ApiError(UNSUPPORTED_REGION, f"The region `{region}` is not supported.")


def parse_params(request: IncomingRequest) -> dict[str, Any]:
    """Action parameters from a JSON POST body or a flattened GET query string."""
    if request.method.upper() == "GET":
        return unflatten(parse_qsl(request.query, keep_blank_values=True))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(INVALID_PARAMETER, "POST bodies must be application/json.")
    try:
        params = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(INVALID_PARAMETER, "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise ApiError(INVALID_PARAMETER, "The request body must be a JSON object.")
    return params


def json_reply(payload: dict[str, Any]) -> Reply:
    """A 200 reply with ``{"Response": {...payload, "RequestId"}}``."""
    body = {"Response": {**payload, "RequestId": str(uuid.uuid4())}}
    return Reply(body=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def error_reply(error: ApiError) -> Reply:
    """A 200 reply carrying ``Response.Error``."""
    return json_reply({"Error": {"Code": error.code, "Message": error.message}})


class Emulator:
    """The emulator's state (keys, faults, limits, stats) and its request processing."""

    def __init__(self, credentials: Iterable[KeyPair], faults: FaultConfig, limits: Limits):
        self.initial_credentials = list(credentials)
        self.credentials = CredentialStore(self.initial_credentials)
        self.initial_faults = faults
        self.faults = faults
        self.limits = limits
        self.dice = FaultDice()
        self.limiter = RateLimiter()
        self.stats = Stats()
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()

    def now(self) -> float:
        """The emulator's clock: wall time plus the ``clock_skew`` knob."""
        return self.clock() + self.faults.clock_skew

    def set_faults(self, **knobs: Any) -> FaultConfig:
        """Change some fault knobs (the others keep their values); returns the result."""
        with self._lock:
            self.faults = self.faults.updated(**knobs)
            return self.faults

    def reset(self) -> None:
        """Back to the start-up knobs and keys; full rate buckets; zero stats and draws."""
        with self._lock:
            self.faults = self.initial_faults
        self.credentials.replace(self.initial_credentials)
        self.dice.reset()
        self.limiter.reset()
        self.stats.reset()

    def handle(self, request: IncomingRequest) -> Reply:
        """Process one API request and return the reply to send."""
        started = time.monotonic()
        faults = self.faults
        headers = request.headers
        record: dict[str, Any] = {
            "action": headers.get("x-tc-action", ""),
            "service": None,
            "version": headers.get("x-tc-version"),
            "region": headers.get("x-tc-region"),
        }
        hits = faults.applies_to(record["action"])
        call = self.dice.next_call(record["action"])
        reply = self._infrastructure_fault(faults, record["action"], call) if hits else None
        if reply is None:
            reply = self._answer(request, record, faults, call if hits else None)
        else:
            record["outcome"] = "timeout" if reply.hang else f"http_{reply.status}"
        self._log(record, started)
        self.stats.record(record)
        return dataclasses.replace(reply, delay=faults.latency_ms / 1000 if hits else 0.0)

    @staticmethod
    def _infrastructure_fault(faults: FaultConfig, action: str, call: int) -> Reply | None:
        if FaultDice.draw(faults.seed, action, call, "timeout") < faults.timeout_rate:
            return Reply(hang=faults.timeout_seconds)
        if FaultDice.draw(faults.seed, action, call, "http") < faults.http_error_rate:
            return Reply(faults.http_error_status, HTTP_ERROR_BODY, "text/html")
        return None

    def _answer(
        self,
        request: IncomingRequest,
        record: dict[str, Any],
        faults: FaultConfig,
        call: int | None,
    ) -> Reply:
        try:
            caller = authenticate(request, self.credentials, self.now())
            record["service"] = caller.service
            handler = resolve_route(caller.service, record["version"], record["action"])
            record["params"] = params = parse_params(request)
            _check_region(caller.service, record["action"], record["region"])
            self._limit(caller.secret_id, record["action"], faults)
            if call is not None:
                self._service_fault(faults, record["action"], call)
            context = ActionContext(record["region"], self.now(), self.limits, self.credentials, faults.seed)
            payload = handler(context, params)
        except ApiError as error:
            record["outcome"] = error.code
            return error_reply(error)
        except Exception:
            logger.exception("emulator bug while answering %s", record["action"])
            record["outcome"] = INTERNAL_ERROR
            return error_reply(ApiError(INTERNAL_ERROR, "The emulator failed unexpectedly."))
        record["outcome"] = "ok"
        return json_reply(payload)

    def _limit(self, secret_id: str, action: str, faults: FaultConfig) -> None:
        if not self.limiter.allow((secret_id, action), faults.rate_limit, faults.burst):
            raise ApiError(
                REQUEST_LIMIT_EXCEEDED,
                f"Your requests to {action} exceed the limit of {faults.rate_limit:g} "
                "per second; please retry later.",
            )

    @staticmethod
    def _service_fault(faults: FaultConfig, action: str, call: int) -> None:
        if FaultDice.draw(faults.seed, action, call, "throttle") < faults.throttle_rate:
            raise ApiError(REQUEST_LIMIT_EXCEEDED, "Request limit exceeded (injected).")
        if FaultDice.draw(faults.seed, action, call, "error") < faults.error_rate:
            raise ApiError(INTERNAL_ERROR, "An internal error has occurred (injected).")

    @staticmethod
    def _log(record: dict[str, Any], started: float) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info(
            "%s service=%s region=%s -> %s (%.1f ms)",
            record["action"] or "-",
            record["service"] or "-",
            record["region"] or "-",
            record["outcome"],
            elapsed_ms,
        )
