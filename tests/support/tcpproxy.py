"""A TCP proxy of our own in front of a real server, to make the network misbehave on cue.

It forwards bytes both ways until told otherwise:

- ``stall()``: stop forwarding (connections stay open, nothing gets through either way);
  ``stall_on=b"..."``: stall by itself once a client sends bytes holding that marker, so a
  chosen statement hangs while the ping and the ``SET`` before it pass;
- ``cut()``: close every open connection (the client reads an end of file);
- ``refuse()``: close the listening socket too, so new connections are refused;
  ``accept()`` listens again on the same port.

``held`` is set when client bytes arrive while stalled: the request is on the wire.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, upstream: tuple[str, int], stall_on: bytes | None = None) -> None:
        self.upstream = upstream
        self.stall_on = stall_on
        self.held = threading.Event()
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0

    # -- control -----------------------------------------------------------------

    def __enter__(self) -> TcpProxy:
        self.accept()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def accept(self) -> None:
        """Listen (again, on the same port once one was chosen)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def stall(self) -> None:
        self._forwarding.clear()

    def resume(self) -> None:
        self.held.clear()
        self._forwarding.set()

    def cut(self) -> None:
        """Close every open connection, both ends."""
        with self._lock:
            open_sockets, self._sockets = self._sockets, []
        for sock in open_sockets:
            _close(sock)

    def refuse(self) -> None:
        """Stop listening and cut what is open: new connections are refused."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        self.cut()

    def close(self) -> None:
        self._closed.set()
        self._forwarding.set()
        self.refuse()

    # -- forwarding ------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self.stall_on is not None and self.stall_on in data:
                    self.stall()
                if not self._forwarding.is_set():
                    if from_client:
                        self.held.set()
                    if not self._wait_for_forwarding(source):
                        break
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)

    def _wait_for_forwarding(self, source: socket.socket) -> bool:
        """Hold the bytes until forwarding resumes; False once the connection is cut."""
        while not self._forwarding.wait(0.05):
            with self._lock:
                if source not in self._sockets:
                    return False
        return not self._closed.is_set()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
