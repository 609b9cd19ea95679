"""Cross-file checks: references between datasources, dashboards, catalogs and alert rules
(what Grafana only reports at run time), each also shown to catch a broken copy."""

from __future__ import annotations

import copy

import pytest

from . import checks, files


def provider_folders() -> set[str]:
    return {
        p.get("folder", "") for doc in files.provisioning("dashboards").values() for p in doc["providers"]
    }


def test_datasources_are_consistent():
    assert checks.datasource_problems(files.provisioning("datasources")) == []


@pytest.mark.parametrize("name", [p.name for p in files.dashboard_files()])
def test_dashboard_references_layout_and_catalog_entries(name, dashboards, datasources, catalogs, scenes):
    dashboard = dashboards[name]
    problems = checks.reference_problems(name, dashboard, datasources)
    problems += checks.layout_problems(name, dashboard)
    problems += checks.variable_problems(name, dashboard)
    problems += checks.catalog_problems(name, dashboard, catalogs, scenes)
    assert problems == []


def test_dashboard_uids_and_titles_are_unique(dashboards):
    uids = [d["uid"] for d in dashboards.values()]
    titles = [d["title"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)


def test_every_json_datasource_has_a_catalog(datasources, catalogs):
    json_uids = {uid for uid, ds in datasources.items() if ds["type"] == checks.JSON_DATASOURCE}
    assert json_uids and set(catalogs) == json_uids
    for uid in json_uids:
        assert (files.ROOT / "datasource" / checks.function_of(datasources[uid]) / "index.py").is_file()


def test_alert_rules_and_notifications_are_consistent(datasources, dashboards):
    documents = files.provisioning("alerting")
    assert checks.alerting_problems(documents, datasources, dashboards, provider_folders()) == []


def test_every_function_of_the_project_backs_a_dashboard(dashboards, datasources):
    used = {
        t["datasource"]["uid"]
        for d in dashboards.values()
        for p in files.query_panels(d)
        for t in p["targets"]
    }
    functions = {checks.function_of(datasources[uid]) for uid in used}
    assert functions == {p.parent.name for p in (files.ROOT / "datasource").glob("*/serverless.yml")}


# -- the checks notice breakage ---------------------------------------------------------


def _business(dashboards):
    return copy.deepcopy(dashboards["business-overview.json"])


def _panel(dashboard, panel_id):
    return next(p for p in files.all_panels(dashboard) if p["id"] == panel_id)


def test_layout_check_catches_overlaps_and_overflow(dashboards):
    dashboard = _business(dashboards)
    _panel(dashboard, 3)["gridPos"].update(x=2)  # onto panel 2
    _panel(dashboard, 7)["gridPos"].update(x=22)  # 22 + 4 > 24
    _panel(dashboard, 12)["id"] = 11
    found = "\n".join(checks.layout_problems("b", dashboard))
    assert "overlaps panel 2" in found and "outside the 24 columns" in found and "duplicate panel id" in found


def test_reference_check_catches_unknown_datasources(dashboards, datasources):
    dashboard = _business(dashboards)
    _panel(dashboard, 2)["targets"][0]["datasource"] = {"type": "simpod-json-datasource", "uid": "nope"}
    _panel(dashboard, 4)["datasource"] = {"type": "mysql", "uid": "labelhub-business"}
    found = "\n".join(checks.reference_problems("b", dashboard, datasources))
    assert "'nope' is not provisioned" in found and "type mysql" in found


def test_catalog_check_catches_unknown_targets_and_bad_payloads(dashboards, catalogs, scenes):
    dashboard = _business(dashboards)
    _panel(dashboard, 2)["targets"][0]["target"] = "signupz"
    _panel(dashboard, 4)["targets"][0]["payload"] = '{"project": "$project"}'  # quoted multi-value
    _panel(dashboard, 5)["targets"][0]["payload"] = '{"projekt": $project}'
    _panel(dashboard, 13)["targets"][0]["target"] = "releases"  # an annotation used as a metric
    found = "\n".join(checks.catalog_problems("b", dashboard, catalogs, scenes))
    for expected in (
        "no catalog entry 'signupz'",
        "not JSON",
        "unknown parameter 'projekt'",
        "releases is an entry of kind annotation",
    ):
        assert expected in found


def test_catalog_check_catches_cloud_payload_mistakes(dashboards, catalogs, scenes):
    dashboard = copy.deepcopy(dashboards["infrastructure.json"])
    _panel(dashboard, 2)["targets"][0]["payload"] = '{"region": "$region", "instance": $cvm}'
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "cvm")
    variable["query"]["query"] = '{"target": "cvm_instances", "zone": "$region"}'
    cdb = next(v for v in dashboard["templating"]["list"] if v["name"] == "cdb")
    cdb["query"]["query"] = '{"target": "cdb_instances", "region": $region}'  # the pre-scenes text
    found = "\n".join(checks.catalog_problems("i", dashboard, catalogs, scenes))
    assert "payload.instance is not a field" in found and "payload.zone is not a field" in found
    assert "variable cdb" in found and "is not JSON after interpolation" in found


def test_variable_check_catches_undefined_variables(dashboards):
    dashboard = _business(dashboards)
    _panel(dashboard, 2)["targets"][0]["payload"] = '{"channel": $channel}'
    assert "$channel is used but not defined" in "\n".join(checks.variable_problems("b", dashboard))


