"""Every provisioning file and dashboard against our own JSON Schemas (schemas/*.json), and
proof that the schemas catch the classic mistakes."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from . import files

KINDS = {"datasources": "datasources", "dashboards": "dashboard-providers", "alerting": "alerting"}


def errors(schema_name: str, document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(files.load_schema(schema_name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("name", ["dashboard", *KINDS.values()])
def test_schemas_are_valid_draft_2020_12(name):
    jsonschema.Draft202012Validator.check_schema(files.load_schema(name))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_provisioning_files_match_their_schema(kind):
    documents = files.provisioning(kind)
    assert documents, f"no provisioning/{kind} files"
    for name, document in documents.items():
        assert errors(KINDS[kind], document) == [], name


@pytest.mark.parametrize("path", files.dashboard_files(), ids=lambda p: p.name)
def test_dashboards_match_the_schema(path):
    assert errors("dashboard", files.load_json(path)) == []


def test_duplicate_keys_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: 1\napiVersion: 1\n")
    (tmp_path / "a.json").write_text('{"uid": "a", "uid": "b"}')
    with pytest.raises(files.DuplicateKeyError):
        files.load_yaml(tmp_path / "a.yaml")
    with pytest.raises(files.DuplicateKeyError):
        files.load_json(tmp_path / "a.json")


def _dashboard() -> dict[str, Any]:
    return copy.deepcopy(files.load_json(files.dashboard_files()[0]))


def _first_panel(dashboard: dict[str, Any]) -> dict[str, Any]:
    return next(files.query_panels(dashboard))


DASHBOARD_BREAKAGES = {
    "41-character uid": lambda d: d.update(uid="a" * 41),
    "schemaVersion 41": lambda d: d.update(schemaVersion=41),
    "schemaVersion 43": lambda d: d.update(schemaVersion=43),
    "Grafana 13 v2 export": lambda d: d.update(elements={}, layout={}),
    "shared-export datasource": lambda d: _first_panel(d).update(
        datasource={"type": "x", "uid": "${DS_MYSQL}"}
    ),
    "datasource as a name": lambda d: _first_panel(d).update(datasource="Labelhub business"),
    "gridPos wider than the grid": lambda d: _first_panel(d)["gridPos"].update(w=25),
    "panel without a description": lambda d: _first_panel(d).pop("description"),
    "panel without targets": lambda d: _first_panel(d).update(targets=[]),
    "numeric refresh": lambda d: d.update(refresh=60),
    "unknown panel key": lambda d: _first_panel(d).update(gridpos={}),
}


@pytest.mark.parametrize("breakage", sorted(DASHBOARD_BREAKAGES))
def test_the_dashboard_schema_catches(breakage):
    dashboard = _dashboard()
    DASHBOARD_BREAKAGES[breakage](dashboard)
    assert errors("dashboard", dashboard)


def _rules() -> dict[str, Any]:
    return copy.deepcopy(files.load_yaml(files.PROVISIONING_DIR / "alerting" / "business-rules.yaml"))


def _rule(document: dict[str, Any]) -> dict[str, Any]:
    return document["groups"][0]["rules"][0]


def _threshold(document: dict[str, Any]) -> dict[str, Any]:
    return next(q["model"] for q in _rule(document)["data"] if q["model"].get("type") == "threshold")


ALERTING_BREAKAGES = {
    "41-character rule uid": lambda d: _rule(d).update(uid="r" * 41),
    "noDataState Nodata": lambda d: _rule(d).update(noDataState="Nodata"),
    "for: 15 minutes": lambda d: _rule(d).update({"for": "15 minutes"}),
    "two threshold conditions": lambda d: _threshold(d)["conditions"].append(
        {"evaluator": {"type": "gt", "params": [1]}}
    ),
    "threshold with two params": lambda d: _threshold(d)["conditions"][0]["evaluator"].update(params=[1, 2]),
    "unknown reducer": lambda d: _rule(d)["data"][1]["model"].update(reducer="avg"),
    "query without a time range": lambda d: _rule(d)["data"][0].pop("relativeTimeRange"),
    "rule without a summary": lambda d: _rule(d)["annotations"].pop("summary"),
}


@pytest.mark.parametrize("breakage", sorted(ALERTING_BREAKAGES))
def test_the_alerting_schema_catches(breakage):
    document = _rules()
    ALERTING_BREAKAGES[breakage](document)
    assert errors("alerting", document)


def test_the_notification_schema_catches_a_webhook_without_url_and_bad_times():
    document = copy.deepcopy(files.load_yaml(files.PROVISIONING_DIR / "alerting" / "notifications.yaml"))
    document["contactPoints"][0]["receivers"][0]["settings"].pop("url")
    document["muteTimes"][0]["time_intervals"][0]["times"][0]["end_time"] = "25:00"
    document["policies"][0]["object_matchers"] = [["team", "=", "x"]]
    found = errors("alerting", document)
    assert len(found) >= 3, found


def test_the_datasource_schema_catches_a_header_value_in_plain_json_data():
    document = copy.deepcopy(files.load_yaml(files.PROVISIONING_DIR / "datasources" / "labelhub.yaml"))
    document["datasources"][0]["jsonData"]["httpHeaderValue1"] = "Bearer token"
    document["datasources"][1]["access"] = "server"
    assert len(errors("datasources", document)) == 2


def test_the_provider_schema_refuses_a_folder_with_folders_from_files():
    document = copy.deepcopy(files.load_yaml(files.PROVISIONING_DIR / "dashboards" / "labelhub.yaml"))
    document["providers"][0]["options"]["foldersFromFilesStructure"] = True
    assert errors("dashboard-providers", document)
