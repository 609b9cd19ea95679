"""Template variables: regions and instance lists, with the payload's region really used."""

from __future__ import annotations

import pytest

from labelhub_tools.emulator import inventory

from .helpers import call


def variable(app, name, **payload):
    return call(app, "POST", "/variable", {"payload": {"target": name, **payload}})


def listed(product, region, namespace=None):
    """What the emulator's account holds, straight from its inventory."""
    found = inventory.instances(product, region)
    if namespace is not None:
        found = [i for i in found if i.attrs["namespace"] == namespace]
    return found


def test_regions_lists_the_available_ones(app, grafana):
    status, options = variable(app, "regions")
    assert status == 200
    assert [o["__value"] for o in options] == ["ap-beijing", "ap-guangzhou", "ap-hongkong", "ap-shanghai"]
    assert options[1]["__text"] == "华南地区(广州) (ap-guangzhou)"
    converted = grafana.variable(options)
    assert converted[0] == {"text": options[0]["__text"], "value": "ap-beijing"}


@pytest.mark.parametrize("region", ["ap-guangzhou", "ap-beijing"])
def test_the_region_in_the_payload_drives_the_instance_list(app, emulator, region, grafana):
    status, options = variable(app, "cvm_instances", region=region)
    assert status == 200
    expected = [
        {"__text": f"{i.name} ({i.resource_id})", "__value": i.resource_id} for i in listed("cvm", region)
    ]
    assert options == expected
    assert {r["region"] for r in emulator.requests("DescribeInstances")} == {region}
    assert [o["value"] for o in grafana.variable(options)] == [i.resource_id for i in listed("cvm", region)]


def test_two_regions_give_two_different_lists(app):
    guangzhou = variable(app, "cdb_instances", region="ap-guangzhou")[1]
    shanghai = variable(app, "cdb_instances", region="ap-shanghai")[1]
    assert {o["__value"] for o in guangzhou} == {"cdb-gz0main1", "cdb-gz0ro001", "cdb-gz0hot01"}
    assert {o["__value"] for o in shanghai} == {"cdb-sh0main1", "cdb-sh0dr001"}
    default = variable(app, "cdb_instances")[1]  # no region: CLOUD_API_REGION
    assert default == guangzhou


def test_paged_listing_returns_every_instance(app, emulator):
    status, options = variable(app, "cvm_instances", region="ap-shanghai")
    assert status == 200
    assert len(options) == len(listed("cvm", "ap-shanghai")) == 123
    assert len(emulator.requests("DescribeInstances")) == 2  # two pages of at most 100


def test_scf_functions_by_namespace_and_clb_public_only(app):
    default = variable(app, "scf_functions")[1]
    assert [o["__value"] for o in default] == [i.name for i in listed("scf", "ap-guangzhou", "default")]
    jobs = variable(app, "scf_functions", function_namespace="labelhub-jobs")[1]
    assert [o["__value"] for o in jobs] == ["nightly-export", "label-sync"]
    assert jobs[0]["__text"] == "nightly-export"  # the alias adds nothing to a function name
    clb = variable(app, "clb_instances")[1]
    assert clb == [{"__text": "labelhub-public-clb (lb-gz0pub01)", "__value": "lb-gz0pub01"}]


@pytest.mark.parametrize(
    ("name", "payload", "status", "expected"),
    [
        ("nope", {}, 400, "no variable query 'nope'"),
        ("cvm_instances", {"region": "nowhere"}, 400, "payload.region 'nowhere' is not a region"),
        ("cvm_instances", {"zone": "x"}, 400, "payload.zone is not a field"),
        ("cvm_instances", {"region": "ap-shanghai-fsi"}, 400, "UnsupportedRegion"),
        ("scf_functions", {"function_namespace": "missing"}, 400, "ResourceNotFound.Namespace"),
    ],
)
def test_bad_variable_requests(app, name, payload, status, expected):
    got, answer = variable(app, name, **payload)
    assert got == status
    assert expected in answer["message"], answer["message"]
