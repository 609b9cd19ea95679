"""render_query with failed refIds, whatever their status (a deadline's 504 included)."""

from __future__ import annotations

import json

from grafana_scf.frames import DataResponse, QueryDataResponse, series_frame
from grafana_scf.render import render_query


def answer(**responses):
    result = QueryDataResponse(responses=dict(responses))
    response = render_query(result)
    rows = render_query(result, "rows")
    return response.status, json.loads(response.body), rows.status, json.loads(rows.body)


def good():
    return DataResponse(frames=[series_frame("cpu", [1000, 2000], [1.0, 2.0])])


def test_a_timed_out_ref_among_good_ones_is_an_error_frame(grafana):
    late = DataResponse.failed(504, "did not finish within the request deadline")
    status, body, rows_status, rows = answer(A=good(), B=late, C=good())
    assert status == 200
    frames = grafana.convert(body)
    assert [f["refId"] for f in frames] == ["A", "B", "C"]
    assert frames[1]["fields"] == []
    assert frames[1]["meta"]["notices"] == [
        {"severity": "error", "text": "B: did not finish within the request deadline"}
    ]
    assert frames[1]["meta"]["custom"]["status"] == 504
    assert rows_status == 504 and rows["refId"] == "B"


def test_every_ref_failing_answers_the_server_side_status():
    status, body, rows_status, _ = answer(
        A=DataResponse.failed(400, "bad payload"), B=DataResponse.failed(504, "too slow")
    )
    assert status == rows_status == 504
    assert body["refId"] == "B" and body["message"] == "B: too slow; A: bad payload"
    assert {e["refId"]: e["status"] for e in body["errors"]} == {"A": 400, "B": 504}


def test_no_target_is_an_empty_answer():
    status, body, rows_status, rows = answer()
    assert (status, body, rows_status, rows) == (200, [], 200, [])
