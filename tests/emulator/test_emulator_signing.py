"""TC3-HMAC-SHA256 verification: the reference vector, the real SDK, and tampering."""

from __future__ import annotations

import json
import random
import string
import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.sign import Sign
from tencentcloud.monitor.v20180724 import models

from labelhub_tools.emulator import auth, signing
from labelhub_tools.emulator.errors import ApiError

from .helpers import raw_call, sdk_error

VECTOR_BODY = '{"Namespace": "QCE/CVM", "MetricName": "CPUUsage"}'
VECTOR_SIGNATURE = "888c4c6d4aa49237af3906290b219a72daabb1fea20a93f717201c726a863f53"


def _metrics_request():
    request = models.DescribeBaseMetricsRequest()
    request.Namespace = "QCE/CVM"
    return request


def test_reference_vector():
    headers = {"content-type": "application/json", "host": "monitor.tencentcloudapi.com"}
    digest = signing.hash_payload(VECTOR_BODY)
    canonical = signing.canonical_request("POST", "", headers, ("content-type", "host"), digest)
    to_sign = signing.string_to_sign(1700000000, "2023-11-14", "monitor", canonical)

    assert digest == "28c53f3237764edcfa30d72f6c496f9cb2fe1cfab9019759a656272e641d66d9"
    assert signing.hash_payload(canonical) == (
        "a53df7bbe8a855ef47308c175da9879b42f1e6a55e4b06720ff54f01acd5c0cf"
    )
    assert signing.compute_signature("SECRETEXAMPLE", "2023-11-14", "monitor", to_sign) == (VECTOR_SIGNATURE)
    header = signing.sign_request(
        "AKIDEXAMPLE",
        "SECRETEXAMPLE",
        service="monitor",
        host="monitor.tencentcloudapi.com",
        payload=VECTOR_BODY,
        timestamp=1700000000,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/monitor/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={VECTOR_SIGNATURE}"
    )


def test_signature_agrees_with_the_sdk_signer():
    rng = random.Random(7)
    for _ in range(20):
        key = "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        to_sign = "".join(rng.choices(string.printable, k=80))
        assert signing.compute_signature(key, "2024-05-06", "cvm", to_sign) == Sign.sign_tc3(
            key, "2024-05-06", "cvm", to_sign
        )


def test_parse_authorization_rejects_malformed_headers():
    for header in (
        None,
        "",
        "HMAC-SHA1 x",
        "TC3-HMAC-SHA256 Credential=a/b/c, Signature=x",
        "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/monitor/tc3_request, SignedHeaders=host, Signature=ab",
    ):
        with pytest.raises(ApiError) as caught:
            signing.parse_authorization(header)
        assert caught.value.code == "AuthFailure.InvalidAuthorization"


def test_good_signature_is_accepted(monitor):
    response = monitor().DescribeBaseMetrics(_metrics_request())
    assert response.MetricSet


def test_wrong_secret_key_is_signature_failure(monitor):
    wrong = credential.Credential(auth.DEFAULT_SECRET_ID, "not-the-key")
    error = sdk_error(lambda: monitor(credential_=wrong).DescribeBaseMetrics(_metrics_request()))
    assert error.get_code() == "AuthFailure.SignatureFailure"
    assert error.get_request_id()


def test_unknown_secret_id(monitor):
    unknown = credential.Credential("AKIDNOBODY000000000000000000000000000", "key")
    error = sdk_error(lambda: monitor(credential_=unknown).DescribeBaseMetrics(_metrics_request()))
    assert error.get_code() == "AuthFailure.SecretIdNotFound"


def test_secret_id_that_is_not_an_api_key(monitor):
    odd = credential.Credential("not-an-akid", "key")
    error = sdk_error(lambda: monitor(credential_=odd).DescribeBaseMetrics(_metrics_request()))
    assert error.get_code() == "AuthFailure.InvalidSecretId"


def test_clock_more_than_five_minutes_off_is_signature_expire(emulator, monitor):
    for skew in (301 + 5, -(301 + 5)):
        emulator.set_faults(clock_skew=skew)
        error = sdk_error(lambda: monitor().DescribeBaseMetrics(_metrics_request()))
        assert error.get_code() == "AuthFailure.SignatureExpire"
    emulator.set_faults(clock_skew=200)
    assert monitor().DescribeBaseMetrics(_metrics_request()).MetricSet


def test_old_timestamp_in_a_hand_made_request(emulator):
    status, _, body = raw_call(
        emulator.endpoint,
        "DescribeBaseMetrics",
        '{"Namespace": "QCE/CVM"}',
        timestamp=int(time.time()) - 3600,
    )
    assert status == 200
    assert json.loads(body)["Response"]["Error"]["Code"] == "AuthFailure.SignatureExpire"


def test_body_changed_after_signing_is_rejected(emulator):
    status, headers, body = raw_call(
        emulator.endpoint,
        "DescribeBaseMetrics",
        '{"Namespace": "QCE/CDB"}',
        signed_body='{"Namespace": "QCE/CVM"}',
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)["Response"]
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert answer["RequestId"]


def test_content_type_with_charset_breaks_the_signature(emulator):
    _, _, body = raw_call(
        emulator.endpoint,
        "DescribeBaseMetrics",
        '{"Namespace": "QCE/CVM"}',
        content_type="application/json; charset=utf-8",
    )
    assert json.loads(body)["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_hand_made_request_signed_correctly_succeeds(emulator):
    status, headers, body = raw_call(emulator.endpoint, "DescribeBaseMetrics", '{"Namespace": "QCE/CVM"}')
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert "MetricSet" in json.loads(body)["Response"]


def test_missing_or_malformed_authorization(emulator):
    for header in ("", "TC3-HMAC-SHA256 garbage"):
        _, _, body = raw_call(emulator.endpoint, "DescribeBaseMetrics", "{}", authorization=header)
        error = json.loads(body)["Response"]["Error"]
        assert error["Code"] == "AuthFailure.InvalidAuthorization"


def test_scope_date_must_match_the_timestamp(emulator):
    now = int(time.time())
    header = signing.sign_request(
        auth.DEFAULT_SECRET_ID,
        auth.DEFAULT_SECRET_KEY,
        service="monitor",
        host=emulator.endpoint,
        payload="{}",
        timestamp=now,
    ).replace(signing.utc_date(now), signing.utc_date(now - 2 * 86400))
    _, _, body = raw_call(emulator.endpoint, "DescribeBaseMetrics", "{}", authorization=header)
    assert json.loads(body)["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_endpoint_written_with_scheme_also_works(emulator, monitor, profile):
    client = monitor(profile_=profile(endpoint=emulator.url))
    assert client.DescribeBaseMetrics(_metrics_request()).MetricSet


def test_get_requests_are_signed_over_the_query_string(monitor, profile):
    client = monitor(profile_=profile(method="GET"))
    assert client.DescribeBaseMetrics(_metrics_request()).MetricSet


def test_unsigned_payload_option(monitor, profile):
    client_profile = profile()
    client_profile.unsignedPayload = True
    assert monitor(profile_=client_profile).DescribeBaseMetrics(_metrics_request()).MetricSet
