"""The protocol routes: simpod-json-datasource 0.6 plus legacy simple-json.

Each handler validates its body, asks the source, and returns a ``Response``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from http import HTTPStatus
from typing import Any, ClassVar

from grafana_scf import deadline
from grafana_scf.errors import BadRequestError, MethodNotAllowedError, NotFoundError, ServiceError
from grafana_scf.frames import DataResponse, QueryDataResponse
from grafana_scf.limits import AnswerBudget, RequestLimits
from grafana_scf.protocol import (
    DataQuery,
    QueryRequest,
    VariableRequest,
    adhoc_filters,
    expand_target,
    parse_payload,
    validate,
)
from grafana_scf.render import render_failures, render_query, render_rows
from grafana_scf.sources.base import Source
from grafana_scf.timerange import TimeFormatError, parse_range
from grafana_scf.transport import Request, Response

log = logging.getLogger("grafana_scf")

BACKEND_NAMES = {"mysql": "MySQL", "cloudmonitor": "Cloud Monitor"}
"""How a 504 names the backend that did not answer, by ``Source.kind``."""


class Router:
    """Maps (method, path) to the handler for one source."""

    ROUTES: ClassVar[dict[str, dict[str, str]]] = {
        "/": {"GET": "health", "HEAD": "health", "POST": "health"},
        "/health": {"GET": "health"},
        "/metrics": {"POST": "metrics"},
        "/metric-payload-options": {"POST": "metric_payload_options"},
        "/query": {"POST": "query"},
        "/variable": {"POST": "variable"},
        "/tag-keys": {"POST": "tag_keys"},
        "/tag-values": {"POST": "tag_values"},
        "/search": {"POST": "search"},
        "/annotations": {"POST": "annotations"},
    }

    def __init__(self, source: Source, limits: RequestLimits | None = None) -> None:
        self.source = source
        self.limits = limits or RequestLimits()
        self.backend = BACKEND_NAMES.get(source.kind, source.kind)

    def dispatch(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        methods = self.ROUTES.get(path)
        if methods is None:
            raise NotFoundError(f"no route {path}; routes: {', '.join(sorted(self.ROUTES))}")
        handler = methods.get(request.method)
        if handler is None:
            allowed = ", ".join([*methods, "OPTIONS"])
            raise MethodNotAllowedError(
                f"{path} accepts {', '.join(methods)}, not {request.method}", headers={"allow": allowed}
            )
        return getattr(self, handler)(request)

    def health(self, request: Request) -> Response:
        """Grafana's "Save & test" (simpod) shows ``<statusText>: <error.code>. <error.message>``
        for a failure, and only the status text when ``error`` is not that object."""
        result = self.source.check_health()
        body = {"status": result.status.lower(), "message": result.message, **result.details}
        shared = getattr(self.source, "shared", None)
        if shared is not None:  # the shared cache never fails the check: degraded is reported
            cache = shared.health()
            body["cache"] = cache.as_details()
            if cache.state == "degraded":
                body["message"] += f"; shared cache degraded ({cache.message})"
        if result.status == "OK":
            return Response.json(body)
        body["error"] = {"code": result.code or "UNHEALTHY", "message": result.message}
        return Response.json(body, HTTPStatus.SERVICE_UNAVAILABLE)

    def metrics(self, request: Request) -> Response:
        body = validate("metrics", request.json())
        payload = parse_payload(body.get("payload"), "metrics")
        return Response.json(self.source.list_metrics(body.get("metric") or None, payload))

    def metric_payload_options(self, request: Request) -> Response:
        body = validate("metric-payload-options", request.json())
        payload = parse_payload(body.get("payload"), body["metric"])
        options = self.source.metric_payload_options(body["metric"], body["name"], payload)
        return Response.json(options)

    def query(self, request: Request) -> Response:
        """Every visible target in order, under the request's one deadline.

        The caps are checked for every target before the first one runs; when the time
        is up, the targets not yet run answer a 504 naming them and the backend.
        """
        parsed = QueryRequest.from_body(request.json())
        refused = self._over_caps(parsed)
        if refused:
            return render_failures(refused)
        result = QueryDataResponse()
        limit, budget = deadline.current(), AnswerBudget(self.limits.max_answer_bytes)
        out_of_time = False
        for index, query in enumerate(parsed.queries):
            if out_of_time or limit.expired():
                late = DataResponse.from_error(limit.exceeded(self.backend))
                result.responses.update((q.ref_id, late) for q in parsed.queries[index:])
                break
            outcome = result.responses[query.ref_id] = self.run(query, budget)
            out_of_time = outcome.out_of_time  # a backend wait capped at the deadline ran out
            if budget.exceeded:
                answered = [ref for ref, response in result.responses.items() if response.ok]
                result.responses.update((ref, outcome) for ref in answered)
                break
        return render_query(result, parsed.answer_format, self.limits.max_answer_bytes)

    def _over_caps(self, parsed: QueryRequest) -> list[tuple[str, DataResponse]]:
        """The refIds refused by a cap (all of them for a request-wide cap); empty if none."""
        self.limits.check_targets(len(parsed.queries))
        try:
            self.limits.check_adhoc_values(parsed.queries[0].filters if parsed.queries else ())
        except ServiceError as exc:
            return [(q.ref_id, DataResponse.from_error(exc)) for q in parsed.queries]
        refused = []
        for query in parsed.queries:
            try:
                self.limits.check_alternatives(len(expand_target(query.target)))
            except ServiceError as exc:
                refused.append((query.ref_id, DataResponse.from_error(exc)))
        return refused

    def run(self, query: DataQuery, budget: AnswerBudget | None = None) -> DataResponse:
        """One target; ``(a|b)`` runs each name while time and answer room are left.
        Any failure stays inside the result."""
        limit = deadline.current()
        try:
            frames = []
            for name in expand_target(query.target):
                if limit.expired():
                    raise limit.exceeded(self.backend)
                answered = self.source.query(_renamed(query, name))
                if budget is not None:
                    budget.spend(answered)
                frames.extend(answered)
            return DataResponse(frames=frames)
        except Exception as exc:
            if not isinstance(exc, ServiceError):
                log.exception("%s: query crashed", query.ref_id)
            return DataResponse.from_error(exc)

    def variable(self, request: Request) -> Response:
        parsed = VariableRequest.from_body(request.json())
        return Response.json(self.source.variable(parsed))

    def tag_keys(self, request: Request) -> Response:
        validate("tag-keys", request.json())
        return Response.json(self.source.tag_keys())

    def tag_values(self, request: Request) -> Response:
        body = validate("tag-values", request.json())
        filters = adhoc_filters(body)
        self.limits.check_adhoc_values(filters)
        return Response.json(self.source.tag_values(body["key"], filters))

    def search(self, request: Request) -> Response:
        """Legacy: ``{target}`` names a variable query, or filters the metric names."""
        body = validate("search", request.json())
        target = (body.get("target") or "").strip()
        if target and target in self.source.variable_names():
            options = self.source.variable(VariableRequest(target, {}, None))
            return Response.json([{"text": o["__text"], "value": o["__value"]} for o in options])
        names = [m["value"] for m in self.source.list_metrics(None, {})]
        return Response.json([n for n in names if target.lower() in n.lower()])

    def annotations(self, request: Request) -> Response:
        """Legacy: ``annotation.query`` names an annotation source; answer event objects."""
        body = validate("annotations", request.json())
        annotation = body["annotation"]
        name = (annotation.get("query") or annotation.get("name") or "").strip().lstrip("#")
        if not name:
            raise BadRequestError("annotation.query must name an annotation source")
        sources = self.source.annotation_names()
        if name not in sources:
            known = ", ".join(sources) or "none"
            raise BadRequestError(
                f"annotation.query: {name!r} is not an annotation source (sources: {known})"
            )
        try:
            time_range = parse_range(body["range"]["from"], body["range"]["to"])
        except TimeFormatError as exc:
            raise BadRequestError(f"range: {exc}") from None
        query = DataQuery("Anno", name, {}, time_range)
        outcome = self.run(query)
        if not outcome.ok:
            raise ServiceError(f"{name}: {outcome.error}", outcome.status)
        return Response.json([_legacy_event(row, annotation) for row in render_rows(outcome.frames)])


def _renamed(query: DataQuery, target: str) -> DataQuery:
    if target == query.target:
        return query
    return replace(query, target=target)


def _legacy_event(row: dict[str, Any], annotation: dict[str, Any]) -> dict[str, Any]:
    event = {"annotation": annotation, **row}
    if row.get("timeEnd") is not None:
        event["isRegion"] = True
    return event
