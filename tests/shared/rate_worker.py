"""One Cloud Monitor instance in its own process, for the shared rate limit tests.

    python rate_worker.py SETTINGS_JSON CALLS READY_FILE GO_FILE

Makes CALLS DescribeBaseMetrics calls through the function's CloudApi (its rate limit,
no retries) against the endpoint in the settings, as fast as the limit lets it, after
GO_FILE appears; prints ``{"ok", "refused"}`` as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from grafana_scf.settings import read_settings
from grafana_scf.shared.store import store_for
from grafana_scf.sources.cloudmonitor.api import ApiFailure, CloudApi, budget


def main() -> None:
    settings = read_settings(**json.loads(sys.argv[1]))
    calls, ready, go = int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    api = CloudApi(settings, store_for(settings.redis_url, settings.redis_timeout_ms, "cloudmonitor"))
    params = {"Namespace": "QCE/CVM", "MetricName": "CPUUsage"}
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    ok = refused = 0
    for _ in range(calls):
        stats, deadline = budget()
        try:
            api.monitor("DescribeBaseMetrics", "ap-guangzhou", params, stats, deadline)
            ok += 1
        except ApiFailure as exc:
            if exc.code != "RequestLimitExceeded":
                raise
            refused += 1
    print(json.dumps({"ok": ok, "refused": refused}))


if __name__ == "__main__":
    main()
