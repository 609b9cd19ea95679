"""Every variable, annotation and panel of every dashboard, replayed against both functions
exactly as Grafana and the JSON datasource plugin would send them, must answer data that
Grafana's own toDataFrame converts.

Business dashboards are opened at the end of the seeded test data; cloud dashboards now
(the emulator's data follows the clock). Variables resolve in order through /variable,
taking their saved value (All = every option) or the first option.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import files
from .conftest import BUSINESS_NOW_MS, cloud_now_ms
from .grafana_model import Scene, choose_value, query_body, static_value, variable_body

ADHOC_EXAMPLE = {"key": "modality", "operator": "=", "value": "image", "condition": ""}
DASHBOARDS = [path.name for path in files.dashboard_files()]


def _datasource_uids(dashboard: dict[str, Any]) -> set[str]:
    uids = {t["datasource"]["uid"] for p in files.query_panels(dashboard) for t in p["targets"]}
    uids |= {a["datasource"]["uid"] for a in dashboard["annotations"]["list"] if "target" in a}
    return uids


def open_scene(dashboard, datasources, functions, grafana, filters=None) -> Scene:
    business = {uid for uid, ds in datasources.items() if ds.get("url", "").endswith("/business")}
    now = BUSINESS_NOW_MS if _datasource_uids(dashboard) <= business else cloud_now_ms()
    scene = Scene(dashboard, now)
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "adhoc":
            scene.filters = list(filters if filters is not None else variable.get("filters", []))
        elif variable["type"] == "query":
            url = functions.url_of(datasources[variable["datasource"]["uid"]])
            status, answer = functions.post(url + "variable", variable_body(scene, variable))
            assert status == 200, f"variable {variable['name']}: {status} {answer}"
            options = [o.get("value", o["text"]) for o in grafana.variable(answer)]
            assert options, f"variable {variable['name']} has no options"
            scene.values[variable["name"]] = choose_value(variable, [str(o) for o in options])
        else:
            scene.values[variable["name"]] = static_value(variable)
    return scene


def _has_data(frames: list[dict[str, Any]], ref_id: str) -> bool:
    """Some frame of the refId has a row with a value (any non-null field but time)."""
    for frame in (f for f in frames if f.get("refId") == ref_id):
        for field in frame["fields"]:
            if field["type"] != "time" and any(v is not None for v in field["values"]):
                return True
    return False


def replay(scene: Scene, datasources, functions, grafana) -> list[str]:
    """Every annotation and panel; returns what did not answer data."""
    dashboard, problems, request = scene.dashboard, [], 0
    work = [
        (f"annotation {a['name']}", {}, [a["target"]], a)
        for a in dashboard["annotations"]["list"]
        if "target" in a
    ]
    work += [
        (f"panel {p['id']} {p['title']!r}", p, p["targets"], None) for p in files.query_panels(dashboard)
    ]
    for where, panel, targets, annotation in work:
        request += 1
        url = functions.url_of(datasources[targets[0]["datasource"]["uid"]])
        status, answer = functions.post(url + "query", query_body(scene, panel, targets, request))
        if status != 200:
            problems.append(f"{where}: HTTP {status}: {answer}")
            continue
        frames = grafana.convert(answer)
        problems += [
            f"{where}: refId {t['refId']} answered no data"
            for t in targets
            if not _has_data(frames, t["refId"])
        ]
        if annotation is not None:
            names = {f["name"] for frame in frames for f in frame["fields"]}
            problems += [f"{where}: annotation frames lack {k}" for k in ("time", "text") if k not in names]
    return problems


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_query_of_the_dashboard_answers_data(name, dashboards, datasources, functions, grafana):
    scene = open_scene(dashboards[name], datasources, functions, grafana)
    assert replay(scene, datasources, functions, grafana) == []


def test_ad_hoc_filters_reach_the_business_function(dashboards, datasources, functions, grafana):
    """With an ad hoc filter set, as Grafana sends it in `filters`, every panel still answers."""
    dashboard = dashboards["business-overview.json"]
    adhoc = next(v for v in dashboard["templating"]["list"] if v["type"] == "adhoc")
    url = functions.url_of(datasources[adhoc["datasource"]["uid"]])
    status, keys = functions.post(url + "tag-keys", {})
    assert status == 200 and ADHOC_EXAMPLE["key"] in [k["text"] for k in keys]
    status, values = functions.post(url + "tag-values", {"key": ADHOC_EXAMPLE["key"]})
    assert status == 200 and ADHOC_EXAMPLE["value"] in [v["text"] for v in values]
    scene = open_scene(dashboard, datasources, functions, grafana, filters=[ADHOC_EXAMPLE])
    assert replay(scene, datasources, functions, grafana) == []
    # The filter really applied: filtered throughput is below the unfiltered one.
    panel = next(p for p in files.query_panels(dashboard) if p["targets"][0]["target"] == "tasks_created")
    totals = []
    for filters in ([], [ADHOC_EXAMPLE]):
        scene.filters = filters
        status, answer = functions.post(url + "query", query_body(scene, panel, panel["targets"], 1))
        totals.append(
            sum(
                v or 0
                for frame in answer
                for f in frame["fields"]
                if f["type"] == "number"
                for v in f["values"]
            )
        )
    assert 0 < totals[1] < totals[0]


def test_the_replay_notices_a_target_without_data(dashboards, datasources, functions, grafana):
    """The smoke check can fail: a panel asking for a window without data is reported."""
    dashboard = dict(dashboards["business-overview.json"], time={"from": "now-2d", "to": "now"})
    scene = open_scene(dashboard, datasources, functions, grafana)
    scene.now_ms = BUSINESS_NOW_MS + 400 * 86_400_000  # long after the seeded data
    problems = replay(scene, datasources, functions, grafana)
    assert any("answered no data" in p for p in problems)
