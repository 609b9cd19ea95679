"""Every variable, annotation and panel of every dashboard, driven by Grafana's own code.

Each dashboard is opened by Grafana's dashboard engine (npm ``@grafana/scenes`` with
``@grafana/data`` and ``@grafana/runtime``, for each Grafana line in
``tests/grafana/<line>``) with our adapter of the JSON datasource plugin, against both
functions over HTTP: variables resolve through ``/variable`` in scenes' order, panels run
their ``SceneQueryRunner``, annotation layers their standard annotation query, and every
answer goes through Grafana's ``toDataFrame``. A dashboard Grafana would break fails here.

Business dashboards are opened at the end of the seeded test data; cloud dashboards now
(the emulator's data follows the clock).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from . import files
from .conftest import BUSINESS_NOW_MS, cloud_now_ms

ADHOC_EXAMPLE = {"key": "modality", "operator": "=", "value": "image", "condition": ""}
DASHBOARDS = [path.name for path in files.dashboard_files()]


def _datasource_uids(dashboard: dict[str, Any]) -> set[str]:
    uids = {t["datasource"]["uid"] for p in files.query_panels(dashboard) for t in p["targets"]}
    uids |= {a["datasource"]["uid"] for a in dashboard["annotations"]["list"] if "target" in a}
    return uids


def open_dashboard(scenes, dashboard, datasources, functions, *, now_ms=None, **options) -> dict[str, Any]:
    business = {uid for uid, ds in datasources.items() if ds.get("url", "").endswith("/business")}
    if now_ms is None:
        now_ms = BUSINESS_NOW_MS if _datasource_uids(dashboard) <= business else cloud_now_ms()
    return scenes.open(dashboard, functions.for_grafana(datasources), now_ms, **options)


def _has_data(frames: list[dict[str, Any]], ref_id: str) -> bool:
    """Some frame of the refId has a row with a value (any non-null field but time)."""
    for frame in (f for f in frames if f.get("refId") == ref_id):
        for field in frame["fields"]:
            if field["type"] != "time" and any(v is not None for v in field["values"]):
                return True
    return False


def problems_of(report: dict[str, Any], dashboard: dict[str, Any]) -> list[str]:
    """What Grafana would show as broken or empty: variable errors or no options, panel
    errors, refIds without data, annotation layers without events, silent {} payloads."""
    problems = [] if report["settled"] else ["the dashboard did not settle (requests still running)"]
    for variable in report["variables"]:
        if variable["error"]:
            problems.append(f"variable {variable['name']}: {variable['error']}")
        elif variable["type"] == "query" and not variable["options"]:
            problems.append(f"variable {variable['name']} has no options")
    panels = {p["id"]: p for p in files.query_panels(dashboard)}
    for panel in report["panels"]:
        where = f"panel {panel['id']} {panel['title']!r}"
        problems += [f"{where}: {error}" for error in panel["errors"]]
        if panel["state"] != "Done":
            problems.append(f"{where}: state {panel['state']}")
        problems += [
            f"{where}: refId {t['refId']} answered no data"
            for t in panels[panel["id"]]["targets"]
            if not panel["errors"] and not _has_data(panel["frames"], t["refId"])
        ]
    for layer in report["annotations"]:
        where = f"annotation {layer['name']}"
        problems += [f"{where}: {error}" for error in layer["errors"]]
        names = {f["name"] for frame in layer["frames"] for f in frame["fields"]}
        problems += [f"{where}: no events with {k}" for k in ("time", "text") if k not in names]
        if not any(frame["length"] for frame in layer["frames"]):
            problems.append(f"{where}: no events")
    problems += [f"refId {n['refId']}: payload sent as {{}}: {n.get('error')}" for n in report["notes"]]
    problems += [
        f"{e['method']} {e['url']}: HTTP {e['status']}: {e['answer']}"
        for e in report["exchanges"]
        if e["status"] != 200
    ]
    return problems


def _requests(report: dict[str, Any], route: str) -> list[dict[str, Any]]:
    return [e["body"] for e in report["exchanges"] if e["url"].endswith("/" + route)]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_query_of_the_dashboard_answers_data(name, dashboards, datasources, functions, scenes):
    dashboard = dashboards[name]
    report = open_dashboard(scenes, dashboard, datasources, functions)
    assert problems_of(report, dashboard) == []
    # Every query variable, panel and annotation of the file really went to a function.
    queries = _requests(report, "query")
    asked = sorted((b["panelId"], t["refId"]) for b in queries if "panelId" in b for t in b["targets"])
    expected = sorted((p["id"], t["refId"]) for p in files.query_panels(dashboard) for t in p["targets"])
    annotations = [a for a in dashboard["annotations"]["list"] if "target" in a]
    assert asked == expected  # each panel asked once, with all its targets
    assert sum(1 for b in queries if b["targets"][0]["refId"] == "Anno") == len(annotations)
    variables = [v for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert len(_requests(report, "variable")) >= len(variables)
    # Time range and intervals as Grafana computes them (rangeutil): the dashboard's raw
    # range, and a panel's minimum interval honoured.
    for body in queries:
        assert body["range"]["raw"] == dashboard["time"] and body["intervalMs"] > 0
        panel = next((p for p in files.query_panels(dashboard) if p["id"] == body.get("panelId")), {})
        if panel.get("interval") == "1d":
            assert body["interval"] == "1d" and body["intervalMs"] == 86_400_000


def test_ad_hoc_filters_reach_the_business_function(dashboards, datasources, functions, scenes):
    """The ad hoc picker offers keys and values; with a filter set, scenes sends it in
    `filters` of every /query, every panel still answers, and the filter applies."""
    dashboard = dashboards["business-overview.json"]
    plain = open_dashboard(scenes, dashboard, datasources, functions, adhoc_key=ADHOC_EXAMPLE["key"])
    offered = plain["adhoc"]["filters"]
    assert ADHOC_EXAMPLE["key"] in offered["keys"] and ADHOC_EXAMPLE["value"] in offered["values"]
    filtered = open_dashboard(scenes, dashboard, datasources, functions, values={"filters": [ADHOC_EXAMPLE]})
    assert problems_of(filtered, dashboard) == []
    sent = [b.get("filters") for b in _requests(filtered, "query") if b["targets"][0]["refId"] != "Anno"]
    wanted = [{k: ADHOC_EXAMPLE[k] for k in ("key", "operator", "value")}]
    assert sent and all([{k: x[k] for k in wanted[0]} for x in f or []] == wanted for f in sent), sent

    def throughput(report):
        panel = next(p for p in report["panels"] if p["title"] == "Tasks created")
        return sum(
            v or 0
            for f in panel["frames"]
            for fl in f["fields"]
            if fl["type"] == "number"
            for v in fl["values"]
        )

    assert 0 < throughput(filtered) < throughput(plain)


def test_the_replay_notices_a_target_without_data(dashboards, datasources, functions, scenes):
    """The smoke check can fail: a panel asking for a window without data is reported."""
    dashboard = dict(dashboards["business-overview.json"], time={"from": "now-2d", "to": "now"})
    later = BUSINESS_NOW_MS + 400 * 86_400_000  # long after the seeded data
    report = open_dashboard(scenes, dashboard, datasources, functions, now_ms=later)
    assert any("answered no data" in p for p in problems_of(report, dashboard))


# -- Raw JSON variable queries (scenes' json format leaves a single string unquoted) -----

RAW_JSON_VARIABLES = [
    ("infrastructure.json", "cvm"),
    ("infrastructure.json", "cdb"),
    ("serverless-app.json", "function"),
]


@pytest.mark.parametrize(("name", "variable"), RAW_JSON_VARIABLES)
def test_raw_json_variables_list_their_options(name, variable, dashboards, datasources, functions, scenes):
    report = open_dashboard(scenes, dashboards[name], datasources, functions)
    (found,) = [v for v in report["variables"] if v["name"] == variable]
    assert found["error"] is None and found["options"], found
    region = next(v for v in report["variables"] if v["name"] == "region")["value"]
    payloads = [b["payload"] for b in _requests(report, "variable") if b["payload"].get("region") == region]
    assert payloads, "the variable query did not carry the selected region"


@pytest.mark.parametrize(("name", "variable"), RAW_JSON_VARIABLES)
def test_an_unquoted_single_value_breaks_the_variable(
    name, variable, dashboards, datasources, functions, scenes
):
    """Regression: the pre-scenes text `"region": $region` is not JSON after scenes'
    interpolation, so Grafana 12+ lists nothing (and panels then ask for every instance)."""
    dashboard = copy.deepcopy(dashboards[name])
    model = next(v for v in dashboard["templating"]["list"] if v["name"] == variable)
    model["query"]["query"] = (
        model["query"]["query"].replace('"$region"', "$region").replace('"$namespace"', "$namespace")
    )
    assert '"$region"' not in model["query"]["query"]
    report = open_dashboard(scenes, dashboard, datasources, functions)
    (found,) = [v for v in report["variables"] if v["name"] == variable]
    assert found["options"] == [] and "JSON" in (found["error"] or ""), found
    assert f"variable {variable}" in "\n".join(problems_of(report, dashboard))
