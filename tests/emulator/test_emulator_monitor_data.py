"""GetMonitorData through the real SDK: values, statistics, gaps and misbehaving instances."""

from __future__ import annotations

import json
import time
import warnings

import pytest
from tencentcloud.common.common_client import CommonClient
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import data
from labelhub_tools.emulator.params import format_time

from .helpers import data_request

CVM = "QCE/CVM"
SCF_DIMS = {"functionName": "labelhub-dashboard-dev-cloudmonitor", "namespace": "default"}


def _points(response):
    return {tuple((d.Name, d.Value) for d in point.Dimensions): point for point in response.DataPoints}


def _one(monitor, namespace, metric, dims, start, end, period=None, **extra):
    response = monitor().GetMonitorData(data_request(namespace, metric, [dims], start, end, period, **extra))
    assert len(response.DataPoints) == 1
    return response, response.DataPoints[0]


@pytest.mark.parametrize(
    ("namespace", "metric", "dims", "key", "period"),
    [
        (CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, "ins-gz0web01", 60),
        (CVM, "LanOuttraffic", {"InstanceId": "ins-gz0web02"}, "ins-gz0web02", 300),
        ("QCE/CDB", "CpuUseRate", {"InstanceId": "cdb-gz0main1"}, "cdb-gz0main1", 60),
        (
            "QCE/CDB",
            "ThreadsConnected",
            {"InstanceId": "cdb-gz0ro001", "InstanceType": "3"},
            "cdb-gz0ro001",
            300,
        ),
        ("QCE/SCF_V2", "Invocation", SCF_DIMS, SCF_DIMS["functionName"], 60),
        ("QCE/SCF_V2", "Duration", {**SCF_DIMS, "version": "$LATEST"}, SCF_DIMS["functionName"], 300),
        ("QCE/LB_PUBLIC", "OutTraffic", {"vip": "203.0.113.10"}, "203.0.113.10", 60),
    ],
)
def test_values_equal_the_independent_series(monitor, window, namespace, metric, dims, key, period):
    start, end = window
    response, point = _one(monitor, namespace, metric, dims, start, end, period)
    timestamps, values = data.series(namespace, metric, key, start, end, period)

    assert response.Period == period and response.MetricName == metric
    assert [d.Name for d in point.Dimensions] == list(dims)
    assert point.Timestamps == timestamps
    assert point.Values == values
    assert len(timestamps) > (end - start) // period * 0.8
    assert all(t % period == 0 and start <= t <= end for t in timestamps)


def test_short_period_series(monitor):
    end = (int(time.time()) // 600 - 1) * 600
    start = end - 600
    _, point = _one(monitor, "QCE/SCF_V2", "Mem", SCF_DIMS, start, end, 10)
    assert (point.Timestamps, point.Values) == data.series(
        "QCE/SCF_V2", "Mem", SCF_DIMS["functionName"], start, end, 10
    )


def test_specify_statistics_fills_avg_max_min(monitor, window):
    start, end = window
    _, point = _one(
        monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end, 60, SpecifyStatistics=7
    )
    for statistic, got in (("avg", point.AvgValues), ("max", point.MaxValues), ("min", point.MinValues)):
        assert got == data.series(CVM, "CPUUsage", "ins-gz0web01", start, end, 60, statistic)[1]
    assert all(
        lo <= avg <= hi for lo, avg, hi in zip(point.MinValues, point.AvgValues, point.MaxValues, strict=True)
    )

    _, point = _one(
        monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end, 60, SpecifyStatistics=2
    )
    assert point.MaxValues and point.AvgValues is None and point.MinValues is None


def test_default_period_is_300_and_cpu_then_reports_the_maximum(monitor, window):
    start, end = window
    response, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end)
    maxima = data.series(CVM, "CPUUsage", "ins-gz0web01", start, end, 300, "max")[1]
    averages = data.series(CVM, "CPUUsage", "ins-gz0web01", start, end, 300, "avg")[1]
    assert response.Period == 300
    assert point.Values == maxima != averages


