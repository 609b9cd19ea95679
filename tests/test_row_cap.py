"""A result cut at the row cap never shows made-up data.

Frames: the fill stops at the last row read (``$__timeGroup…(…, 0)`` used to write 0 into
every bucket after the cut). Rows (``"format": "rows"``, what alert rules read): the refId
fails with a 400 naming the cap, so an alert rule evaluates to an error, not to zeros.
Expected values come from the raw rows, read as the admin user and bucketed here.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from grafana_scf.app import create_app
from support.events import function_url_event
from test_business import FROM_S, RANGE, UNTIL_S

HOUR_MS = 3_600_000
FILLED_BY_CHANNEL = """
SELECT $__timeGroupAlias(u.created_at, $__interval, 0), u.signup_channel AS channel, COUNT(*) AS signups
FROM users u WHERE $__timeFilter(u.created_at) GROUP BY 1, 2 ORDER BY 1
"""


@pytest.fixture(scope="module")
def signups(admin_db):
    """(epoch s, channel) of every user created in the range."""
    with admin_db.cursor() as cursor:
        cursor.execute(
            "SELECT UNIX_TIMESTAMP(created_at), signup_channel FROM users "
            "WHERE created_at BETWEEN FROM_UNIXTIME(%s) AND FROM_UNIXTIME(%s)",
            (FROM_S, UNTIL_S - 1),
        )
        return [(int(t), channel) for t, channel in cursor.fetchall()]


def hourly(times_s) -> dict[int, int]:
    """Count per hour bucket (ms), every hour of the range present."""
    counts = Counter(t // 3600 * 3600 * 1000 for t in times_s)
    return {b: counts.get(b, 0) for b in range(FROM_S * 1000, UNTIL_S * 1000, HOUR_MS)}


def ask(app, target, **extra):
    body = {"range": RANGE, "intervalMs": HOUR_MS, "targets": [{"refId": "A", "target": target}], **extra}
    response = app.handle(function_url_event("POST", "/query", body), {})
    return response["statusCode"], json.loads(response["body"])


def points(frame) -> dict[int, object]:
    return dict(zip(frame["fields"][0]["values"], frame["fields"][1]["values"]))


def test_a_filled_series_stops_at_the_last_row_read(make_business_app, db_settings, signups):
    app = make_business_app(**db_settings, MAX_ROWS=20)
    status, answer = ask(app, "signups")
    assert status == 200
    expected = hourly(t for t, _ in signups)
    cut = sorted(b for b, n in expected.items() if n)[19]  # the time of the 20th row
    assert any(n == 0 for b, n in expected.items() if b < cut), "the test needs empty hours before the cut"
    assert points(answer[0]) == {b: n for b, n in expected.items() if b <= cut}
    assert "result cut at 20 rows" in answer[0]["meta"]["notices"][0]["text"]


def test_labelled_series_stop_before_the_bucket_the_cut_split(tmp_path, db_settings, signups):
    catalog = {"source": "mysql", "metrics": {"by_channel": {"sql": FILLED_BY_CHANNEL, "max_rows": 30}}}
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    app = create_app(tmp_path / "index.py", **db_settings)
    try:
        status, answer = ask(app, "by_channel")
    finally:
        app.source.database.close()
    assert status == 200
    shown = [points(frame) for frame in answer]
    cut = max(max(p) for p in shown)  # the last row read
    for frame, got in zip(answer, shown):
        channel = frame["fields"][1]["labels"]["channel"]
        expected = hourly(t for t, c in signups if c == channel)
        before = {b: n for b, n in expected.items() if b < cut}
        assert {b: v for b, v in got.items() if b < cut} == before, channel
        assert set(got) <= set(before) | {cut}, channel  # nothing after the cut
        if cut in got:  # a row read at the cut: real, never filled
            assert got[cut] == expected[cut] and got[cut] > 0, channel


def test_the_rows_format_refuses_a_cut_result(make_business_app, db_settings):
    app = make_business_app(**db_settings, MAX_ROWS=20)
    status, answer = ask(app, "signups", format="rows")
    assert status == 400, answer
    assert answer["message"].startswith("A: signups: result cut at 20 rows;")
    assert answer["errors"] == [{"refId": "A", "message": answer["message"][3:], "status": 400}]
    status, answer = ask(make_business_app(**db_settings), "signups", format="rows")
    assert status == 200 and answer and all(row["refId"] == "A" for row in answer)
