"""openapi.yaml is a valid OpenAPI document and true: real answers of both functions conform.

Every answer below comes from the real functions (seeded MariaDB, the Tencent Cloud
API emulator), success and error cases, and is validated against the operation's
documented status codes, required headers and JSON Schema.
"""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate as validate_spec

from grafana_scf.protocol import SCHEMAS
from grafana_scf.routes import Router

from . import contract
from .helpers import BUSINESS_RANGE, TOKEN, call, cloud_range

SLOW_SQL = (
    "SELECT COUNT(*) AS n FROM information_schema.COLUMNS a, information_schema.COLUMNS b, "
    "information_schema.COLUMNS c"
)


def test_the_document_is_valid_openapi():
    validate_spec(yaml.safe_load(contract.SPEC_PATH.read_text()))


def test_every_route_and_method_is_documented_and_nothing_else():
    documented = {
        (path, method.upper())
        for path, item in contract.spec()["paths"].items()
        for method in item
        if method != "options"
    }
    served = {(path, method) for path, methods in Router.ROUTES.items() for method in methods}
    assert documented == served
    assert all("options" in item for item in contract.spec()["paths"].values())


def _resolved(schema):
    if "$ref" in schema:
        node = contract.spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return _resolved(node)
    return schema


def _types(schema):
    schema = _resolved(schema)
    if "enum" in schema:
        return ("enum", tuple(schema["enum"]))
    kinds = schema.get("type")
    return tuple(sorted(kinds)) if isinstance(kinds, list) else kinds


@pytest.mark.parametrize("route", sorted(SCHEMAS))
def test_request_schemas_match_what_the_engine_checks(route):
    """The documented request bodies are the engine's own schemas: no stricter, no looser."""
    engine = SCHEMAS[route]
    op = contract.operation(f"/{route}", "POST")
    documented = _resolved(op["requestBody"]["content"]["application/json"]["schema"])
    assert documented.get("type") == engine["type"]
    assert sorted(documented.get("required", [])) == sorted(engine.get("required", []))
    engine_props = engine.get("properties", {})
    assert set(engine_props) <= set(documented.get("properties", {}))
    for name, rule in engine_props.items():
        assert _types(documented["properties"][name]) == _types(rule), f"/{route} {name}"


@pytest.fixture(scope="module")
def apps(make_business_app, db_settings, business_db, cloud_app, make_cloud_app, tmp_path_factory):
    """Every app the cases need, built once."""
    folder = tmp_path_factory.mktemp("slow_catalog")
    catalog = {
        "source": "mysql",
        "metrics": {"slow": {"format": "table", "sql": SLOW_SQL, "timeout_ms": 200}},
    }
    (folder / "catalog.yaml").write_text(yaml.safe_dump(catalog))
    from grafana_scf.app import create_app

    built = {
        "biz": business_db,
        "biz_badpw": make_business_app(**{**db_settings, "MYSQL_PASSWORD": "not-the-password-91"}),
        "biz_token": make_business_app(**{**db_settings, "DATASOURCE_TOKEN": TOKEN}),
        "biz_slow": create_app(folder / "index.py", **db_settings),
        "cloud": cloud_app,
        "cloud_badkey": make_cloud_app(CLOUD_API_SECRET_KEY="notTheKey000000000000000000000001"),
        "cloud_fragile": make_cloud_app(CLOUD_API_RETRIES=0, CLOUD_API_TIMEOUT_S=1),
    }
    yield built
    built["biz_slow"].source.database.close()


def q(target, ref_id="A", fmt=None, range_=None, **payload):
    body = {
        "range": range_ or BUSINESS_RANGE,
        "targets": [{"refId": ref_id, "target": target, "payload": payload}],
    }
    if fmt:
        body["format"] = fmt
    return body


def cq(target, fmt=None, **payload):
    return q(target, fmt=fmt, range_=cloud_range(), **payload)


def case(name, app, method, path, body, status, faults=None):
    return pytest.param(app, method, path, body, status, faults, id=name)


