"""The app an SCF function hands every event to.

It reads the event (``events``), checks the token (``auth``), routes the request
to the protocol handlers (``routes``) and shapes the answer for the trigger that
asked. Built once per instance, at import time of the function's ``index.py``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

from grafana_scf import deadline, logsafe
from grafana_scf.auth import check_token
from grafana_scf.catalog_file import load_catalog_file
from grafana_scf.errors import ServiceError
from grafana_scf.events import TimerEvent, infer_event
from grafana_scf.limits import RequestLimits
from grafana_scf.render import render_error
from grafana_scf.routes import Router
from grafana_scf.settings import read_settings
from grafana_scf.sources.base import Source
from grafana_scf.sources.registry import build_source
from grafana_scf.transport import Request, Response

log = logging.getLogger("grafana_scf")


class App:
    """Routes HTTP events to one data source; never raises out of ``handle``."""

    def __init__(
        self,
        source: Source,
        token: str | None = None,
        name: str = "function",
        debug: bool = False,
        limits: RequestLimits | None = None,
    ) -> None:
        self.source = source
        self.token = token
        self.name = name
        self.debug = debug
        self.router = Router(source, limits)
        if not token:
            log.warning("%s: DATASOURCE_TOKEN is not set: every route is open", name)

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """SCF entry: an HTTP event in, an integrated response out."""
        started = time.perf_counter()
        if TimerEvent.matches(event):
            return self.handle_timer(TimerEvent(event), context)
        try:
            shape = infer_event(event)
            request = shape.to_request()
        except ServiceError as exc:
            log.warning("rejected event: %s", exc.message)
            return _integrated(render_error(exc))
        with deadline.bind(deadline.Deadline.from_context(context)):
            response = self.respond(request)
        log.info(
            "%s %s -> %d in %.1f ms",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return shape.to_response(response)

    def handle_timer(self, event: TimerEvent, context: Any = None) -> dict[str, Any]:
        """A timer tick: the source's timer work (the rollup refresher) within the time limit.

        The answer is a small JSON summary, also logged on one line; never raises.
        """
        started = time.perf_counter()
        work = getattr(self.source, "on_timer", None)
        with deadline.bind(deadline.Deadline.from_context(context)):
            try:
                if work is None:
                    summary: dict[str, Any] = {
                        "status": "ok",
                        "message": f"{self.source.kind}: no timer work",
                    }
                else:
                    summary = work(event)
            except Exception as exc:
                log.exception("timer %s crashed", event.trigger_name)
                summary = {"status": "error", "message": f"timer work failed ({type(exc).__name__})"}
        summary = {"trigger": event.trigger_name, **summary}
        line = json.dumps(summary, default=str, separators=(",", ":"))
        log.info(
            "timer %s -> %s in %.1f ms", event.trigger_name, line, (time.perf_counter() - started) * 1000
        )
        return summary

    def respond(self, request: Request) -> Response:
        """Auth, route, and turn any failure into a JSON error answer."""
        if request.method == "OPTIONS":
            return Response.empty(HTTPStatus.NO_CONTENT, allow="GET, HEAD, POST, OPTIONS")
        try:
            check_token(request, self.token)
            return self.router.dispatch(request)
        except ServiceError as exc:
            if exc.status >= 500:
                log.error("%s %s failed: %s", request.method, request.path, exc.message)
            return render_error(exc)
        except Exception as exc:
            log.exception("%s %s crashed", request.method, request.path)
            detail = f" ({type(exc).__name__})" if self.debug else ""
            return render_error(ServiceError(f"internal error{detail}; see the function log"))


def _integrated(response: Response) -> dict[str, Any]:
    return {
        "isBase64Encoded": False,
        "statusCode": int(response.status),
        "headers": dict(response.headers),
        "body": response.body.decode("utf-8"),
    }


def configure_logging(level: str) -> None:
    """Plain one-line logs on stderr (the SCF log), unless the host configured logging;
    either way our messages have their control characters escaped (``logsafe``)."""
    logsafe.install()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
    log.setLevel(level)


def create_app(index_file: str | os.PathLike[str], **overrides: Any) -> App:
    """The app for the function beside ``index_file``: its ``catalog.yaml`` and the settings."""
    function_dir = Path(index_file).resolve().parent
    settings = read_settings(**overrides)
    configure_logging(settings.log_level)
    started = time.perf_counter()
    catalog = load_catalog_file(function_dir / "catalog.yaml")
    source = build_source(catalog, settings, function_dir)
    log.info(
        "%s: %s source ready in %.1f ms",
        function_dir.name,
        source.kind,
        (time.perf_counter() - started) * 1000,
    )
    return App(
        source,
        token=settings.datasource_token,
        name=function_dir.name,
        debug=settings.grafana_backend_debug,
        limits=RequestLimits.from_settings(settings),
    )
