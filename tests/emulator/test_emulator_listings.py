"""Instance listings (cvm, cdb, scf, clb, regions) through CommonClient."""

from __future__ import annotations

import pytest

from .helpers import data_request, sdk_error


def _call(common, service, version, action, params=None, region="ap-guangzhou"):
    return common(service, version, region).call_json(action, params or {})["Response"]


def _cvm(common, params=None, region="ap-guangzhou"):
    return _call(common, "cvm", "2017-03-12", "DescribeInstances", params, region)


def test_cvm_instances_of_a_region(common):
    answer = _cvm(common, {"Limit": 100})
    assert answer["TotalCount"] == len(answer["InstanceSet"]) == 7
    first = answer["InstanceSet"][0]
    assert first["InstanceId"] == "ins-gz0web01" and first["InstanceName"] == "labelhub-web-1"
    assert first["Placement"]["Zone"].startswith("ap-guangzhou-")
    assert first["InstanceState"] == "RUNNING"
    assert first["PrivateIpAddresses"] and first["PublicIpAddresses"]
    assert _cvm(common, region="ap-beijing")["TotalCount"] == 2


def test_cvm_default_page_and_paging(common):
    assert len(_cvm(common, region="ap-shanghai")["InstanceSet"]) == 20
    pages = [_cvm(common, {"Offset": offset, "Limit": 100}, "ap-shanghai") for offset in (0, 100, 200)]
    ids = [i["InstanceId"] for page in pages for i in page["InstanceSet"]]
    assert pages[0]["TotalCount"] == len(ids) == len(set(ids)) == 123
    assert pages[2]["InstanceSet"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Limit": 101}, "InvalidParameterValue.LimitExceeded"),
        ({"Limit": 0}, "InvalidParameterValue.LimitExceeded"),
        (
            {"InstanceIds": ["ins-gz0web01"], "Filters": [{"Name": "zone", "Values": ["x"]}]},
            "InvalidParameter",
        ),
        ({"Filters": [{"Name": "colour", "Values": ["red"]}]}, "InvalidFilter"),
        (
            {"Filters": [{"Name": "zone", "Values": ["a", "b", "c", "d", "e", "f"]}]},
            "InvalidParameterValue.LimitExceeded",
        ),
        ({"InstanceIds": [f"ins-{n}" for n in range(101)]}, "InvalidParameterValue.LimitExceeded"),
        ({"Marker": "x"}, "UnknownParameter"),
    ],
)
def test_cvm_parameter_errors(common, params, code):
    assert sdk_error(lambda: _cvm(common, params)).get_code() == code


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"InstanceIds": ["ins-gz0hot01", "ins-sh0web01"]}, ["ins-gz0hot01"]),
        ({"Filters": [{"Name": "instance-state", "Values": ["STOPPED"]}]}, ["ins-gz0off01"]),
        ({"Filters": [{"Name": "instance-name", "Values": ["labelhub-web-2"]}]}, ["ins-gz0web02"]),
        ({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-6"]}]}, ["ins-gz0web02"]),
        ({"Filters": [{"Name": "private-ip-address", "Values": ["10.0.0.21"]}]}, ["ins-gz0hot01"]),
        ({"Filters": [{"Name": "tag:project", "Values": ["nobody"]}]}, []),
    ],
)
def test_cvm_filters(common, params, expected):
    assert [i["InstanceId"] for i in _cvm(common, params)["InstanceSet"]] == expected


def test_db_instances(common):
    answer = _call(common, "cdb", "2017-03-20", "DescribeDBInstances")
    assert answer["TotalCount"] == 3
    item = answer["Items"][0]
    assert {"InstanceId", "InstanceName", "Region", "Status", "InstanceType", "Vip"} <= set(item)
    read_only = _call(common, "cdb", "2017-03-20", "DescribeDBInstances", {"InstanceTypes": [3]})
    assert [i["InstanceId"] for i in read_only["Items"]] == ["cdb-gz0ro001"]


def test_functions_of_a_namespace(common):
    answer = _call(common, "scf", "2018-04-16", "ListFunctions", {"Limit": 100})
    names = [f["FunctionName"] for f in answer["Functions"]]
    assert {"labelhub-dashboard-dev-business", "labelhub-dashboard-dev-cloudmonitor"} <= set(names)
    assert answer["TotalCount"] == len(names) == 6
    assert all(f["Namespace"] == "default" and f["FunctionId"] for f in answer["Functions"])
    jobs = _call(common, "scf", "2018-04-16", "ListFunctions", {"Namespace": "labelhub-jobs"})
    assert {f["FunctionName"] for f in jobs["Functions"]} == {"nightly-export", "label-sync"}
    searched = _call(common, "scf", "2018-04-16", "ListFunctions", {"SearchKey": "dashboard", "Limit": 2})
    assert searched["TotalCount"] == 4 and len(searched["Functions"]) == 2


def test_function_namespaces(common):
    answer = _call(common, "scf", "2018-04-16", "ListNamespaces")
    assert [n["Name"] for n in answer["Namespaces"]] == ["default", "labelhub-jobs"]
    error = sdk_error(lambda: _call(common, "scf", "2018-04-16", "ListFunctions", {"Namespace": "missing"}))
    assert error.get_code() == "ResourceNotFound.Namespace"


def test_load_balancers(common):
    everything = _call(common, "clb", "2018-03-17", "DescribeLoadBalancers")
    assert everything["TotalCount"] == 2
    public = _call(common, "clb", "2018-03-17", "DescribeLoadBalancers", {"LoadBalancerType": "OPEN"})
    assert [(b["LoadBalancerId"], b["LoadBalancerVips"]) for b in public["LoadBalancerSet"]] == [
        ("lb-gz0pub01", ["203.0.113.10"])
    ]
    error = sdk_error(
        lambda: _call(common, "clb", "2018-03-17", "DescribeLoadBalancers", {"LoadBalancerType": "PUBLIC"})
    )
    assert error.get_code() == "InvalidParameterValue"


def test_regions(common):
    cvm = _call(common, "cvm", "2017-03-12", "DescribeRegions")
    api = _call(common, "api", "2020-11-06", "DescribeRegions", {"Product": "cvm"})
    assert cvm["RegionSet"] == api["RegionSet"]
    available = [r["Region"] for r in api["RegionSet"] if r["RegionState"] == "AVAILABLE"]
    assert available == ["ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-hongkong"]
    error = sdk_error(lambda: _call(common, "api", "2020-11-06", "DescribeRegions"))
    assert error.get_code() == "MissingParameter"


def test_listed_functions_and_load_balancers_have_metrics(common, monitor, window):
    start, end = window
    functions = _call(common, "scf", "2018-04-16", "ListFunctions", {"Limit": 100})["Functions"]
    dims = [{"functionName": f["FunctionName"], "namespace": f["Namespace"]} for f in functions]
    response = monitor().GetMonitorData(data_request("QCE/SCF_V2", "Invocation", dims, start, end, 300))
    assert len(response.DataPoints) == len(dims)
    assert all(p.Timestamps for p in response.DataPoints)

    balancers = _call(common, "clb", "2018-03-17", "DescribeLoadBalancers")["LoadBalancerSet"]
    vips = [{"vip": b["LoadBalancerVips"][0]} for b in balancers]
    points = (
        monitor().GetMonitorData(data_request("QCE/LB_PUBLIC", "InTraffic", vips, start, end, 300)).DataPoints
    )
    has_data = {p.Dimensions[0].Value: bool(p.Timestamps) for p in points}
    assert has_data == {"203.0.113.10": True, "10.0.0.100": False}
