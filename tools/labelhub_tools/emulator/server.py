"""The HTTP side of the emulator: a threading HTTP server, the admin endpoints and
the handle tests use (``start_emulator``).

API requests may go to any path (the SDK uses ``/``) except the admin ones, which
are not signed:

* ``GET  /__emulator__/health``: ``{"ok": true}``
* ``GET  /__emulator__/stats``: call counts per action and outcome
* ``GET  /__emulator__/requests[?action=Name]``: the latest requests and their params
* ``GET  /__emulator__/faults``: the current fault knobs
* ``POST /__emulator__/faults``: change knobs, body ``{"error_rate": 0.5, ...}``
* ``POST /__emulator__/reset``: back to the start-up knobs and keys, zero stats
* ``POST /__emulator__/expire-tokens``: make every STS token expired
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labelhub_tools.emulator.auth import IncomingRequest, KeyPair, default_key_pairs
from labelhub_tools.emulator.context import Limits
from labelhub_tools.emulator.dispatch import Emulator, Reply
from labelhub_tools.emulator.faults import FaultConfig

logger = logging.getLogger("labelhub_tools.emulator")
ADMIN_PREFIX = "/__emulator__/"
MAX_BODY_BYTES = 4 * 1024 * 1024


class EmulatorServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that answers with an ``Emulator``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.emulator = emulator
        self.closing = threading.Event()


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the emulator or the admin API, writes the reply."""

    server: EmulatorServer
    server_version = "TencentCloudApiEmulator/1.0"

    def do_POST(self) -> None:
        """Handle a POST (API call or admin command)."""
        self._dispatch()

    def do_GET(self) -> None:
        """Handle a GET (API call with query parameters, or admin query)."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Send http.server's access log to DEBUG; requests are logged at INFO elsewhere."""
        logger.debug("%s " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._write(Reply(413, b"request body too large", "text/plain"))
            return
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith(ADMIN_PREFIX):
            self._write(admin(self.server.emulator, self.command, url.path, url.query, body))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.emulator.handle(IncomingRequest(self.command, url.query, headers, body))
        if reply.delay and self.server.closing.wait(reply.delay):
            return
        if reply.hang:
            self.server.closing.wait(reply.hang)
            self.close_connection = True
            return
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its timeout ran out during a latency fault).
            self.close_connection = True


def _admin_json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def admin(emulator: Emulator, method: str, path: str, query: str, body: bytes) -> Reply:
    """Answer one admin request (unsigned; for tests and manual poking)."""
    name = path[len(ADMIN_PREFIX) :].strip("/")
    if (method, name) == ("GET", "health"):
        return _admin_json(200, {"ok": True})
    if (method, name) == ("GET", "stats"):
        return _admin_json(200, emulator.stats.snapshot())
    if (method, name) == ("GET", "requests"):
        action = parse_qs(query).get("action", [None])[0]
        return _admin_json(200, emulator.stats.recent(action))
    if (method, name) == ("GET", "faults"):
        return _admin_json(200, emulator.faults.to_dict())
    if (method, name) == ("POST", "faults"):
        try:
            knobs = json.loads(body or b"{}")
            if not isinstance(knobs, dict):
                raise ValueError("the body must be a JSON object of knobs")
            return _admin_json(200, emulator.set_faults(**knobs).to_dict())
        except (ValueError, TypeError) as error:
            return _admin_json(400, {"error": str(error)})
    if (method, name) == ("POST", "reset"):
        emulator.reset()
        return _admin_json(200, emulator.faults.to_dict())
    if (method, name) == ("POST", "expire-tokens"):
        emulator.credentials.expire_tokens()
        return _admin_json(200, {"ok": True})
    return _admin_json(404, {"error": f"no admin endpoint {method} {path}"})


class EmulatorHandle:
    """A running emulator in a background thread; a context manager that closes it.

    ``endpoint`` (``127.0.0.1:PORT``) goes into ``HttpProfile(protocol="http",
    endpoint=...)``; ``url`` is the same with ``http://``.
    """

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.emulator = server.emulator
        self.host, self.port = server.socket.getsockname()[:2]
        self.endpoint = f"{self.host}:{self.port}"
        self.url = f"http://{self.endpoint}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"tencent-cloud-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """Change fault knobs (see ``FaultConfig``); returns all knobs after the change."""
        return self.emulator.set_faults(**knobs).to_dict()

    def faults(self) -> dict[str, Any]:
        """The current fault knobs."""
        return self.emulator.faults.to_dict()

    def stats(self) -> dict[str, Any]:
        """Call counts: ``{"total", "actions": {name: {"calls", "outcomes"}}}``."""
        return self.emulator.stats.snapshot()

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        """The latest requests (action, service, version, region, params, outcome)."""
        return self.emulator.stats.recent(action)

    def reset(self) -> None:
        """Start-up knobs and keys, empty stats, full rate buckets, fault draws from call 0."""
        self.emulator.reset()

    def add_credential(
        self,
        secret_id: str,
        secret_key: str,
        token: str | None = None,
        expires_at: float | None = None,
    ) -> None:
        """Accept another key pair (with ``token``: a temporary STS pair)."""
        self.emulator.credentials.add(KeyPair(secret_id, secret_key, token, expires_at))

    def expire_tokens(self) -> None:
        """Make every temporary key's token expired (``AuthFailure.TokenFailure``)."""
        self.emulator.credentials.expire_tokens()

    def close(self) -> None:
        """Stop serving, release hanging requests and free the port."""
        self.server.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_emulator(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    credentials: Iterable[KeyPair] | None = None,
    limits: str = "conservative",
    ingest_delay: int = 60,
    **knobs: Any,
) -> EmulatorHandle:
    """Start an emulator in a background thread and return its handle.

    ``port=0`` picks a free port. ``credentials`` defaults to the demo key pairs.
    ``limits`` is ``conservative`` (10 instances, 1,440 points per call) or
    ``newest`` (50, 7,200). ``knobs`` are ``FaultConfig`` fields (``rate_limit``,
    ``error_rate``, ``seed``, ...).
    """
    faults = FaultConfig().updated(**knobs)
    pairs = default_key_pairs() if credentials is None else list(credentials)
    emulator = Emulator(pairs, faults, Limits.named(limits, ingest_delay))
    server = EmulatorServer((host, port), emulator)
    logger.info("Tencent Cloud API emulator listening on http://%s:%s", host, server.server_port)
    return EmulatorHandle(server)
