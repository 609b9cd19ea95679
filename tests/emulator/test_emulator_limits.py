"""GetMonitorData limits and API-level errors, with the codes a real endpoint uses."""

from __future__ import annotations

import time

import pytest

from labelhub_tools.emulator.params import format_time
from labelhub_tools.emulator.server import start_emulator

from .helpers import data_request, sdk_error

CVM = "QCE/CVM"
FLEET = [{"InstanceId": f"ins-sh{n:06d}"} for n in range(1, 61)]


def _code(monitor, request, region="ap-shanghai"):
    return sdk_error(lambda: monitor(region).GetMonitorData(request)).get_code()


def _params(start, end, **changes):
    params = {
        "Namespace": CVM,
        "MetricName": "CPUUsage",
        "Period": 60,
        "Instances": [{"Dimensions": [{"Name": "InstanceId", "Value": "ins-gz0web01"}]}],
        "StartTime": format_time(start),
        "EndTime": format_time(end),
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def test_at_most_ten_instances_per_call(monitor, window):
    start, end = window
    ok = monitor("ap-shanghai").GetMonitorData(data_request(CVM, "CPUUsage", FLEET[:10], start, end, 300))
    assert len(ok.DataPoints) == 10
    request = data_request(CVM, "CPUUsage", FLEET[:11], start, end, 300)
    assert _code(monitor, request) == "LimitExceeded.LimitedAccess"


def test_at_most_1440_points_per_call(monitor):
    start = (int(time.time()) // 3600 - 6) * 3600
    end = start + 143 * 60  # 144 one-minute slots
    ok = monitor("ap-shanghai").GetMonitorData(data_request(CVM, "CPUUsage", FLEET[:10], start, end, 60))
    assert len(ok.DataPoints) == 10
    request = data_request(CVM, "CPUUsage", FLEET[:10], start, end + 60, 60)
    assert _code(monitor, request) == "LimitExceeded"


def test_newest_limits_profile(cred, profile):
    from tencentcloud.monitor.v20180724 import monitor_client

    with start_emulator(limits="newest", rate_limit=0) as handle:
        client = monitor_client.MonitorClient(cred, "ap-shanghai", profile(endpoint=handle.endpoint))
        end = (int(time.time()) // 3600 - 1) * 3600
        ok = client.GetMonitorData(data_request(CVM, "CPUUsage", FLEET[:50], end - 3600, end, 60))
        assert len(ok.DataPoints) == 50
        error = sdk_error(
            lambda: client.GetMonitorData(data_request(CVM, "CPUUsage", FLEET[:51], end - 3600, end, 300))
        )
        assert error.get_code() == "LimitExceeded.LimitedAccess"


@pytest.mark.parametrize(("metric", "period"), [("CvmDiskUsage", 10), ("CPUUsage", 61), ("CPUUsage", 120)])
def test_unsupported_period(monitor, window, metric, period):
    start, end = window
    request = data_request(CVM, metric, [{"InstanceId": "ins-gz0web01"}], start, end, period)
    assert _code(monitor, request, "ap-guangzhou") == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("period", "days_ago", "allowed"),
    [
        (10, 2, False),
        (60, 30, True),
        (60, 32, False),
        (300, 32, False),
        (3600, 90, True),
        (3600, 94, False),
        (86400, 185, True),
        (86400, 187, False),
    ],
)
def test_retention_per_period(monitor, period, days_ago, allowed):
    start = int(time.time()) - days_ago * 86400
    end = start + min(50 * period, 86400)
    request = data_request(CVM, "CPUUsage", [{"InstanceId": "ins-gz0web01"}], start, end, period)
    if allowed:
        assert monitor().GetMonitorData(request).DataPoints
    else:
        assert _code(monitor, request, "ap-guangzhou") == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Namespace": None}, "MissingParameter"),
        ({"MetricName": None}, "MissingParameter"),
        ({"Instances": None}, "MissingParameter"),
        ({"Instances": []}, "MissingParameter"),
        ({"StartTime": None}, "MissingParameter"),
        ({"Namespace": "QCE/NOPE"}, "InvalidParameterValue"),
        ({"MetricName": "NoSuchMetric"}, "InvalidParameterValue"),
        ({"StartTime": "yesterday"}, "InvalidParameterValue"),
        ({"StartTime": "2024-02-30T00:00:00+08:00"}, "InvalidParameterValue"),
        ({"SpecifyStatistics": 8}, "InvalidParameterValue"),
        ({"Period": "sixty"}, "InvalidParameter"),
        ({"Instances": [{"Dimensions": [{"Name": "InstanceId"}]}]}, "InvalidParameter"),
        ({"Instances": ["ins-gz0web01"]}, "InvalidParameter"),
        ({"Foo": 1}, "UnknownParameter"),
    ],
)
def test_parameter_errors(common, window, changes, code):
    start, end = window
    client = common("monitor", "2018-07-24")
    error = sdk_error(lambda: client.call_json("GetMonitorData", _params(start, end, **changes)))
    assert error.get_code() == code


def test_end_before_start(common, window):
    start, end = window
    client = common("monitor", "2018-07-24")
    error = sdk_error(lambda: client.call_json("GetMonitorData", _params(end, start)))
    assert error.get_code() == "InvalidParameterValue"


def test_end_time_defaults_to_now(common):
    start = int(time.time()) - 600
    answer = common("monitor", "2018-07-24").call_json("GetMonitorData", _params(start, 0, EndTime=None))[
        "Response"
    ]
    assert answer["DataPoints"][0]["Timestamps"]


@pytest.mark.parametrize(
    ("service", "version", "action", "region", "code"),
    [
        ("monitor", "2018-07-24", "NoSuchAction", "ap-guangzhou", "InvalidAction"),
        ("monitor", "2023-06-16", "GetMonitorData", "ap-guangzhou", "NoSuchVersion"),
        ("redis", "2018-04-12", "DescribeInstances", "ap-guangzhou", "InvalidAction"),
        ("cvm", "2017-03-12", "DescribeInstances", "ap-mars", "UnsupportedRegion"),
        ("cvm", "2017-03-12", "DescribeInstances", "ap-shanghai-fsi", "UnsupportedRegion"),
        ("cvm", "2017-03-12", "DescribeInstances", "", "MissingParameter"),
    ],
)
def test_routing_errors(common, service, version, action, region, code):
    client = common(service, version, region)
    assert sdk_error(lambda: client.call_json(action, {})).get_code() == code
