"""The ``emulate`` command: options, knobs, and a real process serving the SDK."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.monitor.v20180724 import models, monitor_client

from labelhub_tools.emulator import auth, cli

from .helpers import sdk_error


def _parse(*argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults():
    args = _parse()
    assert (args.host, args.port, args.limits, args.ingest_delay) == ("127.0.0.1", 9100, "conservative", 60)
    knobs = cli.knobs_from_args(args)
    assert knobs["rate_limit"] == 20 and knobs["error_rate"] == 0 and knobs["actions"] == ()


def test_knobs_from_options():
    args = _parse(
        "--latency-ms",
        "25",
        "--error-rate",
        "0.1",
        "--timeout-rate",
        "0.2",
        "--http-error-rate",
        "0.3",
        "--http-error-status",
        "504",
        "--throttle-rate",
        "0.4",
        "--rate-limit",
        "5",
        "--rate-burst",
        "2",
        "--clock-skew",
        "-30",
        "--fault-actions",
        "GetMonitorData, DescribeInstances",
        "--seed",
        "9",
        "--credential",
        "AKIDX:key:tok",
        "--limits",
        "newest",
    )
    assert cli.knobs_from_args(args) == {
        "latency_ms": 25.0,
        "error_rate": 0.1,
        "timeout_rate": 0.2,
        "timeout_seconds": 30.0,
        "http_error_rate": 0.3,
        "http_error_status": 504,
        "throttle_rate": 0.4,
        "rate_limit": 5.0,
        "rate_burst": 2,
        "clock_skew": -30.0,
        "actions": ("GetMonitorData", "DescribeInstances"),
        "seed": 9,
    }
    assert args.credential == [("AKIDX", "key", "tok")] and args.limits == "newest"


@pytest.mark.parametrize(
    "argv",
    [("--error-rate", "2"), ("--latency-ms", "-1"), ("--credential", "only-an-id"), ("--limits", "loose")],
)
def test_bad_options(argv, capsys):
    with pytest.raises(SystemExit):
        _parse(*argv)


def test_module_imports_only_the_standard_library():
    code = (
        "import sys, labelhub_tools.emulator.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('labelhub_tools.emulator.')))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "['labelhub_tools.emulator.cli']"


def test_running_process_serves_the_sdk():
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    command = [
        sys.executable,
        "-m",
        "labelhub_tools.emulator.cli",
        "--port",
        "0",
        "--error-rate",
        "1",
        "--fault-actions",
        "GetMonitorData",
        "--log-level",
        "WARNING",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            banner = process.stdout.readline()
            endpoint = banner.split("(endpoint ")[1].split(")")[0]
            assert auth.DEFAULT_SECRET_KEY not in banner
            client = monitor_client.MonitorClient(
                credential.Credential(auth.DEFAULT_SECRET_ID, auth.DEFAULT_SECRET_KEY),
                "ap-guangzhou",
                ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=5)),
            )
            request = models.DescribeBaseMetricsRequest()
            request.Namespace = "QCE/CVM"
            assert client.DescribeBaseMetrics(request).MetricSet
            error = sdk_error(lambda: client.GetMonitorData(models.GetMonitorDataRequest()))
            assert error.get_code() == "InternalError"
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0


def test_port_in_use_fails_cleanly(emulator, capsys):
    logger = logging.getLogger("labelhub_tools.emulator")
    level = logger.level
    try:
        assert cli.run(_parse("--port", str(emulator.port), "--log-level", "ERROR")) == 1
    finally:
        logger.setLevel(level)
    assert "cannot start" in capsys.readouterr().err