def mpo(metric, name):
    return {"metric": metric, "name": name}


def var(target, **payload):
    return {"payload": {"target": target, **payload}}


def anno(query, range_=None):
    return lambda: {"range": range_ or cloud_range(), "annotation": {"query": query}}


GMD = ["GetMonitorData"]
ONE = {"instances": "ins-gz0web01"}
CDB_QPS = {"namespace": "QCE/CDB", "metric": "Qps", "dimensions": {"InstanceId": "cdb-gz0main1"}}
BAD_DB, SLOW = "biz_badpw", "biz_slow"
CASES = [
    case("biz-health", "biz", "GET", "/", None, 200),
    case("biz-health-alias", "biz", "GET", "/health", None, 200),
    case("biz-health-post", "biz", "POST", "/", None, 200),
    case("biz-health-head", "biz", "HEAD", "/", None, 200),
    case("biz-health-down", BAD_DB, "GET", "/", None, 503),
    case("biz-metrics", "biz", "POST", "/metrics", {}, 200),
    case("biz-mpo-variable", "biz", "POST", "/metric-payload-options", mpo("signups", "channel"), 200),
    case("biz-mpo-enum", "biz", "POST", "/metric-payload-options", mpo("incidents", "severity"), 200),
    case("biz-mpo-400", "biz", "POST", "/metric-payload-options", mpo("signups", "nope"), 400),
    case("biz-query-series", "biz", "POST", "/query", q("signups_by_channel"), 200),
    case("biz-query-table", "biz", "POST", "/query", q("recent_users", limit=3), 200),
    case("biz-query-annotations", "biz", "POST", "/query", q("incidents"), 200),
    case("biz-query-rows-series", "biz", "POST", "/query", q("tasks_reviewed", fmt="rows"), 200),
    case("biz-query-rows-table", "biz", "POST", "/query", q("top_labellers", fmt="rows", limit=3), 200),
    case("biz-query-rows-annotations", "biz", "POST", "/query", q("releases", fmt="rows"), 200),
    case("biz-query-400", "biz", "POST", "/query", q("no_such_entry"), 400),
    case("biz-query-bad-json", "biz", "POST", "/query", "{nope", 400),
    case("biz-query-502", BAD_DB, "POST", "/query", q("signups"), 502),
    case("biz-query-504", SLOW, "POST", "/query", q("slow"), 504),
    case("biz-variable", "biz", "POST", "/variable", var("projects"), 200),
    case("biz-variable-400", "biz", "POST", "/variable", var("signups"), 400),
    case("biz-variable-502", BAD_DB, "POST", "/variable", var("countries"), 502),
    case("biz-tag-keys", "biz", "POST", "/tag-keys", {}, 200),
    case("biz-tag-values-sql", "biz", "POST", "/tag-values", {"key": "country"}, 200),
    case("biz-tag-values-list", "biz", "POST", "/tag-values", {"key": "role"}, 200),
    case("biz-tag-values-400", "biz", "POST", "/tag-values", {"key": "nope"}, 400),
    case("biz-search-metrics", "biz", "POST", "/search", {"target": "task"}, 200),
    case("biz-search-variable", "biz", "POST", "/search", {"target": "customers"}, 200),
    case("biz-annotations", "biz", "POST", "/annotations", anno("#incidents", BUSINESS_RANGE), 200),
    case("biz-annotations-400", "biz", "POST", "/annotations", anno("", BUSINESS_RANGE), 400),
    case("biz-401", "biz_token", "POST", "/query", q("signups"), 401),
    case("biz-401-health", "biz_token", "GET", "/", None, 401),
    case("cloud-health", "cloud", "GET", "/", None, 200),
    case("cloud-health-down", "cloud_badkey", "GET", "/health", None, 503),
    case("cloud-metrics", "cloud", "POST", "/metrics", {}, 200),
    case("cloud-mpo-static", "cloud", "POST", "/metric-payload-options", mpo("cvm_cpu", "period"), 200),
    case("cloud-mpo-listing", "cloud", "POST", "/metric-payload-options", mpo("cdb_cpu", "instances"), 200),
    case("cloud-mpo-regions", "cloud", "POST", "/metric-payload-options", mpo("cvm_cpu", "region"), 200),
    case("cloud-query", "cloud", "POST", "/query", lambda: cq("cvm_cpu"), 200),
    case("cloud-query-rows", "cloud", "POST", "/query", lambda: cq("scf_invocations", fmt="rows"), 200),
    case("cloud-query-generic", "cloud", "POST", "/query", lambda: cq("metric", **CDB_QPS), 200),
    case("cloud-query-alarms", "cloud", "POST", "/query", lambda: cq("alarms"), 200),
    case("cloud-query-400", "cloud", "POST", "/query", lambda: cq("cvm_cpu", period="seven"), 400),
    case("cloud-query-429", "cloud_fragile", "POST", "/query", lambda: cq("cvm_cpu", **ONE), 429,
         {"throttle_rate": 1.0, "actions": GMD}),
    case("cloud-query-502", "cloud_fragile", "POST", "/query", lambda: cq("cvm_cpu", **ONE), 502,
         {"error_rate": 1.0, "actions": GMD}),
    case("cloud-query-504", "cloud_fragile", "POST", "/query", lambda: cq("cvm_cpu", **ONE), 504,
         {"timeout_rate": 1.0, "timeout_seconds": 3, "actions": GMD}),
    case("cloud-variable", "cloud", "POST", "/variable", var("cvm_instances", region="ap-beijing"), 200),
    case("cloud-variable-regions", "cloud", "POST", "/variable", var("regions"), 200),
    case("cloud-variable-400", "cloud", "POST", "/variable", var("nope"), 400),
    case("cloud-variable-502", "cloud_fragile", "POST", "/variable", var("cdb_instances"), 502,
         {"error_rate": 1.0}),
    case("cloud-tag-keys", "cloud", "POST", "/tag-keys", {}, 200),
    case("cloud-tag-values-400", "cloud", "POST", "/tag-values", {"key": "x"}, 400),
    case("cloud-search", "cloud", "POST", "/search", {"target": "cvm"}, 200),
    case("cloud-search-variable", "cloud", "POST", "/search", {"target": "regions"}, 200),
    case("cloud-annotations", "cloud", "POST", "/annotations", anno("alarms"), 200),
]  # fmt: skip


