"""One log line per event: control characters in our log messages are escaped.

Client strings reach the log (a path, a refId, a target name, an error message that
echoes one); a newline in one would forge a log line of its own, an escape sequence
would rewrite the terminal, and a lone surrogate would make the handler fail to encode
the line. Every record of a ``grafana_scf`` logger is made with its message already
formatted and escaped (``\\n``, ``\\x1b``, ``\\u2028``, ``\\ud800``), so whatever handler
the host installed writes exactly one line. Tracebacks (``exc_info``) are left as they are.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_LOGGER = "grafana_scf"


def escape(text: str) -> str:
    """``text`` with every control character, line separator and lone surrogate escaped."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def install() -> None:
    """Wrap the log record factory (once per process) so our records carry escaped messages."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "escapes_grafana_scf", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name == _LOGGER or record.name.startswith(_LOGGER + "."):
            _escape_record(record)
        return record

    factory.escapes_grafana_scf = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _escape_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler to report
        return
    escaped = escape(message)
    if escaped != message:
        record.msg, record.args = escaped, ()
