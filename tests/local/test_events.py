"""Event, context and answer shapes (no processes)."""

from __future__ import annotations

import base64
import json

import pytest

from labelhub_tools.local.events import (
    INVALID_RESPONSE,
    answer_result,
    build_event,
    error_answer,
    query_string,
)


def test_query_string_lists_repeated_keys_and_keeps_blanks():
    assert query_string("a=1&a=2&b=3&c=&d") == {"a": ["1", "2"], "b": "3", "c": "", "d": ""}
    assert query_string("q=a%20b+c") == {"q": "a b c"}
    assert query_string("") == {}


def test_event_headers_are_lower_case_and_repeats_are_joined():
    event = build_event("post", "/x", "", [("X-A", "1"), ("x-a", "2"), ("Accept", "*/*")], b"", "10.0.0.1")
    assert event["headers"] == {"x-a": "1, 2", "accept": "*/*", "x-scf-remote-addr": "10.0.0.1"}
    assert event["httpMethod"] == "POST"
    assert "body" not in event and "isBase64Encoded" not in event


def test_non_utf8_body_is_base64_encoded():
    event = build_event("POST", "/", "", [], b"\xff\x00", "127.0.0.1")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_passthrough_of_results_without_status_code():
    for result in ({"hello": "wörld"}, [1, 2], "text", None, 3.5):
        answer = answer_result(result)
        assert answer.status == 200
        assert ("Content-Type", "application/json") in answer.headers
        assert json.loads(answer.body) == result
    assert "wörld".encode() in answer_result({"hello": "wörld"}).body


def test_integrated_response_with_list_headers_and_base64():
    answer = answer_result(
        {
            "statusCode": 201,
            "headers": {"Set-Cookie": ["a=1", "b=2"], "X-One": "1"},
            "body": base64.b64encode(b"\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    )
    assert answer.status == 201
    assert answer.headers == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1")]
    assert answer.body == b"\x00\xff"


def test_hop_by_hop_headers_from_the_function_are_dropped():
    answer = answer_result(
        {"statusCode": 200, "headers": {"Content-Length": "99", "X-Keep": "1"}, "body": "ok"}
    )
    assert answer.headers == [("X-Keep", "1")]


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200", "headers": {}, "body": ""},
        {"statusCode": True, "headers": {}, "body": ""},
        {"statusCode": 99, "headers": {}, "body": ""},
        {"statusCode": 200, "headers": {"a": 1}, "body": ""},
        {"statusCode": 200, "headers": {"a": ["1", 2]}, "body": ""},
        {"statusCode": 200, "headers": {"a": "x\r\nInjected: 1"}, "body": ""},
        {"statusCode": 200, "headers": {"bad name": "1"}, "body": ""},
        {"statusCode": 200, "headers": [], "body": ""},
        {"statusCode": 200, "headers": {}},
        {"statusCode": 200, "body": ""},
        {"statusCode": 200, "headers": {}, "body": {"json": "object"}},
        {"statusCode": 200, "headers": {}, "body": "", "isBase64Encoded": "yes"},
        {"statusCode": 200, "headers": {}, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_invalid_integrated_responses_get_the_documented_error(result):
    answer = answer_result(result)
    assert answer.status == 403
    assert json.loads(answer.body) == INVALID_RESPONSE


def test_error_answers_carry_the_scf_status_code():
    answer = error_answer("timeout", "Invoking task timed out after 3 seconds", "rid")
    assert answer.status == 200
    assert json.loads(answer.body) == {
        "errorCode": -1,
        "errorMessage": "Invoking task timed out after 3 seconds",
        "requestId": "rid",
        "statusCode": 433,
    }
    assert error_answer("exception", "user code exception caught", "rid").status == 502
