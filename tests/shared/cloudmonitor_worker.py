"""One Cloud Monitor function instance in its own process, for the coalescing tests.

    python cloudmonitor_worker.py SETTINGS_JSON BODY_JSON READY_FILE GO_FILE

Builds the app (as a cold start would), says it is ready (creates READY_FILE), waits for
GO_FILE, answers BODY_JSON on /query once, and prints ``{"status", "body"}`` as one JSON
line (the body's ``meta.custom.apiCalls`` says how many GetMonitorData calls it made).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from grafana_scf.app import create_app
from support.events import function_url_event

INDEX = Path(__file__).resolve().parents[2] / "datasource" / "cloudmonitor" / "index.py"


def main() -> None:
    settings, body = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    ready, go = Path(sys.argv[3]), Path(sys.argv[4])
    app = create_app(INDEX, **settings)
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    response = app.handle(function_url_event("POST", "/query", body), {"time_limit_in_ms": 30_000})
    print(json.dumps({"status": response["statusCode"], "body": response["body"]}))


if __name__ == "__main__":
    main()
