"""Catalog loading: the shipped catalog is valid; bad catalogs fail naming the entry and problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import BUSINESS_DIR
from grafana_scf.catalog_file import CatalogError, load_catalog_file
from grafana_scf.errors import BadRequestError
from grafana_scf.sources.mysql.catalog import load_catalog
from grafana_scf.sources.mysql.params import Param, resolve_params

GOOD = {
    "source": "mysql",
    "adhoc_filters": {"country": {"values": ["CN", "DE"]}},
    "variables": {"projects": {"sql": "SELECT slug AS __value FROM projects"}},
    "metrics": {
        "signups": {
            "sql": "SELECT $__timeGroupAlias(created_at, $__interval), COUNT(*) AS n FROM users "
            "WHERE $__timeFilter(created_at) AND $__inFilter(project, project) AND $__adhocFilters() "
            "GROUP BY 1",
            "params": {"project": {"type": "string", "multi": True, "options_from": "projects"}},
            "adhoc": {"country": "users.country"},
        }
    },
}


def broken(path, value, base=None):
    """``base`` (``GOOD`` by default) with the key at ``path`` set, or deleted for ``KeyError``."""
    document = copy.deepcopy(base or GOOD)
    *parents, last = path
    node = document
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return document


def test_shipped_business_catalog_loads():
    catalog = load_catalog(load_catalog_file(BUSINESS_DIR / "catalog.yaml"))
    kinds = [e.kind for e in catalog.entries.values()]
    assert kinds.count("metric") >= 10
    assert sum(1 for e in catalog.entries.values() if e.format == "table") >= 2
    assert kinds.count("annotation") >= 2
    assert kinds.count("variable") >= 3
    assert len(catalog.adhoc_keys) >= 3


def test_good_catalog_loads():
    catalog = load_catalog(GOOD)
    entry = catalog.entries["signups"]
    assert entry.params["project"].multi is True
    assert entry.adhoc == {"country": "users.country"}


BAD = [
    ("no source", ["source"], KeyError, "catalog is missing required field(s): source"),
    ("wrong source", ["source"], "postgres", "source must be same as const definition: mysql"),
    ("no sql", ["metrics", "signups", "sql"], KeyError, "metrics.signups is missing required field(s): sql"),
    ("unknown key", ["metrics", "signups", "colour"], "red", "metrics.signups must not contain {'colour'}"),
    ("bad format", ["metrics", "signups", "format"], "pie", "metrics.signups.format must be one of"),
    ("bad name", ["metrics", "Bad Name"], {"sql": "SELECT 1"}, "metrics must be named by propertyName"),
    ("bad param type", ["metrics", "signups", "params", "project", "type"], "date",
     "metrics.signups.params.project.type must be one of"),
    ("unknown macro", ["metrics", "signups", "sql"], "SELECT $__nope()",
     "metrics.signups.sql: unknown macro $__nope"),
    ("macro arguments", ["metrics", "signups", "sql"], "SELECT $__timeGroup(x)",
     "metrics.signups.sql: $__timeGroup expects 2 to 3 arguments, got 1"),
    ("undeclared parameter", ["metrics", "signups", "sql"], "SELECT :other FROM t",
     "metrics.signups.sql: :other is not a declared parameter"),
    ("unused parameter", ["metrics", "signups", "sql"], "SELECT 1 WHERE $__adhocFilters()",
     "metrics.signups: declares parameter 'project' but the SQL never uses it"),
    ("adhoc without macro", ["metrics", "signups", "sql"], "SELECT :project",
     "metrics.signups: declares adhoc columns but the SQL has no $__adhocFilters()"),
    ("undeclared adhoc key", ["metrics", "signups", "adhoc"], {"city": "users.city"},
     "metrics.signups.adhoc.city: not declared in adhoc_filters"),
    ("options from nowhere", ["metrics", "signups", "params", "project", "options_from"], "nope",
     "metrics.signups.params.project.options_from: no variable named 'nope'"),
    ("bad default", ["metrics", "signups", "params", "project", "default"], {"a": 1},
     "metrics.signups.params.project.default must be a string"),
    ("bad min interval", ["metrics", "signups", "min_interval"], "often", "metrics.signups.min_interval"),
    ("duplicate name", ["annotations"], {"signups": {"sql": "SELECT 1"}},
     "annotations.signups: the name is already used by a metric"),
    ("grafana variable in sql", ["variables", "projects", "sql"], "SELECT $customer",
     "variables.projects.sql: $customer: catalog SQL takes :customer parameters"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "value", "message"), BAD, ids=[c[0] for c in BAD])
def test_bad_catalogs_name_entry_and_problem(name, path, value, message):
    with pytest.raises(CatalogError) as caught:
        load_catalog(broken(path, value))
    assert message in str(caught.value)


SHARED = {
    **GOOD,
    "params": {
        "project": {"type": "string", "multi": True, "options_from": "projects", "label": "Project"},
        "limit": {"type": "integer", "minimum": 1, "label": "Rows"},
    },
    "metrics": {
        "signups": {**GOOD["metrics"]["signups"], "params": ["project"]},
        "recent": {
            "format": "table",
            "sql": "SELECT name FROM users WHERE $__inFilter(project, project) LIMIT :limit",
            "params": {
                "limit": {"use": "limit", "default": 50, "maximum": 500},
                "project": {"use": "project"},
            },
        },
    },
}


def test_shared_params_are_used_by_name_with_overrides():
    catalog = load_catalog(SHARED)
    project = Param("project", multi=True, options_from="projects", label="Project")
    assert dict(catalog.entries["signups"].params) == {"project": project}
    recent = catalog.entries["recent"].params
    assert list(recent) == ["limit", "project"]
    assert recent["limit"] == Param("limit", type="integer", default=50, minimum=1, maximum=500, label="Rows")
    assert recent["project"] == project


SHARED_BAD = [
    ("undefined name in a list", ["metrics", "signups", "params"], ["projct"],
     "metrics.signups.params.projct: 'projct' is not defined under params (defined: project, limit)"),
    ("undefined use", ["metrics", "recent", "params", "limit", "use"], "rows",
     "metrics.recent.params.limit.use: 'rows' is not defined under params"),
    ("unused definition", ["params", "severity"], {"enum": ["sev1"]},
     "params.severity: defined but no entry uses it"),
    ("bad shared key", ["params", "limit", "colour"], "red", "params.limit must not contain {'colour'}"),
    ("bad override", ["metrics", "recent", "params", "limit", "maximum"], "lots",
     "metrics.recent.params.limit.maximum must be number"),
    ("repeated name", ["metrics", "signups", "params"], ["project", "project"],
     "metrics.signups.params must contain unique items"),
    ("not a name", ["metrics", "signups", "params"], [{"use": "project"}],
     "metrics.signups.params[0] must be string"),
    ("bad default after override", ["metrics", "recent", "params", "limit", "default"], 0,
     "metrics.recent.params.limit.default must be >= 1"),
    ("shared options_from", ["params", "project", "options_from"], "nope",
     "metrics.signups.params.project.options_from: no variable named 'nope'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "path", "value", "message"), SHARED_BAD, ids=[c[0] for c in SHARED_BAD])
def test_bad_shared_params_name_entry_and_problem(name, path, value, message):
    with pytest.raises(CatalogError) as caught:
        load_catalog(broken(path, value, SHARED))
    assert message in str(caught.value)


def test_bad_yaml_and_bad_shape(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("metrics: [unclosed")
    with pytest.raises(CatalogError, match=r"catalog\.yaml: not valid YAML"):
        load_catalog_file(path)
    path.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(CatalogError, match="must be a mapping"):
        load_catalog_file(path)
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog_file(tmp_path / "missing.yaml")


def test_a_bad_catalog_fails_the_cold_start(tmp_path, monkeypatch):
    from grafana_scf.app import create_app

    (tmp_path / "catalog.yaml").write_text(
        yaml.safe_dump(broken(["metrics", "signups", "sql"], "SELECT $__x()"))
    )
    with pytest.raises(CatalogError, match="unknown macro"):
        create_app(tmp_path / "index.py")


PARAMS = {
    "project": Param("project", multi=True),
    "limit": Param("limit", type="integer", default=10, minimum=1, maximum=100),
    "rate": Param("rate", type="number"),
    "flag": Param("flag", type="boolean"),
    "severity": Param("severity", enum=("sev1", "sev2"), required=True),
}

COERCIONS = [
    ("array from code mode", {"project": ["a", "b"]}, "project", ["a", "b"]),
    ("regex alternation from builder mode", {"project": "(a|b\\.c)"}, "project", ["a", "b.c"]),
    ("single string to list", {"project": "a"}, "project", ["a"]),
    ("integer from string", {"limit": "25"}, "limit", 25),
    ("default", {}, "limit", 10),
    ("number", {"rate": "2.5"}, "rate", 2.5),
    ("boolean from string", {"flag": "true"}, "flag", True),
    ("single from one-item list", {"limit": [5]}, "limit", 5),
]


@pytest.mark.parametrize(("name", "payload", "key", "value"), COERCIONS, ids=[c[0] for c in COERCIONS])
def test_payload_coercion(name, payload, key, value):
    values = resolve_params(PARAMS, {"severity": "sev1", **payload}, "A")
    assert values[key] == value


REFUSALS = [
    ("unknown parameter", {"region": "x"}, "A: unknown parameter 'region' (parameters: flag, limit,"),
    ("not an integer", {"limit": "ten"}, "A: parameter 'limit' must be an integer, got 'ten'"),
    ("fraction", {"limit": 2.5}, "A: parameter 'limit' must be an integer"),
    ("below minimum", {"limit": 0}, "A: parameter 'limit' must be >= 1"),
    ("above maximum", {"limit": 1000}, "A: parameter 'limit' must be <= 100"),
    ("not in enum", {"severity": "sev9"}, "A: parameter 'severity' must be one of sev1, sev2"),
    ("object value", {"project": {"a": 1}}, "A: parameter 'project' must be a string, got dict"),
    ("list for single", {"limit": [1, 2]}, "A: parameter 'limit' takes a single value"),
    ("nan", {"rate": "nan"}, "A: parameter 'rate' must be a finite number"),
    ("bool for number", {"rate": True}, "A: parameter 'rate' must be a number"),
]


@pytest.mark.parametrize(("name", "payload", "message"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_bad_payload_values_are_named(name, payload, message):
    with pytest.raises(BadRequestError) as caught:
        resolve_params(PARAMS, {"severity": "sev1", **payload}, "A")
    assert message in str(caught.value)


def test_missing_required_with_empty_payload_hints_at_interpolation():
    with pytest.raises(BadRequestError) as caught:
        resolve_params(PARAMS, {}, "A")
    assert "parameter 'severity' is required" in str(caught.value)
    text = str(caught.value)
    assert "the payload arrived empty ({})" in text
    assert 'write a single-value variable quoted, "$var", and a multi-value one unquoted, $var' in text
    assert "or a builder field left empty" in text
    with pytest.raises(BadRequestError) as caught:
        resolve_params(PARAMS, {"limit": 5}, "A")  # a payload that arrived: no hint
    assert "arrived empty" not in str(caught.value)
