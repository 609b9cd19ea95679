"""The catalog checked at cold start, and the query editor's pickers."""

from __future__ import annotations

import copy

import pytest
import yaml

from grafana_scf.catalog_file import CatalogError
from grafana_scf.sources.cloudmonitor.catalog import load_catalog

from .conftest import INDEX
from .helpers import call

SHIPPED = yaml.safe_load((INDEX.parent / "catalog.yaml").read_text())


def with_change(path: str, value):
    """The shipped catalog with one key set (``a.b.c``); ``...`` as value deletes it."""
    document = copy.deepcopy(SHIPPED)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return document


def test_the_shipped_catalog_loads():
    catalog = load_catalog(SHIPPED)
    assert {
        "cvm_cpu",
        "cdb_connections",
        "cdb_max_connections",
        "scf_throttles",
        "clb_in_traffic",
        "metric",
    } <= set(catalog.metrics)
    assert catalog.metrics["metric"].generic
    assert list(catalog.variables) == [
        "regions",
        "cvm_instances",
        "cdb_instances",
        "scf_functions",
        "clb_instances",
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("source", "mysql", "source must be same as const definition: cloudmonitor"),
        ("metrics.cvm_cpu.statistic", "p99", "metrics.cvm_cpu.statistic must be one of"),
        ("metrics.cvm_cpu.product", "redis", "metrics.cvm_cpu.product must be one of"),
        ("metrics.cvm_cpu.colour", "red", "metrics.cvm_cpu must not contain {'colour'} properties"),
        ("metrics.cvm_cpu.periods", [], "metrics.cvm_cpu.periods must contain at least 1 items"),
        (
            "products.cvm.namespace",
            ...,
            "metrics.cvm_cpu: namespace is required, here or under products.cvm, or set generic: true",
        ),
        ("metrics.cvm_cpu.product", ..., "metrics.cvm_cpu: product is required or set generic: true"),
        ("products.cvm.colour", "red", "products.cvm must not contain {'colour'} properties"),
        ("products.redis", {"unit": "short"}, "products must be named by propertyName definition"),
        ("products.clb.statistic", "p99", "products.clb.statistic must be one of"),
        ("products.clb.dimensions", {"vip": "{id}x{nope}"}, "metrics.clb_in_traffic.dimensions: {nope}"),
        (
            "metrics.cvm_cpu.dimensions",
            {"InstanceId": "{vip}"},
            "metrics.cvm_cpu.dimensions: {vip} is not a field of cvm",
        ),
        ("metrics.cvm_cpu.dimensions", {"InstanceId": "ins-1"}, "must use a field of the instance"),
        (
            "metrics.metric.namespace",
            "QCE/CVM",
            "metrics.metric: a generic metric takes namespace from the payload",
        ),
        ("metrics.Bad-Name", {"generic": True}, "metrics must be named by propertyName definition"),
        ("variables.cvm_cpu", {"list": "cvm"}, "variables.cvm_cpu: the name is already used in metrics"),
        ("variables.hosts", {"list": "hosts"}, "variables.hosts.list must be one of"),
    ],
)
def test_catalog_errors_name_the_entry(path, value, message):
    with pytest.raises(CatalogError) as caught:
        load_catalog(with_change(path, value))
    assert message in str(caught.value)


def test_a_metric_takes_what_it_does_not_set_from_its_product():
    catalog = load_catalog(SHIPPED)
    cpu, disk = catalog.metrics["cvm_cpu"], catalog.metrics["cvm_disk"]
    assert (cpu.namespace, dict(cpu.dimensions), cpu.statistic) == ("QCE/CVM", {"InstanceId": "{id}"}, "avg")
    assert cpu.periods == (10, 60, 300, 3600, 86400)
    assert disk.periods == (60, 300, 3600, 86400), "a metric's own key wins over the default"
    assert catalog.metrics["cdb_slow_queries"].statistic is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"products": {"cvm": {"unit": "percent"}}}, "products.cvm.unit: every cvm metric sets its own unit"),
        ({"metrics": {"m": {"generic": True}}}, "products.cvm: defined but no entry uses it"),
    ],
)
def test_product_defaults_no_metric_takes_are_refused(change, message):
    document = {"source": "cloudmonitor", **change}
    if "metrics" not in change:
        document["metrics"] = {
            "m": {"metric": "CPUUsage", "product": "cvm", "unit": "percent", "namespace": "QCE/CVM",
                  "dimensions": {"InstanceId": "{id}"}},
        }  # fmt: skip
    else:
        document["products"] = {"cvm": {"namespace": "QCE/CVM"}}
    with pytest.raises(CatalogError) as caught:
        load_catalog(document)
    assert message in str(caught.value)


def test_metrics_lists_every_target_with_its_pickers(app):
    status, metrics = call(app, "POST", "/metrics", {})
    assert status == 200
    by_name = {m["value"]: m for m in metrics}
    assert by_name["alarms"]["label"] == "Cloud Monitor alarms (annotations)"
    cpu = {p["name"]: p for p in by_name["cvm_cpu"]["payloads"]}
    assert list(cpu) == ["region", "instances", "period", "statistic"]
    assert cpu["instances"]["type"] == "multi-select"
    assert [o["value"] for o in cpu["period"]["options"]] == ["auto", "10", "60", "300", "3600", "86400"]
    assert "function_namespace" in {p["name"] for p in by_name["scf_errors"]["payloads"]}
    generic = {p["name"]: p for p in by_name["metric"]["payloads"]}
    assert [o["value"] for o in generic["namespace"]["options"]] == [
        "QCE/CDB",
        "QCE/CVM",
        "QCE/LB_PUBLIC",
        "QCE/SCF_V2",
    ]


def options(app, entry, name, **payload):
    return call(app, "POST", "/metric-payload-options", {"metric": entry, "name": name, "payload": payload})


def test_payload_options_come_from_the_api(app, emulator):
    status, regions = options(app, "cvm_cpu", "region")
    assert status == 200 and "ap-shanghai" in [o["value"] for o in regions]
    status, instances = options(app, "cvm_cpu", "instances", region="ap-beijing", instances=[])
    assert instances == [
        {"label": "labelhub-web-bj-1 (ins-bj0web01)", "value": "ins-bj0web01"},
        {"label": "labelhub-web-bj-2 (ins-bj0web02)", "value": "ins-bj0web02"},
    ]
    status, metrics = options(app, "metric", "metric", namespace="QCE/SCF_V2")
    assert "Invocation" in [o["value"] for o in metrics]
    status, periods = options(app, "metric", "period", namespace="QCE/SCF_V2", metric="Mem")
    assert [o["value"] for o in periods] == ["auto", "10", "60", "300", "3600", "86400"]
    status, statistic = options(app, "cvm_cpu", "statistic")
    assert [o["value"] for o in statistic] == ["avg", "max", "min"]
    assert emulator.stats()["actions"]["DescribeBaseMetrics"]["calls"] == 1  # cached per namespace
    status, levels = options(app, "alarms", "levels")
    assert [o["value"] for o in levels] == ["Remind", "Warn", "Serious"]
    status, answer = options(app, "cvm_cpu", "colour")
    assert status == 400 and "no payload field 'colour'" in answer["message"]


def test_no_ad_hoc_filters(app):
    assert call(app, "POST", "/tag-keys", {}) == (200, [])
    status, _answer = call(app, "POST", "/tag-values", {"key": "host"})
    assert status == 400
