"""One business function instance in its own process, for the coalescing tests.

    python coalesce_worker.py SETTINGS_JSON BODY_JSON READY_FILE GO_FILE

Builds the app (as a cold start would), counts the statements its database runs, says it
is ready (creates READY_FILE), waits for GO_FILE, answers BODY_JSON on /query once, and
prints ``{"statements", "status", "body"}`` as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from grafana_scf.app import create_app
from support.events import function_url_event

INDEX = Path(__file__).resolve().parents[2] / "datasource" / "business" / "index.py"


def main() -> None:
    settings, body = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    ready, go = Path(sys.argv[3]), Path(sys.argv[4])
    app = create_app(INDEX, **settings)
    database, original, count = app.source.database, app.source.database.execute, [0]

    def counted(sql, params, **options):
        count[0] += 1
        return original(sql, params, **options)

    database.execute = counted
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    response = app.handle(function_url_event("POST", "/query", body), {"time_limit_in_ms": 30_000})
    print(json.dumps({"statements": count[0], "status": response["statusCode"], "body": response["body"]}))


if __name__ == "__main__":
    main()