@pytest.mark.parametrize(("app", "method", "path", "body", "status", "faults"), CASES)
def test_real_answers_conform(apps, emulator, app, method, path, body, status, faults):
    if faults:
        emulator.set_faults(**faults)
    answer = call(apps[app], method, path, body() if callable(body) else body)
    assert answer.status == status, answer.text[:500]
    contract.conforms(path, method, answer.status, answer.headers, answer.text)
    if answer.status >= 400:
        assert TOKEN not in answer.text


@pytest.mark.parametrize("app", ["biz", "cloud"])
def test_preflight_conforms(apps, app):
    for path in contract.spec()["paths"]:
        answer = call(apps[app], "OPTIONS", path)
        contract.conforms(path, "OPTIONS", answer.status, answer.headers, answer.text)


@pytest.mark.parametrize("app", ["biz", "cloud"])
def test_a_wrong_method_says_which_are_allowed(apps, app):
    """RFC 9110 15.5.6: a 405 must carry Allow; the contract documents it for every route."""
    answer = call(apps[app], "GET", "/query")
    assert answer.status == 405
    assert "POST" in answer.json()["message"]
    assert "allow" in {k.lower() for k in answer.headers}, answer.headers


def test_the_contract_check_can_fail():
    assert contract.schema_errors("/query", "POST", 200, [{"refId": "A", "fields": [{"name": "t"}]}])
    assert contract.schema_errors("/variable", "POST", 200, [{"__text": "a", "__value": 1}])
    assert contract.schema_errors("/query", "POST", 400, {"refId": "A"})
    with pytest.raises(AssertionError, match="not documented"):
        contract.conforms("/tag-keys", "POST", 504, {}, "{}")
