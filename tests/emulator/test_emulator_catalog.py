"""DescribeBaseMetrics and DescribeAlarmHistories through the real SDK."""

from __future__ import annotations

import json
import time
import warnings

import pytest
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import data

from .helpers import data_request, sdk_error

HOUR = 3600


def _metrics(monitor, **params):
    request = models.DescribeBaseMetricsRequest()
    request.from_json_string(json.dumps(params))
    return monitor().DescribeBaseMetrics(request).MetricSet


def _histories(common, **params):
    answer = common("monitor", "2018-07-24").call_json(
        "DescribeAlarmHistories", {"Module": "monitor", **params}
    )
    return answer["Response"]


@pytest.mark.parametrize(
    ("namespace", "expected", "dimension"),
    [
        (
            "QCE/CVM",
            {
                "CPUUsage",
                "MemUsage",
                "LanOuttraffic",
                "LanIntraffic",
                "WanOuttraffic",
                "WanIntraffic",
                "CvmDiskUsage",
            },
            ["InstanceId"],
        ),
        (
            "QCE/CDB",
            {"CpuUseRate", "ThreadsConnected", "MaxConnections", "Qps", "SlowQueries"},
            ["InstanceId"],
        ),
        (
            "QCE/SCF_V2",
            {"Invocation", "Error", "Duration", "Throttle", "ConcurrentExecutions"},
            ["functionName", "namespace"],
        ),
        ("QCE/LB_PUBLIC", {"InTraffic", "OutTraffic", "ClientConnum"}, ["vip"]),
    ],
)
def test_catalogue_per_namespace(monitor, namespace, expected, dimension):
    metric_set = _metrics(monitor, Namespace=namespace)
    assert expected <= {m.MetricName for m in metric_set}
    for metric in metric_set:
        assert metric.Namespace == namespace and metric.Unit and metric.MetricCName
        assert all(isinstance(p, int) for p in metric.Period)
        assert [int(p.Period) for p in metric.Periods] == metric.Period
        assert all(isinstance(p.Period, str) and p.StatType for p in metric.Periods)
        assert metric.Meaning.En and metric.Meaning.Zh
        assert dimension in [d.Dimensions for d in metric.Dimensions]


def test_scf_dimension_combinations_use_the_real_names(monitor):
    (invocation,) = _metrics(monitor, Namespace="QCE/SCF_V2", MetricName="Invocation")
    combos = [d.Dimensions for d in invocation.Dimensions]
    assert ["functionName", "namespace", "version"] in combos


def test_cpu_statistic_depends_on_the_period(monitor):
    (cpu,) = _metrics(monitor, Namespace="QCE/CVM", MetricName="cpuusage")
    stats = {p.Period: p.StatType for p in cpu.Periods}
    assert stats["60"] == ["avg"] and stats["300"] == ["max"]
    assert cpu.Period == [10, 60, 300, 3600, 86400]


def test_filters_and_unknown_namespace(monitor):
    assert len(_metrics(monitor, Namespace="QCE/SCF_V2", Dimensions=["functionName"])) > 5
    assert _metrics(monitor, Namespace="QCE/SCF_V2", Dimensions=["InstanceId"]) == []
    assert _metrics(monitor, Namespace="QCE/NOPE") == []


