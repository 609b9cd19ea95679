"""The HTTP front end: ``/<function>/<path>`` -> that function's Function URL, ``/`` -> a listing.

Only the HTTP plumbing lives here (reading bodies within the 6 MB limit, writing answers
with repeated headers); what a request means is the runner's business
(``Runner.handle_function`` and ``Runner.listing``).
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from labelhub_tools.local.events import REQUEST_LIMIT, HttpAnswer, error_answer, json_answer

if TYPE_CHECKING:
    from labelhub_tools.local.runner import Runner

log = logging.getLogger("labelhub_tools.local")

# Bodies up to this size are read and dropped before a 413; larger ones close the connection.
_DRAIN_LIMIT = 8 * REQUEST_LIMIT


class RunnerHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its runner; one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    # The default listen backlog (5) overflows under a burst of clients and the kernel
    # then resets connections; a dashboard refresh alone opens a dozen at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], runner: Runner) -> None:
        self.runner = runner
        super().__init__(address, RequestHandler)


class _TooLarge(Exception):
    """The request body is over the limit."""


class RequestHandler(BaseHTTPRequestHandler):
    """Reads a request, hands it to the runner, writes the answer."""

    server: RunnerHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "scf-local-runner"
    sys_version = ""

    def do_GET(self) -> None:
        """Serve any method the same way (the function decides what it allows)."""
        split = urlsplit(self.path)
        if split.path in ("", "/"):
            self._send(json_answer(200, self.server.runner.listing()))
            return
        name, _, rest = split.path.lstrip("/").partition("/")
        try:
            body = self._read_body()
        except _TooLarge as exc:
            self._send(error_answer("request_too_large", str(exc), "-"))
            return
        answer = self.server.runner.handle_function(
            name=name,
            method=self.command,
            path="/" + rest,
            query=split.query,
            headers=list(self.headers.items()),
            body=body,
            remote_addr=self.client_address[0],
        )
        self._send(answer)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > REQUEST_LIMIT:
            if length <= _DRAIN_LIMIT:
                self._drain(length)
            else:
                self.close_connection = True
            raise _TooLarge(_too_large_message(length))
        return self.rfile.read(length) if length > 0 else b""

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                return
            length -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                break
            total += size
            if total > REQUEST_LIMIT:
                self.close_connection = True
                raise _TooLarge(_too_large_message(total))
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        return b"".join(chunks)

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Protocol-level messages only (requests are logged by the runner)."""
        log.debug("http: " + format, *args)


def _too_large_message(size: int) -> str:
    return f"RequestTooLarge: a {size}-byte body exceeds the {REQUEST_LIMIT}-byte sync limit"