def test_count_metrics_are_summed_over_the_period(monitor, window):
    start, end = window
    _, point = _one(monitor, "QCE/SCF_V2", "Invocation", SCF_DIMS, start, end, 300)
    assert (
        point.Values
        == data.series("QCE/SCF_V2", "Invocation", SCF_DIMS["functionName"], start, end, 300, "sum")[1]
    )
    assert all(float(v).is_integer() for v in point.Values)


def test_gappy_instance_misses_a_quarter_of_every_hour(monitor, window):
    start, end = window
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0gap01"}, start, end, 60)
    slots = data.slot_timestamps(start, end, 60)
    missing = set(slots) - set(point.Timestamps)
    assert {t for t in slots if 1800 <= t % 3600 < 2700} <= missing
    assert point.Timestamps == data.series(CVM, "CPUUsage", "ins-gz0gap01", start, end, 60)[0]


def test_every_instance_has_occasional_gaps(monitor):
    end = (int(time.time()) // 3600 - 1) * 3600
    start = end - 86400
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end, 300)
    slots = data.slot_timestamps(start, end, 300)
    assert 0 < len(slots) - len(point.Timestamps) < len(slots) * 0.1


def test_flaky_instance_reports_null_values(monitor, window):
    start, end = window
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0flk01"}, start, end, 60)
    assert None in point.Values
    assert point.Values == data.series(CVM, "CPUUsage", "ins-gz0flk01", start, end, 60)[1]


def test_hot_instance_spikes_above_85_percent(monitor, window):
    start, end = window
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0hot01"}, start, end, 60)
    spikes = [t for t, v in zip(point.Timestamps, point.Values, strict=True) if v and v > 85]
    assert spikes and all(t % 3600 < 600 for t in spikes)
    _, calm = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end, 60)
    assert max(calm.Values) < 85


def test_instances_without_data(monitor, window):
    start, end = window
    asked = [
        {"InstanceId": "ins-gz0web01"},
        {"InstanceId": "ins-gz0sil01"},  # exists, reports nothing: no DataPoint
        {"InstanceId": "ins-doesnotexist"},  # unknown: an empty DataPoint
        {"instanceid": "ins-gz0web02"},  # dimension names are case-sensitive
        {"InstanceId": "ins-sh0web01"},  # lives in another region
    ]
    response = monitor().GetMonitorData(data_request(CVM, "CPUUsage", asked, start, end, 60))
    points = _points(response)
    assert (("InstanceId", "ins-gz0sil01"),) not in points
    assert len(points) == 4
    for key in (
        (("InstanceId", "ins-doesnotexist"),),
        (("instanceid", "ins-gz0web02"),),
        (("InstanceId", "ins-sh0web01"),),
    ):
        assert points[key].Timestamps == [] and points[key].Values == []
    assert points[(("InstanceId", "ins-gz0web01"),)].Values


def test_identity_dimensions_must_agree(monitor, window):
    start, end = window
    asked = [
        {"functionName": "labelhub-dashboard-dev-business", "namespace": "other"},
        {"functionName": "labelhub-dashboard-dev-business"},  # namespace is required
        {"InstanceId": "cdb-gz0main1", "InstanceType": "3"},
    ]
    for dims in asked[:2]:
        _, point = _one(monitor, "QCE/SCF_V2", "Invocation", dims, start, end, 60)
        assert point.Timestamps == []
    _, point = _one(monitor, "QCE/CDB", "CpuUseRate", asked[2], start, end, 60)
    assert point.Timestamps == []


def test_datapoint_order_does_not_follow_the_request(monitor, window):
    start, end = window
    ids = [{"InstanceId": f"ins-gz0{name}"} for name in ("web01", "web02", "hot01", "gap01")]
    forward = monitor().GetMonitorData(data_request(CVM, "CPUUsage", ids, start, end, 300))
    backward = monitor().GetMonitorData(data_request(CVM, "CPUUsage", ids[::-1], start, end, 300))
    order = [p.Dimensions[0].Value for p in forward.DataPoints]
    assert order == [p.Dimensions[0].Value for p in backward.DataPoints]
    assert sorted(order) == sorted(d["InstanceId"] for d in ids)


