"""Alarm history as annotations: DescribeAlarmHistories, paged and filtered.

The emulator's documented rules give the expectation: every hot CVM, CDB and SCF
function opens an alarm at minute 1 of every hour and closes it at minute 10; every
silent CVM raises a NO_DATA alarm at each Beijing midnight.
"""

from __future__ import annotations

from labelhub_tools.emulator import slot_timestamps

from .helpers import call, query_body, target

HOT = {
    "labelhub-worker-hot(ins-gz0hot01)": ("cvm-cpu-high", "Serious", "cvm_device"),
    "analytics-worker-hot(ins-sh0hot01)": ("cvm-cpu-high", "Serious", "cvm_device"),
    "labelhub-mysql-reports(cdb-gz0hot01)": ("cdb-cpu-high", "Warn", "cdb_detail"),
    "labelhub-dashboard-prod-cloudmonitor(lam-gz0pcm01)": ("scf-errors", "Remind", "scf_v2"),
}
SILENT = ("labelhub-batch-silent(ins-gz0sil01)", "labelhub-spare(ins-gz0off01)")


def quiet_hour(window):
    """An hour window that holds no Beijing midnight (so only the hourly alarms)."""
    start, end = window
    while 0 in ((start + 8 * 3600) % 86400, (end + 8 * 3600) % 86400):
        start, end = start - 3600, end - 3600
    return start, end


def expected_count(start, end):
    hourly = len(slot_timestamps(start - 60, end - 60, 3600)) * len(HOT)
    return hourly + len(slot_timestamps(start, end, 86400)) * len(SILENT)


def test_alarms_become_an_annotation_frame(app, window, grafana):
    start, end = quiet_hour(window)
    status, answer = call(app, "POST", "/query", query_body(start, end, target("alarms")))
    assert status == 200, answer
    (frame,) = answer
    fields = {f["name"]: f for f in frame["fields"]}
    assert list(fields) == ["time", "timeEnd", "title", "text", "tags"]
    assert fields["time"]["values"] == [(start + 60) * 1000] * len(HOT)
    assert fields["timeEnd"]["values"] == [(start + 600) * 1000] * len(HOT)
    titles = fields["title"]["values"]
    assert sorted(titles) == sorted(f"{policy}: {obj}" for obj, (policy, _, _) in HOT.items())
    for title, tags, text in zip(titles, fields["tags"]["values"], fields["text"]["values"]):
        obj = title.split(": ", 1)[1]
        policy, level, namespace = HOT[obj]
        assert tags == ["OK", level, policy, namespace]
        assert "current value" in text
    converted = grafana.convert(answer)
    assert [f["name"] for f in converted[0]["fields"]] == ["time", "timeEnd", "title", "text", "tags"]
    assert converted[0]["fields"][4]["values"][0] == fields["tags"]["values"][0]


def test_filters_reach_the_api(app, window, emulator):
    start, end = quiet_hour(window)
    body = query_body(start, end, target("alarms", levels="(Serious|Warn)", policy="cpu"))
    status, answer = call(app, "POST", "/query", body)
    assert status == 200, answer
    titles = answer[0]["fields"][2]["values"]
    assert len(titles) == 3 and all("cpu-high" in t for t in titles)
    params = emulator.requests("DescribeAlarmHistories")[-1]["params"]
    assert params["AlarmLevels"] == ["Serious", "Warn"] and params["PolicyName"] == "cpu"
    assert params["StartTime"] == start and params["EndTime"] == end
    status, answer = call(app, "POST", "/query", query_body(start, end, target("alarms", status="FIRING")))
    assert status == 400 and "payload.status: 'FIRING' is not one of" in answer["message"]


def test_many_alarms_are_read_page_by_page(app, window, emulator):
    _, end = window
    start = end - 3 * 86400
    status, answer = call(app, "POST", "/query", query_body(start, end, target("alarms"), interval_ms=None))
    assert status == 200, answer
    count = expected_count(start, end)
    assert count > 200
    assert len(answer[0]["fields"][0]["values"]) == count
    assert len(emulator.requests("DescribeAlarmHistories")) == -(-count // 100)
    no_data = [t for t in answer[0]["fields"][4]["values"] if t[0] == "NO_DATA"]
    assert len(no_data) == len(slot_timestamps(start, end, 86400)) * len(SILENT)
    times = answer[0]["fields"][0]["values"]
    assert times == sorted(times)


def test_the_legacy_annotations_route(app, window):
    start, end = quiet_hour(window)
    body = {
        "range": {"from": start * 1000, "to": end * 1000},
        "annotation": {"name": "Alarms", "query": "alarms", "enable": True},
    }
    status, events = call(app, "POST", "/annotations", body)
    assert status == 200, events
    assert len(events) == len(HOT)
    assert all(e["isRegion"] and e["time"] == (start + 60) * 1000 for e in events)
    assert events[0]["annotation"]["name"] == "Alarms"
