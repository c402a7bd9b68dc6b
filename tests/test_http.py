"""sagellm_protocol.http: problems to HTTP replies, version negotiation, no framework."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sagellm_protocol import PROTOCOL_VERSION, Error, ErrorCode, ProtocolError, Response
from sagellm_protocol.http import (
    IGNORED_FIELDS_HEADER,
    MAX_REPORTED_ERRORS,
    Envelope,
    HTTPReply,
    envelope_for_path,
    error_reply,
    ignored_fields_header,
    internal_error_reply,
    is_json_media_type,
    json_reply,
    method_not_allowed_reply,
    model_not_found_reply,
    negotiate_version,
    not_found_reply,
    payload_too_large_reply,
    response_reply,
    unsupported_media_type_reply,
)
from sagellm_protocol.openai_compat import to_openai_error
from sagellm_protocol.testing import example

THREE = ProtocolError(
    [
        Error(
            code=ErrorCode.INVALID_ARGUMENT, message="max_tokens: must be > 0", param="max_tokens"
        ),
        Error(code=ErrorCode.INVALID_ARGUMENT, message="model: is required", param="model"),
        Error(code=ErrorCode.INVALID_ARGUMENT, message="x: is not a field", param="x"),
    ]
)


def body(reply: HTTPReply) -> Any:
    return json.loads(reply.body)


def test_every_reply_is_json_with_our_version() -> None:
    reply = json_reply(b"{}")
    assert reply.header("content-type") == "application/json"
    assert reply.header("X-SageLLM-Protocol-Version") == PROTOCOL_VERSION


def test_three_problems_give_one_native_reply_naming_all_three() -> None:
    reply = error_reply(THREE)
    assert reply.status == 400
    assert body(reply) == {
        "errors": [error.model_dump(exclude_none=True) for error in THREE.errors]
    }


def test_three_problems_give_one_openai_reply_naming_all_three() -> None:
    reply = error_reply(THREE, envelope="openai")
    assert reply.status == 400
    assert body(reply) == {
        "error": {
            "message": "3 problems: max_tokens: must be > 0; model: is required; x: is not a field",
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "invalid_argument",
        }
    }


def test_to_openai_error_takes_a_protocol_error() -> None:
    status, openai_body = to_openai_error(THREE)
    assert status == 400
    assert openai_body.error.message.startswith("3 problems: ")
    assert openai_body.error.param == "max_tokens"
    single = ProtocolError(THREE.errors[1])
    assert to_openai_error(single)[1].error.message == "model: is required"


@pytest.mark.parametrize("envelope", ["native", "openai"])
def test_the_status_is_the_first_errors_code(envelope: Envelope) -> None:
    problem = ProtocolError(
        [
            Error(code=ErrorCode.RESOURCE_EXHAUSTED, message="KV cache full"),
            Error(code=ErrorCode.INVALID_ARGUMENT, message="m: bad", param="m"),
        ]
    )
    assert error_reply(problem, envelope=envelope).status == 429
    assert error_reply(problem.errors[1], envelope=envelope).status == 400


def test_many_problems_are_capped_natively() -> None:
    count = MAX_REPORTED_ERRORS + 5
    problem = ProtocolError(
        Error(code=ErrorCode.INVALID_ARGUMENT, message=f"f{i}: bad", param=f"f{i}")
        for i in range(count)
    )
    errors = body(error_reply(problem))["errors"]
    assert len(errors) == MAX_REPORTED_ERRORS
    assert errors[-2]["param"] == f"f{MAX_REPORTED_ERRORS - 2}"
    assert errors[-1] == {"code": "invalid_argument", "message": "and 6 more problems"}


def test_many_problems_are_capped_in_the_openai_message() -> None:
    count = MAX_REPORTED_ERRORS + 5
    problem = ProtocolError(
        Error(code=ErrorCode.INVALID_ARGUMENT, message=f"f{i}: bad") for i in range(count)
    )
    message = body(error_reply(problem, envelope="openai"))["error"]["message"]
    assert message.startswith(f"{count} problems: f0: bad; f1: bad;")
    assert message.endswith(f"f{MAX_REPORTED_ERRORS - 1}: bad; and 5 more problems")


NATIVE: Envelope = "native"
OPENAI: Envelope = "openai"
HTTP_ONLY: dict[str, tuple[Callable[[Envelope], HTTPReply], int, str, str | None, str | None]] = {
    "not found": (not_found_reply, 404, "there is no endpoint at this path", None, None),
    "method": (
        lambda envelope: method_not_allowed_reply(["POST"], envelope),
        405,
        "this endpoint does not take this method (it takes POST)",
        None,
        None,
    ),
    "too large": (
        lambda envelope: payload_too_large_reply(1024, envelope),
        413,
        "the request body is larger than the limit of 1024 bytes",
        None,
        None,
    ),
    "media type": (
        unsupported_media_type_reply,
        415,
        "the request body must be JSON (Content-Type: application/json)",
        None,
        None,
    ),
    "model": (
        model_not_found_reply,
        404,
        "model: no model of this name is served here (GET /v1/models lists them)",
        "model",
        "model_not_found",
    ),
}


@pytest.mark.parametrize("condition", list(HTTP_ONLY))
def test_http_only_condition_in_the_native_envelope(condition: str) -> None:
    build, status, message, param, _ = HTTP_ONLY[condition]
    reply = build(NATIVE)
    expected = {"code": "invalid_argument", "message": message}
    if param is not None:
        expected["param"] = param
    assert (reply.status, body(reply)) == (status, {"errors": [expected]})
    assert reply.header("X-SageLLM-Protocol-Version") == PROTOCOL_VERSION


@pytest.mark.parametrize("condition", list(HTTP_ONLY))
def test_http_only_condition_in_the_openai_envelope(condition: str) -> None:
    build, status, message, param, code = HTTP_ONLY[condition]
    reply = build(OPENAI)
    assert (reply.status, body(reply)) == (
        status,
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        },
    )


def test_method_not_allowed_sends_allow() -> None:
    assert method_not_allowed_reply(["GET", "HEAD"], NATIVE).header("Allow") == "GET, HEAD"


def test_internal_error_is_a_500_that_says_nothing_more() -> None:
    native, openai = internal_error_reply(NATIVE), internal_error_reply(OPENAI)
    assert (native.status, openai.status) == (500, 500)
    assert body(native)["errors"][0]["code"] == "unavailable"
    assert body(openai)["error"]["type"] == "server_error"


def test_a_failed_response_has_the_status_of_its_code() -> None:
    error = Error(code=ErrorCode.UNAVAILABLE, message="backend down")
    failed = example(Response, finish_reason="error", error=error)
    assert response_reply(failed).status == 503
    assert response_reply(example(Response)).status == 200
    assert body(response_reply(failed))["error"]["code"] == "unavailable"


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        *[(None, "forbid"), ("0.1", "forbid"), ("0.1.0", "forbid"), (" 0.1 ", "forbid")],
        *[("0.1.1", "ignore"), ("0.1.12", "ignore"), ("0.1.999999999", "ignore")],
    ],
)
def test_accepted_versions(value: str | None, mode: str) -> None:
    assert negotiate_version(value) == mode


@pytest.mark.parametrize(
    "value", ["", "0.2", "1.0", "0.10", "0.1.01", "0.1.x", "0.1.1.1", "v0.1", "0.1.1234567890"]
)
def test_other_versions_are_refused_naming_the_header(value: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        negotiate_version(value)
    (error,) = caught.value.errors
    assert (error.code, error.param) == (ErrorCode.INVALID_ARGUMENT, "X-SageLLM-Protocol-Version")
    assert value.strip() not in error.message or not value.strip()


def test_no_ignored_fields_no_header() -> None:
    assert ignored_fields_header([]) is None


def test_ignored_fields_are_listed_comma_separated() -> None:
    assert ignored_fields_header(["priority", "metrics.gpu_util"]) == (
        IGNORED_FIELDS_HEADER,
        "priority,metrics.gpu_util",
    )


def test_ignored_field_paths_are_made_safe_for_a_header() -> None:
    _, value = ignored_fields_header(["a,b", "ü", "x\r\ny", "50%"]) or ("", "")
    assert value == "a%2Cb,%C3%BC,x%0D%0Ay,50%25"
    assert value.isascii()


def test_ignored_fields_are_capped() -> None:
    paths = [f"f{i}" for i in range(MAX_REPORTED_ERRORS + 3)] + ["x" * 500]
    _, value = ignored_fields_header(paths) or ("", "")
    parts = value.split(",")
    assert len(parts) == MAX_REPORTED_ERRORS + 1
    assert parts[-1] == "and 4 more"


def test_a_long_ignored_path_is_cut() -> None:
    _, value = ignored_fields_header(["y" * 500]) or ("", "")
    assert value == "y" * 119 + "%E2%80%A6"  # cut with an ellipsis, percent-encoded


@pytest.mark.parametrize(
    ("content_type", "json_body"),
    [
        (None, True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/jsonx", False),
    ],
)
def test_json_media_types(content_type: str | None, json_body: bool) -> None:
    assert is_json_media_type(content_type) is json_body


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/v1/generate", "native"),
        ("/health", "native"),
        ("/v1/chat/completions", "openai"),
        ("/v1/models", "openai"),
        ("/nowhere", "openai"),
        ("/v1/generate/", "openai"),
    ],
)
def test_envelope_by_path(path: str, envelope: Envelope) -> None:
    assert envelope_for_path(path) == envelope


def test_the_count_decode_appends_to_ignored_is_kept_in_the_header() -> None:
    paths = [f"f{i}" for i in range(MAX_REPORTED_ERRORS)] + ["and 480 more"]
    _, value = ignored_fields_header(paths) or ("", "")
    assert value.split(",")[-2:] == [f"f{MAX_REPORTED_ERRORS - 1}", "and 480 more"]


def test_a_capped_protocol_error_keeps_its_count_in_the_native_reply() -> None:
    problem = ProtocolError(
        [
            Error(code=ErrorCode.INVALID_ARGUMENT, message=f"f{i}: bad", param=f"f{i}")
            for i in range(50)
        ]
    )
    errors = json.loads(error_reply(problem).body)["errors"]
    assert len(errors) == MAX_REPORTED_ERRORS
    assert errors[-1]["message"] == f"and {50 - MAX_REPORTED_ERRORS + 1} more problems"
