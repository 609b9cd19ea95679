"""The per-query time limit is enforced by the server and answered as a 504."""

from __future__ import annotations

import json

import yaml

from grafana_scf.app import create_app
from support.events import function_url_event

SLOW_SQL = (
    "SELECT COUNT(*) AS n FROM information_schema.COLUMNS a, information_schema.COLUMNS b, "
    "information_schema.COLUMNS c"
)


def test_slow_query_is_stopped_by_the_time_limit(tmp_path, db_settings):
    catalog = {
        "source": "mysql",
        "metrics": {
            "slow": {"format": "table", "sql": SLOW_SQL, "timeout_ms": 300},
            "quick": {"format": "table", "sql": "SELECT 1 AS n"},
        },
    }
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    app = create_app(tmp_path / "index.py", **db_settings, MYSQL_QUERY_TIMEOUT_MS=5000)
    body = {"range": {"from": 0, "to": 1000}, "targets": [{"refId": "S", "target": "slow"}]}
    response = app.handle(function_url_event("POST", "/query", body), {})
    answer = json.loads(response["body"])
    assert response["statusCode"] == 504
    assert answer["message"].startswith("S: query exceeded the 300 ms time limit and was stopped by MySQL")
    body["targets"] = [{"refId": "Q", "target": "quick"}]
    response = app.handle(function_url_event("POST", "/query", body), {})
    assert response["statusCode"] == 200
    assert json.loads(response["body"])[0]["fields"][0]["values"] == [1]
    app.source.database.close()