def test_periods_listed_are_the_periods_accepted(monitor):
    end = (int(time.time()) // HOUR - 1) * HOUR
    for metric in _metrics(monitor, Namespace="QCE/CDB")[:4]:
        for period in metric.Period:
            request = data_request(
                "QCE/CDB", metric.MetricName, [{"InstanceId": "cdb-gz0main1"}], end - 20 * period, end, period
            )
            assert monitor().GetMonitorData(request).Period == period
        bad = data_request(
            "QCE/CDB", metric.MetricName, [{"InstanceId": "cdb-gz0main1"}], end - 3600, end, 10
        )
        assert sdk_error(lambda bad=bad: monitor().GetMonitorData(bad)).get_code() == (
            "InvalidParameterValue"
        )


def test_metric_set_shape_matches_the_sdk_model(common):
    answer = common("monitor", "2018-07-24").call_json("DescribeBaseMetrics", {"Namespace": "QCE/CVM"})[
        "Response"
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for entry in answer["MetricSet"]:
            models.MetricSet()._deserialize(entry)
    assert not [w for w in caught if "useless" in str(w.message)]


def _window():
    end = (int(time.time()) // HOUR - 2) * HOUR + 1800
    return end - 6 * HOUR, end


def test_alarm_histories_follow_the_hot_instances(common):
    start, end = _window()
    answer = _histories(common, StartTime=start, EndTime=end, PageSize=100)
    midnights = data.slot_timestamps(start, end, 86400)
    # 2 hot CVMs + 1 hot CDB + 1 hot SCF, one alarm per hour; 2 silent CVMs once a day
    assert answer["TotalCount"] == 4 * 6 + 2 * len(midnights)
    hot = [h for h in answer["Histories"] if h["AlarmObject"].endswith("(ins-gz0hot01)")]
    assert len(hot) == 6
    for history in hot:
        assert history["FirstOccurTime"] % HOUR == 60
        assert history["LastOccurTime"] == history["FirstOccurTime"] + 540
        assert history["AlarmStatus"] == "OK" and history["Region"] == "ap-guangzhou"
        assert json.loads(history["Dimensions"]) == {"InstanceId": "ins-gz0hot01"}
        peak = max(
            v
            for t in range(history["FirstOccurTime"] - 60, history["FirstOccurTime"] + 540, 60)
            if (v := data.expected_value("QCE/CVM", "CPUUsage", "ins-gz0hot01", t, 60))
        )
        assert float(history["MetricsInfo"][0]["Value"]) == peak > 85


def test_alarm_paging_and_order(common):
    start, end = _window()
    seen = []
    for page in (1, 2, 3, 4, 5, 6):
        answer = _histories(common, StartTime=start, EndTime=end, PageSize=5, PageNumber=page, Order="ASC")
        seen += answer["Histories"]
    assert len(seen) == answer["TotalCount"] == len({h["AlarmId"] for h in seen})
    firsts = [h["FirstOccurTime"] for h in seen]
    assert firsts == sorted(firsts)
    descending = _histories(common, StartTime=start, EndTime=end, PageSize=3)["Histories"]
    assert [h["FirstOccurTime"] for h in descending] == sorted(firsts, reverse=True)[:3]


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        ({"AlarmLevels": ["Serious"]}, lambda h: h["PolicyName"] == "cvm-cpu-high"),
        (
            {"Namespaces": [{"MonitorType": "MT_QCE", "Namespace": "cdb_detail"}]},
            lambda h: h["Namespace"] == "cdb_detail",
        ),
        ({"PolicyName": "scf"}, lambda h: h["MetricName"] == "Error"),
        ({"AlarmObject": "analytics"}, lambda h: h["Region"] == "ap-shanghai"),
        ({"MetricNames": ["CpuUseRate"]}, lambda h: h["PolicyId"] == "policy-cdb0cpu1"),
    ],
)
def test_alarm_filters(common, filters, check):
    start, end = _window()
    histories = _histories(common, StartTime=start, EndTime=end, PageSize=100, **filters)["Histories"]
    assert histories and all(check(h) for h in histories)


def test_no_data_alarms_keep_firing(common):
    now = int(time.time())
    histories = _histories(
        common, StartTime=now - 3 * 86400, EndTime=now, PageSize=100, AlarmStatus=["NO_DATA"]
    )["Histories"]
    assert {h["AlarmObject"] for h in histories} == {
        "labelhub-batch-silent(ins-gz0sil01)",
        "labelhub-spare(ins-gz0off01)",
    }


def test_alarm_history_shape_and_errors(common):
    answer = _histories(common, PageSize=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for entry in answer["Histories"]:
            models.AlarmHistory()._deserialize(entry)
    assert not [w for w in caught if "useless" in str(w.message)]
    client = common("monitor", "2018-07-24")
    for params, code in (
        ({"Module": "cvm"}, "InvalidParameterValue"),
        ({}, "MissingParameter"),
        ({"Module": "monitor", "PageSize": 101}, "InvalidParameterValue"),
        ({"Module": "monitor", "Order": "UP"}, "InvalidParameterValue"),
    ):
        error = sdk_error(lambda p=params: client.call_json("DescribeAlarmHistories", p))
        assert error.get_code() == code
