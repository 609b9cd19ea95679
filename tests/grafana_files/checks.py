"""Cross-file checks Grafana itself would only report at run time (or never).

Each check returns a list of problems (empty = fine), so a test can show them all and
another test can feed it a broken copy to prove it notices.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from . import files

# Plugins that may back an alert rule: "backend": true and "alerting": true (simpod may not).
ALERTING_TYPES = {"yesoreyeram-infinity-datasource", "mysql", "grafana-postgresql-datasource", "prometheus",
                  "loki", "grafana-testdata-datasource"}  # fmt: skip
JSON_DATASOURCE = "simpod-json-datasource"
INFINITY = "yesoreyeram-infinity-datasource"
UID_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
# Grafana's template variable syntax (public/app/features/variables/utils.ts, variableRegex):
# $name, [[name:fmt]], ${name}, ${name.field:fmt}. Only used to list the names referenced.
TEMPLATE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")


def referenced_variables(text: str) -> set[str]:
    return {m.group(1) or m.group(2) or m.group(4) for m in TEMPLATE_RE.finditer(text)}


def datasource_problems(documents: dict[str, Any]) -> list[str]:
    problems, uids, defaults = [], {}, {}
    for name, document in documents.items():
        for ds in document.get("datasources", []):
            where = f"{name}: {ds.get('name')}"
            if ds.get("uid") in uids:
                problems.append(f"{where}: uid {ds['uid']} also in {uids[ds['uid']]}")
            uids[ds.get("uid")] = where
            if ds.get("isDefault"):
                defaults.setdefault(ds.get("orgId", 1), []).append(where)
            for key in ds.get("jsonData", {}):
                if key.startswith("httpHeaderName") and f"httpHeaderValue{key[14:]}" not in ds.get(
                    "secureJsonData", {}
                ):
                    problems.append(f"{where}: {key} has no secureJsonData.httpHeaderValue{key[14:]}")
            if (
                ds.get("type") == INFINITY
                and not ds.get("url")
                and not ds.get("jsonData", {}).get("allowedHosts")
            ):
                problems.append(f"{where}: Infinity with authentication needs allowedHosts (or a base URL)")
    problems += [f"org {org}: more than one isDefault: {w}" for org, w in defaults.items() if len(w) > 1]
    return problems


# -- dashboards -----------------------------------------------------------------------


def _datasource_refs(dashboard: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for panel in files.all_panels(dashboard):
        if "datasource" in panel:
            yield f"panel {panel['id']}", panel["datasource"]
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} target {target.get('refId')}", target.get("datasource")
    for variable in dashboard.get("templating", {}).get("list", []):
        if "datasource" in variable:
            yield f"variable {variable['name']}", variable["datasource"]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        yield f"annotation {annotation.get('name')}", annotation.get("datasource")
        if "target" in annotation:
            yield f"annotation {annotation.get('name')} target", annotation["target"].get("datasource")


def reference_problems(name: str, dashboard: dict[str, Any], datasources: dict[str, Any]) -> list[str]:
    problems = []
    if "${DS_" in json.dumps(dashboard) or "__inputs" in dashboard:
        problems.append(f"{name}: export-for-sharing leftovers (${{DS_...}} or __inputs)")
    if not UID_RE.match(str(dashboard.get("uid", ""))):
        problems.append(f"{name}: uid {dashboard.get('uid')!r} is not 1-40 of [a-z0-9-]")
    if dashboard.get("schemaVersion") != 42:
        problems.append(f"{name}: schemaVersion {dashboard.get('schemaVersion')} (42, as Grafana 13 writes)")
    for where, ref in _datasource_refs(dashboard):
        if not isinstance(ref, dict):
            problems.append(f"{name}: {where}: datasource must be {{type, uid}}, got {ref!r}")
        elif ref.get("uid") in files.SPECIAL_DATASOURCE_UIDS:
            continue
        elif ref.get("uid") not in datasources:
            problems.append(f"{name}: {where}: datasource uid {ref.get('uid')!r} is not provisioned")
        elif datasources[ref["uid"]]["type"] != ref.get("type"):
            actual = datasources[ref["uid"]]["type"]
            problems.append(f"{name}: {where}: type {ref.get('type')} but {ref['uid']} is a {actual}")
    return problems


def layout_problems(name: str, dashboard: dict[str, Any]) -> list[str]:
    problems, ids, taken = [], set(), {}
    for panel in files.all_panels(dashboard):
        where, grid = f"{name}: panel {panel.get('id')} {panel.get('title')!r}", panel.get("gridPos", {})
        if panel.get("id") in ids:
            problems.append(f"{where}: duplicate panel id")
        ids.add(panel.get("id"))
        refs = [t.get("refId") for t in panel.get("targets", [])]
        if len(refs) != len(set(refs)):
            problems.append(f"{where}: duplicate refIds {refs}")
        x, y, w, h = (grid.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)):
            problems.append(f"{where}: gridPos must be integers: {grid}")
            continue
        if x < 0 or w < 1 or h < 1 or x + w > 24:
            problems.append(f"{where}: gridPos {grid} is outside the 24 columns")
        for cell in ((cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)):
            if cell in taken:
                problems.append(f"{where}: overlaps panel {taken[cell]} at column {cell[0]}, row {cell[1]}")
                break
            taken[cell] = panel.get("id")
    return problems


def variable_problems(name: str, dashboard: dict[str, Any]) -> list[str]:
    """Every $var used is defined, and defined before the variables that use it."""
    problems, defined = (
        [],
        {"__interval", "__interval_ms", "__from", "__to", "__dashboard", "__user", "__org"},
    )
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        for used in referenced_variables(text) - defined:
            problems.append(f"{name}: variable {variable['name']} uses ${used} before it is defined")
        defined.add(variable["name"])
    texts = [json.dumps(p.get("targets", [])) + p.get("title", "") for p in files.all_panels(dashboard)]
    texts += [json.dumps(a.get("target", {})) for a in dashboard.get("annotations", {}).get("list", [])]
    for used in set().union(*(referenced_variables(t) for t in texts)) - defined:
        if not used.startswith("__"):
            problems.append(f"{name}: ${used} is used but not defined")
    return problems


# -- catalogs -------------------------------------------------------------------------


def sample_values(dashboard: dict[str, Any]) -> dict[str, Any]:
    """Values for query variables without a server: sample ids (a list when multi-value);
    every other variable keeps what the file saves."""
    values: dict[str, Any] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            values[variable["name"]] = ["sample-1", "sample-2"] if variable.get("multi") else "sample-1"
    return values


def _catalog_queries(dashboard: dict[str, Any]) -> Iterable[tuple[str, dict, str, str | None, Any]]:
    """(where, datasource ref, kind, entry name, query) of every query a function answers."""
    for panel in files.query_panels(dashboard):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel['title']!r} target {target.get('refId')}"
            yield where, target.get("datasource") or {}, "metric", target.get("target"), target
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["datasource"], "variable", None, variable["query"]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "target" in annotation:
            target = annotation["target"]
            where = f"annotation {annotation['name']}"
            yield where, annotation["datasource"], "annotation", target.get("target"), target


def catalog_problems(name: str, dashboard: dict[str, Any], catalogs: dict[str, Any], scenes) -> list[str]:
    """Every JSON-datasource target, variable query and annotation names a real catalog
    entry of the right kind, with a payload the function accepts. The payloads are the
    ones Grafana's own interpolation (``scenes``, a GrafanaScenes harness) and our adapter
    of the plugin make of the file, with sample values for the query variables."""
    problems, work = [], []
    for where, ref, kind, entry, query in _catalog_queries(dashboard):
        if ref.get("uid") in catalogs:
            work.append((where, ref["uid"], kind, entry, query))
        elif ref.get("type") == JSON_DATASOURCE:
            problems.append(f"{name}: {where}: no catalog behind datasource {ref.get('uid')}")
    datasources = {uid: {"type": JSON_DATASOURCE, "url": "http://unused.invalid"} for uid in catalogs}
    queries = [
        {"kind": "variable" if k == "variable" else "target", "uid": u, "query": q} for _, u, k, _, q in work
    ]
    answer = scenes.payloads(dashboard, datasources, queries, sample_values(dashboard))
    silent = {note["payload"]: note for note in answer["notes"]}
    for (where, uid, kind, entry, query), result in zip(work, answer["results"]):
        if "error" in result:
            problems.append(
                f"{name}: {where}: {query.get('query')!r} is not JSON after interpolation: {result['error']}"
            )
            continue
        note = silent.get(query.get("payload")) if kind != "variable" else None
        if note is not None:
            problems.append(
                f"{name}: {where}: payload became {note['interpolated']!r}, not JSON: sent as {{}}"
            )
            continue
        body = dict(result["payload"])
        if kind == "variable":
            entry = body.pop("target", entry)
        try:
            catalogs[uid].validate(kind, entry, body)
        except ValueError as exc:
            problems.append(f"{name}: {where}: {exc}")
    return problems


# -- alerting -------------------------------------------------------------------------


def _refs_used(model: dict[str, Any]) -> set[str]:
    if model.get("type") == "math":
        return set(re.findall(r"\$\{?([A-Za-z]\w*)", model["expression"]))
    return {model.get("expression")}


def rule_problems(rule: dict[str, Any], datasources: dict[str, Any]) -> list[str]:
    where, problems = f"rule {rule.get('uid')}", []
    refs = [q.get("refId") for q in rule.get("data", [])]
    if len(refs) != len(set(refs)):
        problems.append(f"{where}: duplicate refIds {refs}")
    if rule.get("condition") not in refs:
        problems.append(f"{where}: condition {rule.get('condition')} is not a refId")
    seen = set()
    for query in rule.get("data", []):
        model, uid = query.get("model", {}), query.get("datasourceUid")
        if model.get("refId") != query.get("refId"):
            problems.append(f"{where}: model refId {model.get('refId')} != {query.get('refId')}")
        if uid == files.EXPR_UID:
            for used in _refs_used(model) - seen:
                problems.append(f"{where}: {query['refId']} uses {used}, not an earlier refId")
        elif uid not in datasources:
            problems.append(f"{where}: {query.get('refId')}: datasource {uid} is not provisioned")
        elif datasources[uid]["type"] not in ALERTING_TYPES:
            problems.append(
                f"{where}: {query.get('refId')}: {datasources[uid]['type']} cannot back alert rules"
            )
        else:
            problems += [
                f"{where}: {query['refId']}: {p}" for p in infinity_problems(model, datasources[uid])
            ]
        seen.add(query.get("refId"))
    return problems


def infinity_problems(model: dict[str, Any], datasource: dict[str, Any]) -> list[str]:
    if datasource["type"] != INFINITY:
        return []
    problems = []
    if model.get("datasource", {}).get("uid") != datasource["uid"]:
        problems.append("model.datasource does not match datasourceUid")
    if model.get("parser") not in ("backend", "jq-backend"):
        problems.append(f"parser {model.get('parser')!r}: only backend parsers run during alert evaluation")
    allowed = datasource.get("jsonData", {}).get("allowedHosts", [])
    if allowed and not any(model.get("url", "").startswith(prefix) for prefix in allowed):
        problems.append(f"url {model.get('url')} is outside allowedHosts {allowed}")
    options = model.get("url_options", {})
    try:
        body = json.loads(options.get("data", ""))
    except ValueError as exc:
        return [*problems, f"body is not JSON: {exc}"]
    if body.get("format") != "rows":
        problems.append('body needs "format": "rows"')
    if body.get("range") != {"from": "${__timeFrom:date:iso}", "to": "${__timeTo:date:iso}"}:
        problems.append("body range must be ${__timeFrom:date:iso} / ${__timeTo:date:iso}")
    if options.get("method") != "POST" or options.get("body_content_type") != "application/json":
        problems.append("url_options must POST application/json")
    if referenced_variables(options.get("data", "")) - {"__timeFrom", "__timeTo"}:
        problems.append("alert queries cannot use dashboard variables")
    return problems


def alerting_problems(
    documents: dict[str, Any],
    datasources: dict[str, Any],
    dashboards: dict[str, Any],
    provider_folders: set[str],
) -> list[str]:
    problems, uids, titles = [], set(), set()
    panels = {d["uid"]: {p["id"] for p in files.all_panels(d)} for d in dashboards.values()}
    mute_names = {m["name"] for doc in documents.values() for m in doc.get("muteTimes", [])}
    receivers = {c["name"] for doc in documents.values() for c in doc.get("contactPoints", [])}
    for document in documents.values():
        for group in document.get("groups", []):
            if group.get("folder") in provider_folders:
                problems.append(
                    f"group {group['name']}: folder {group['folder']!r} is also a dashboard folder"
                )
            for rule in group.get("rules", []):
                if rule["uid"] in uids or (group["folder"], rule["title"]) in titles:
                    problems.append(f"rule {rule['uid']}: uid or title used twice")
                uids.add(rule["uid"])
                titles.add((group["folder"], rule["title"]))
                problems += rule_problems(rule, datasources)
                linked = rule.get("dashboardUid")
                if linked and rule.get("panelId") not in panels.get(linked, ()):
                    problems.append(
                        f"rule {rule['uid']}: panel {rule.get('panelId')} of {linked} does not exist"
                    )
        for policy in document.get("policies", []):
            problems += _route_problems(policy, receivers, mute_names)
    return problems


def _route_problems(route: dict[str, Any], receivers: set[str], mute_names: set[str]) -> list[str]:
    problems = []
    if route.get("receiver") and route["receiver"] not in receivers:
        problems.append(f"policy receiver {route['receiver']} is not a contact point")
    for name in route.get("mute_time_intervals", []) + route.get("active_time_intervals", []):
        if name not in mute_names:
            problems.append(f"policy time interval {name} is not defined")
    for child in route.get("routes", []):
        problems += _route_problems(child, receivers, mute_names)
    return problems


def function_of(datasource: dict[str, Any]) -> str | None:
    """The function a datasource URL points at: http://datasource:9000/<function>[/...]."""
    path = urlsplit(datasource.get("url", "")).path.strip("/")
    return path.split("/")[0] if path else None