def test_time_formats_and_echoed_range(monitor, window, common):
    start, end = window
    beijing = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + 8 * 3600))
    utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end))
    client: CommonClient = common("monitor", "2018-07-24")
    answer = client.call_json(
        "GetMonitorData",
        {
            "Namespace": CVM,
            "MetricName": "CPUUsage",
            "Period": 60,
            "StartTime": beijing,
            "EndTime": utc,
            "Instances": [{"Dimensions": [{"Name": "InstanceId", "Value": "ins-gz0web01"}]}],
        },
    )["Response"]
    assert answer["StartTime"] == format_time(start)
    assert answer["EndTime"] == format_time(end)
    assert answer["StartTime"].endswith("+08:00")
    assert (
        answer["DataPoints"][0]["Timestamps"]
        == data.series(CVM, "CPUUsage", "ins-gz0web01", start, end, 60)[0]
    )
    assert answer["Msg"] == "" and answer["RequestId"]


def test_daily_slots_start_at_beijing_midnight(monitor):
    end = int(time.time()) - 86400
    start = end - 5 * 86400
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, start, end, 86400)
    assert point.Timestamps
    assert all((t + 8 * 3600) % 86400 == 0 for t in point.Timestamps)


def test_recent_slots_wait_for_the_ingest_delay(monitor):
    end = int(time.time())
    _, point = _one(monitor, CVM, "CPUUsage", {"InstanceId": "ins-gz0web01"}, end - 1800, end, 60)
    assert point.Timestamps and max(point.Timestamps) <= int(time.time()) - 60


def test_metric_names_match_case_insensitively(monitor, window):
    start, end = window
    response, point = _one(monitor, CVM, "cpuUsage", {"InstanceId": "ins-gz0web01"}, start, end, 60)
    assert response.MetricName == "CPUUsage" and point.Values


def test_response_fields_are_exactly_the_sdk_models(monitor, window, common):
    start, end = window
    request = data_request(CVM, "CPUUsage", [{"InstanceId": "ins-gz0web01"}], start, end, 60)
    answer = common("monitor", "2018-07-24").call_json(
        "GetMonitorData", json.loads(request.to_json_string()) | {"SpecifyStatistics": 7}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = models.GetMonitorDataResponse()
        model._deserialize(answer["Response"])
        for point in answer["Response"]["DataPoints"]:
            models.DataPoint()._deserialize(point)
    assert not [w for w in caught if "useless" in str(w.message)]
    assert set(answer["Response"]) == {
        "Period",
        "MetricName",
        "DataPoints",
        "StartTime",
        "EndTime",
        "Msg",
        "RequestId",
    }


def test_get_requests_with_flattened_instances(monitor, profile, window):
    start, end = window
    client = monitor(profile_=profile(method="GET"))
    dims = [{"InstanceId": "ins-gz0web01"}, {"InstanceId": "ins-gz0web02"}]
    response = client.GetMonitorData(data_request(CVM, "CPUUsage", dims, start, end, 60))
    for point in response.DataPoints:
        key = point.Dimensions[0].Value
        assert point.Values == data.series(CVM, "CPUUsage", key, start, end, 60)[1]


def test_concurrent_calls(emulator, monitor, window):
    from concurrent.futures import ThreadPoolExecutor

    start, end = window
    request = data_request(CVM, "CPUUsage", [{"InstanceId": "ins-gz0web01"}], start, end, 60)
    expected = data.series(CVM, "CPUUsage", "ins-gz0web01", start, end, 60)[1]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: monitor().GetMonitorData(request), range(32)))
    assert all(a.DataPoints[0].Values == expected for a in answers)
    assert emulator.stats()["actions"]["GetMonitorData"] == {"calls": 32, "outcomes": {"ok": 32}}