PAYLOAD_DASHBOARD = {
    "uid": "payloads",
    "time": {"from": "now-6h", "to": "now"},
    "panels": [],
    "templating": {
        "list": [
            {"type": "custom", "name": "region", "query": "ap-guangzhou,ap-shanghai",
             "current": {"text": "ap-guangzhou", "value": "ap-guangzhou"}},
            {"type": "custom", "name": "ids", "query": "a,b,c", "multi": True,
             "current": {"text": ["a", "b"], "value": ["a", "b"]}},
            {"type": "textbox", "name": "stage", "query": "dev", "current": {"text": "dev", "value": "dev"}},
            {"type": "constant", "name": "k", "query": "k1"},
            {"type": "interval", "name": "iv", "query": "1m,1h,1d", "current": {"text": "1h", "value": "1h"}},
        ]
    },
}  # fmt: skip


def _payloads(scenes, *texts, kind="target"):
    datasources = {"json": {"type": checks.JSON_DATASOURCE, "url": "http://unused.invalid"}}
    queries = [
        {
            "kind": kind,
            "uid": "json",
            "query": {"refId": "A", "editorMode": "code", "target": "t", "payload": t},
        }
        if kind == "target"
        else {"kind": kind, "uid": "json", "query": {"query": t, "format": "json"}}
        for t in texts
    ]
    return scenes.payloads(PAYLOAD_DASHBOARD, datasources, queries)


def test_payload_interpolation_follows_grafana_and_the_plugin(scenes):
    """Scenes' json format: a single string as it is, arrays as JSON; the plugin unwraps
    a quoted result and sends {} for a text that is then not JSON."""
    answer = _payloads(
        scenes,
        '{"region": "$region", "instances": $ids}',
        '{"f": ["x-$stage-y"]}',
        '{"instances": "$ids"}',
        '{"region": $region}',
    )
    assert [r["payload"] for r in answer["results"]] == [
        {"region": "ap-guangzhou", "instances": ["a", "b"]},
        {"f": ["x-dev-y"]},
        {},
        {},
    ]
    assert [n["payload"] for n in answer["notes"]] == ['{"instances": "$ids"}', '{"region": $region}']
    assert scenes.interpolate(PAYLOAD_DASHBOARD, "$region|${ids:csv}|${ids:regex}|${region:json}") == (
        "ap-guangzhou|a,b|(a|b)|ap-guangzhou"
    )


FORMATS = {  # Grafana's variable formats, applied by scenes to the multi-value ["a", "b"]
    "csv": "a,b",
    "pipe": "a|b",
    "regex": "(a|b)",
    "json": '["a","b"]',
    "doublequote": '"a","b"',
    "singlequote": "'a','b'",
    "sqlstring": "'a','b'",
    "glob": "{a,b}",
    "lucene": '("a" OR "b")',
    "percentencode": "%7Ba%2Cb%7D",
    "queryparam": "var-ids=a&var-ids=b",
    "text": "a + b",
    "raw": "a,b",
    "distributed": "a,ids=b",
}


def test_every_format_and_variable_type_interpolates_through_scenes(scenes):
    text = "|".join(f"${{ids:{fmt}}}" for fmt in FORMATS) + "|$k|$iv|$stage|${region}"
    expected = "|".join(FORMATS.values()) + "|k1|1h|dev|ap-guangzhou"
    assert scenes.interpolate(PAYLOAD_DASHBOARD, text) == expected


def test_variable_queries_in_raw_json_need_quoted_single_values(scenes):
    answer = _payloads(
        scenes, '{"target": "t", "region": "$region"}', '{"target": "t", "region": $region}', kind="variable"
    )
    assert answer["results"][0] == {"payload": {"target": "t", "region": "ap-guangzhou"}}
    assert "not valid JSON" in answer["results"][1]["error"]


def test_alerting_check_catches_broken_rules(datasources, dashboards):
    documents = copy.deepcopy(files.provisioning("alerting"))
    rules = documents["business-rules.yaml"]["groups"][0]["rules"]
    rules[0]["data"][0]["datasourceUid"] = "labelhub-business"  # simpod cannot alert
    rules[0]["panelId"] = 999
    rules[1]["data"][2]["model"]["expression"] = "Z"
    rules[1]["data"][0]["model"]["url"] = "http://elsewhere:9000/business/query"
    rules[1]["data"][1]["model"]["url_options"]["data"] = (
        '{"targets": [{"target": "signups", "payload": {"p": $project}}]}'
    )
    documents["notifications.yaml"]["policies"][0]["routes"][0]["mute_time_intervals"] = ["never-defined"]
    found = "\n".join(checks.alerting_problems(documents, datasources, dashboards, {"Labelhub alerts"}))
    expected_problems = (
        "cannot back alert rules",
        "panel 999",
        "uses Z",
        "outside allowedHosts",
        "body is not JSON",
        "never-defined is not defined",
        "is also a dashboard folder",
    )
    for expected in expected_problems:
        assert expected in found


def test_alerting_check_wants_the_rows_format_and_the_window_macros(datasources):
    rule = copy.deepcopy(files.alert_rules()[0][1])
    rule["data"][0]["model"]["url_options"]["data"] = (
        '{"range": {"from": "now-2h", "to": "now"}, "targets": []}'
    )
    rule["data"][0]["model"]["parser"] = "simple"
    found = "\n".join(checks.rule_problems(rule, datasources))
    assert '"format": "rows"' in found and "__timeFrom" in found and "backend parsers" in found


def test_the_grafana_doc_names_everything_provisioned(dashboards, datasources):
    doc = (files.ROOT / "docs" / "grafana.md").read_text()
    names = [d["uid"] for d in dashboards.values()] + [d["title"] for d in dashboards.values()]
    names += list(datasources) + [rule["uid"] for _, rule in files.alert_rules()]
    names += [
        path.name
        for kind in ("datasources", "dashboards", "alerting")
        for path in files.provisioning_files(kind)
    ]
    assert [n for n in names if n not in doc] == []
