"""The worker: one process playing one SCF event-function instance.

The runner starts it as ``python -I -S -B -X utf8 worker.py`` (a script path, never an
import), so it uses the standard library only and sees nothing of the dev checkout: the
first message it receives sets ``sys.path`` to the function folder, the layer folder(s)
and the dependency folder, in that order, ahead of the standard library.

Protocol: frames of a 4-byte big-endian length followed by UTF-8 JSON, read from the
worker's original stdin and written to its original stdout. Both descriptors are moved
aside before any user code runs; fd 0 becomes ``/dev/null`` and fd 1 a copy of stderr, so
``print`` in the function lands in the runner's log as it does in SCF's.

    runner -> worker  {"op": "init", "path": [...], "handler": "index.main_handler",
                       "response_limit": bytes}
    worker -> runner  {"op": "ready", "import_ms": float}
                    | {"op": "init_error", "error": "ExcType: message"}
    runner -> worker  {"op": "invoke", "event": {...}, "context": {...}}
    worker -> runner  {"ok": true, "size": bytes, "result": <the handler's JSON>}
                    | {"ok": false, "kind": "exception" | "not_json" | "too_large",
                       "error": "ExcType: message", "size"?: bytes}

The worker exits when its input closes. A handler that kills the process (``os._exit``,
a segfault, ``sys.exit``) leaves the runner an end of file: the instance crashed.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import struct
import sys
import time
import traceback
from decimal import Decimal

_HEADER = struct.Struct(">I")


def write_frame(stream, payload: bytes) -> None:
    """Write one length-prefixed frame and flush it."""
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream) -> bytes | None:
    """Read one length-prefixed frame; None at a clean or torn end of stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(stream, _HEADER.unpack(header)[0])


def _read_exactly(stream, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _print_traceback(exc: BaseException) -> None:
    """Print the traceback from the user's first frame (not the worker's or importlib's)."""
    tb = exc.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _is_machinery(filename: str) -> bool:
    return filename == __file__ or "importlib" in filename


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _take_protocol_streams():
    """Move the protocol pipes off fds 0/1; point fd 0 at /dev/null and fd 1 at stderr."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    return proto_in, proto_out


def _load_handler(init: dict):
    """Put the instance's folders on ``sys.path`` and import the handler (the cold start)."""
    sys.path[:0] = init["path"]
    module_name, _, function_name = init["handler"].rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


def _encode_result(result) -> str:
    """Encode a handler's return value as the SCF Python runtime does."""
    if isinstance(result, Decimal):
        result = str(result)
    return json.dumps(result, ensure_ascii=False)


def _invoke(handler, message: dict, limit: int) -> bytes:
    """Run the handler on one event; return the answer frame."""
    try:
        result = handler(message["event"], message["context"])
    except Exception as exc:
        _print_traceback(exc)
        return _error("exception", exc)
    try:
        text = _encode_result(result)
    except (TypeError, ValueError) as exc:
        _print_traceback(exc)
        return _error("not_json", exc)
    size = len(text.encode("utf-8"))
    if size > limit:
        print(f"response of {size} bytes exceeds the {limit}-byte limit", file=sys.stderr)
        return json.dumps({"ok": False, "kind": "too_large", "error": "", "size": size}).encode()
    return f'{{"ok":true,"size":{size},"result":{text}}}'.encode()


def _error(kind: str, exc: BaseException) -> bytes:
    return json.dumps({"ok": False, "kind": kind, "error": _describe(exc)}).encode()


def main() -> int:
    """Serve init and then invocations until the runner closes the input."""
    proto_in, proto_out = _take_protocol_streams()
    frame = read_frame(proto_in)
    if frame is None:
        return 0
    init = json.loads(frame)
    started = time.perf_counter()
    try:
        handler = _load_handler(init)
    except BaseException as exc:
        _print_traceback(exc)
        write_frame(proto_out, json.dumps({"op": "init_error", "error": _describe(exc)}).encode())
        return 1
    import_ms = (time.perf_counter() - started) * 1000
    write_frame(proto_out, json.dumps({"op": "ready", "import_ms": import_ms}).encode())
    while True:
        frame = read_frame(proto_in)
        if frame is None:
            return 0
        answer = _invoke(handler, json.loads(frame), init["response_limit"])
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(proto_out, answer)


if __name__ == "__main__":
    sys.exit(main())
