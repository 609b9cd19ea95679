"""Helpers shared by the emulator tests: request builders and raw HTTP calls."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import auth, signing
from labelhub_tools.emulator.params import format_time


def data_request(namespace, metric, instances, start, end, period=None, **extra):
    """A GetMonitorDataRequest; ``instances`` is a list of {name: value} dicts."""
    params = {
        "Namespace": namespace,
        "MetricName": metric,
        "Instances": [
            {"Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]} for dims in instances
        ],
        "StartTime": format_time(start),
        "EndTime": format_time(end),
        **extra,
    }
    if period is not None:
        params["Period"] = period
    request = models.GetMonitorDataRequest()
    request.from_json_string(json.dumps(params))
    return request


def sdk_error(call) -> TencentCloudSDKException:
    """Run ``call`` and return the SDK exception it must raise."""
    with pytest.raises(TencentCloudSDKException) as caught:
        call()
    return caught.value


def raw_call(
    endpoint: str,
    action: str,
    body: bytes | str,
    *,
    service: str = "monitor",
    version: str = "2018-07-24",
    region: str | None = "ap-guangzhou",
    secret_id: str = auth.DEFAULT_SECRET_ID,
    secret_key: str = auth.DEFAULT_SECRET_KEY,
    timestamp: int | None = None,
    signed_body: bytes | str | None = None,
    signed_content_type: str = "application/json",
    content_type: str = "application/json",
    authorization: str | None = None,
    extra_headers: dict | None = None,
):
    """A hand-made POST, signed with ``signed_*`` values: (status, headers, body bytes)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    payload = body.encode() if isinstance(body, str) else body
    if authorization is None:
        authorization = signing.sign_request(
            secret_id,
            secret_key,
            service=service,
            host=endpoint,
            payload=payload if signed_body is None else signed_body,
            timestamp=timestamp,
            content_type=signed_content_type,
        )
    headers = {
        "Content-Type": content_type,
        "Host": endpoint,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(timestamp),
        "Authorization": authorization,
        **(extra_headers or {}),
    }
    if region:
        headers["X-TC-Region"] = region
    host, port = endpoint.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("POST", "/", body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def admin(endpoint: str, method: str, path: str, body: dict | None = None):
    """Call an admin endpoint: (status, decoded JSON)."""
    host, port = endpoint.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, "/__emulator__/" + path, body=data)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
