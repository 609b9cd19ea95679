"""A Cloud Monitor worker whose memory is capped, answering requests read from stdin.

Run as a script by ``test_budget.py``: ``budget_worker.py <endpoint> <memory MB>``. It
builds the function's app pointed at the emulator, warms it (SDK, thread pool), then
caps its address space at what it holds plus the function's ``memorySize`` and answers
one request per input line (``{"method", "path", "body"}``) with one output line:
status, message, answer size and the peak resident memory of that request.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
INDEX = TESTS.parent / "datasource" / "cloudmonitor" / "index.py"
CONTEXT = {"time_limit_in_ms": 30_000, "memory_limit_in_mb": 256}


def _status_kb(field: str) -> int:
    return int(Path("/proc/self/status").read_text().split(f"{field}:")[1].split()[0])


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


def main() -> None:
    sys.path.insert(0, str(TESTS))
    from grafana_scf.app import create_app
    from support.events import function_url_event

    endpoint, memory_mb = sys.argv[1], int(sys.argv[2])
    app = create_app(INDEX, CLOUD_API_ENDPOINT=endpoint, DATASOURCE_TOKEN=None)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("cap"):
            limit = _status_kb("VmSize") * 1024 + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        _reset_peak()
        event = function_url_event(request["method"], request["path"], request.get("body"))
        answer = app.handle(event, CONTEXT)
        body = json.loads(answer["body"]) if answer["body"] else None
        message = body.get("message") if isinstance(body, dict) else None
        report = {
            "status": answer["statusCode"],
            "message": message,
            "bytes": len(answer["body"]),
            "items": len(body) if isinstance(body, list) else None,
            "peak_rss_mb": round(_status_kb("VmHWM") / 1024, 1),
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
