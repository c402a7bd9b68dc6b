"""The error envelope: code table, Error, ProtocolError, conversion of pydantic errors."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from sagellm_protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    EmbeddingRequest,
    Error,
    ErrorCode,
    KVMigrateParams,
    ProtocolError,
    Request,
    Response,
    StreamEvent,
)
from sagellm_protocol.errors import ERROR_CODE_TABLE
from sagellm_protocol.limits import MAX_PARAM_LENGTH, MAX_REPORTED_ERRORS
from sagellm_protocol.testing import example, example_data

CODE_TABLE = [
    (ErrorCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT", False),
    (ErrorCode.RESOURCE_EXHAUSTED, 429, "RESOURCE_EXHAUSTED", True),
    (ErrorCode.UNAVAILABLE, 503, "UNAVAILABLE", True),
    (ErrorCode.DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED", True),
    (ErrorCode.NOT_IMPLEMENTED, 501, "UNIMPLEMENTED", False),
]


@pytest.mark.parametrize(("code", "http", "grpc", "retryable"), CODE_TABLE)
def test_error_code_table(code: ErrorCode, http: int, grpc: str, retryable: bool) -> None:
    assert code.http_status == http
    assert code.grpc_status == grpc
    assert code.retryable is retryable


def test_error_code_table_covers_every_code() -> None:
    assert set(ERROR_CODE_TABLE) == set(ErrorCode)
    assert [row[0] for row in CODE_TABLE] == list(ErrorCode)


@pytest.mark.parametrize(("code", "http", "grpc", "retryable"), CODE_TABLE)
def test_is_retryable_defaults_to_the_code(
    code: ErrorCode, http: int, grpc: str, retryable: bool
) -> None:
    assert Error(code=code, message="m").is_retryable is retryable


@pytest.mark.parametrize("code", list(ErrorCode))
@pytest.mark.parametrize("explicit", [True, False])
def test_explicit_retryable_wins(code: ErrorCode, explicit: bool) -> None:
    assert Error(code=code, message="m", retryable=explicit).is_retryable is explicit


def test_error_param_is_optional_and_kept() -> None:
    assert Error(code=ErrorCode.INVALID_ARGUMENT, message="m").param is None
    assert (
        Error(code=ErrorCode.INVALID_ARGUMENT, message="m", param="messages[0].content").param
        == "messages[0].content"
    )


def test_protocol_error_is_a_value_error_with_every_error() -> None:
    first = Error(code=ErrorCode.INVALID_ARGUMENT, message="a: is required", param="a")
    second = Error(code=ErrorCode.INVALID_ARGUMENT, message="b: is required", param="b")
    exc = ProtocolError([first, second])
    assert isinstance(exc, ValueError)
    assert exc.errors == [first, second]
    assert exc.error is first
    assert str(exc) == "2 problems: a: is required; b: is required"


def test_protocol_error_from_one_error() -> None:
    error = Error(code=ErrorCode.UNAVAILABLE, message="backend down")
    exc = ProtocolError(error)
    assert exc.errors == [error]
    assert str(exc) == "backend down"


def test_protocol_error_needs_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ProtocolError([])


def test_protocol_error_invalid_helper() -> None:
    exc = ProtocolError.invalid("n: must be 1", param="n")
    assert exc.error == Error(code=ErrorCode.INVALID_ARGUMENT, message="n: must be 1", param="n")


def test_protocol_error_pickles() -> None:
    exc = ProtocolError(
        [Error(code=ErrorCode.INVALID_ARGUMENT, message="x: is required", param="x")]
    )
    restored = pickle.loads(pickle.dumps(exc))
    assert restored.errors == exc.errors
    assert str(restored) == str(exc)


def _convert(build: Callable[[], Any], root: Any = None) -> ProtocolError:
    with pytest.raises(ValidationError) as caught:
        build()
    return ProtocolError.from_validation_error(caught.value, root=root)


def test_every_problem_is_reported() -> None:
    exc = _convert(
        lambda: Request.model_validate({"request_id": "", "max_tokens": 0, "stream": "yes"})
    )
    params = [error.param for error in exc.errors]
    assert params == ["request_id", "trace_id", "model", "prompt", "max_tokens", "stream"]
    assert all(error.code == ErrorCode.INVALID_ARGUMENT for error in exc.errors)


@pytest.mark.parametrize(
    ("build", "param", "fragment"),
    [
        (lambda: example(Request, max_tokens=0), "max_tokens", "must be greater than 0"),
        (lambda: example(Request, temperature=3), "temperature", "must be less than or equal to 2"),
        (lambda: example(Request, request_id=""), "request_id", "must not be empty"),
        (lambda: example(Request, request_id="x" * 257), "request_id", "at most 256 characters"),
        (lambda: example(Request, stream="yes"), "stream", "must be a boolean"),
        (lambda: example(Request, max_tokens="128"), "max_tokens", "must be an integer"),
        (lambda: example(Request, extra_field=1), "extra_field", "unknown fields are rejected"),
        (
            lambda: example(Response, finish_reason="done"),
            "finish_reason",
            "'stop', 'length' or 'error'",
        ),
        (
            lambda: example(ChatCompletionRequest, messages=[{"role": "user", "content": 5}]),
            "messages[0].content",
            "must be a string",
        ),
        (
            lambda: example(ChatCompletionRequest, messages=[{"role": "robot", "content": "x"}]),
            "messages[0].role",
            "must be one of",
        ),
        (
            lambda: ChatCompletionResponse.model_validate(
                {
                    **example_data(ChatCompletionResponse),
                    "choices": [{"index": -1, "message": {}, "finish_reason": None}],
                }
            ),
            "choices[0].index",
            "greater than or equal to 0",
        ),
        (
            lambda: example(
                KVMigrateParams,
                kv_handle={"handle_id": "h", "request_id": "r", "num_tokens": 0, "device": "cpu"},
            ),
            "kv_handle.num_tokens",
            "greater than 0",
        ),
        (
            lambda: example(Response, output_tokens=[1, -2]),
            "output_tokens[1]",
            "greater than or equal to 0",
        ),
        (
            lambda: example(Response, metrics={"ttft_ms": 1}),
            "metrics.throughput_tps",
            "is required",
        ),
        (
            lambda: example(
                Response,
                metrics={"ttft_ms": 1, "throughput_tps": 1, "peak_mem_mb": 1, "error_rate": 0},
            ),
            "metrics.tbt_ms",
            "at least one of tbt_ms and tpot_ms",
        ),
        (
            lambda: example(Request, metadata={"a": {"b": [0, (1,)]}}),
            "metadata.a.b[1]",
            "JSON values only",
        ),
    ],
)
def test_param_is_the_field_path_and_message_names_rule(
    build: Callable[[], Any], param: str, fragment: str
) -> None:
    errors = _convert(build).errors
    assert param in [error.param for error in errors]
    error = next(error for error in errors if error.param == param)
    assert error.message.startswith(f"{param}: ")
    assert fragment in error.message


def test_union_branches_are_reported_once_per_field() -> None:
    exc = _convert(lambda: example(ChatCompletionRequest, stop=5))
    assert [error.param for error in exc.errors] == ["stop"]
    assert exc.error.message == "stop: must be a string, or must be a list"


def test_union_item_errors_keep_the_index_without_noise_from_other_branches() -> None:
    exc = _convert(lambda: example(ChatCompletionRequest, stop=["a", 1]))
    assert [(e.param, e.message) for e in exc.errors] == [("stop[1]", "stop[1]: must be a string")]
    assert str(exc) == "stop[1]: must be a string"
    exc = _convert(lambda: example(EmbeddingRequest, input=["x", None]))
    assert [error.param for error in exc.errors] == ["input[1]"]


def test_stream_event_union_root_is_found_without_being_named() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(StreamEvent)
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python({"event": "end", "request_id": "r", "trace_id": "t"})
    errors = ProtocolError.from_validation_error(caught.value).errors
    assert [e.param for e in errors] == ["output_text", "output_tokens", "finish_reason", "metrics"]


def test_stream_event_union_path_drops_the_tag() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(StreamEvent)
    data = {
        "event": "delta",
        "request_id": "r",
        "trace_id": "t",
        "chunk": "x",
        "chunk_tokens": [-1],
    }
    exc = _convert(lambda: adapter.validate_python(data), root=StreamEvent)
    assert [error.param for error in exc.errors] == ["chunk_tokens[0]"]


def test_stream_event_unknown_tag_names_the_tag_field() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(StreamEvent)
    exc = _convert(lambda: adapter.validate_python({"event": "middle"}), root=StreamEvent)
    assert exc.error.param == "event"
    assert exc.error.message == "event: must be one of 'start', 'delta', 'end'"


def test_stream_event_missing_tag_names_the_tag_field() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(StreamEvent)
    exc = _convert(lambda: adapter.validate_python({"request_id": "r"}), root=StreamEvent)
    assert [(e.param, e.message) for e in exc.errors] == [
        ("event", "event: is required (it tells which kind of message this is)")
    ]


def test_a_huge_key_is_cut_in_param_and_message() -> None:
    key = "k" * 5000
    exc = _convert(lambda: example(Request, metadata={key: float("nan")}))
    (error,) = exc.errors
    assert error.param is not None
    assert len(error.param) == MAX_PARAM_LENGTH
    assert error.param.endswith("…")
    assert error.param.startswith("metadata.kkk")
    assert len(error.message) < 300


def test_invalid_json_is_reported_without_a_param() -> None:
    exc = _convert(lambda: Request.model_validate_json(b'{"request_id": "r"'))
    assert exc.error.param is None
    assert exc.error.message.startswith("the message is not valid JSON")


def test_no_documentation_urls_in_messages() -> None:
    exc = _convert(lambda: Request.model_validate({"max_tokens": True, "x": 1}))
    assert "pydantic.dev" not in str(exc)
    assert all("http" not in error.message for error in exc.errors)


SECRET = "SECRET-7f3a91-do-not-log"


def _secret_failures() -> list[tuple[str, Callable[[], Any], Any]]:
    adapter: TypeAdapter[Any] = TypeAdapter(StreamEvent)
    return [
        (
            "prompt of an invalid request",
            lambda: example(Request, prompt=SECRET, max_tokens=0),
            None,
        ),
        ("prompt of the wrong type", lambda: example(Request, prompt=[SECRET]), None),
        ("metadata value", lambda: example(Request, metadata={"k": (SECRET,)}), None),
        (
            "metadata nested value",
            lambda: example(Request, metadata={"k": [{"a": SECRET, "b": float("nan")}]}),
            None,
        ),
        ("unknown field value", lambda: example(Request, unknown=SECRET), None),
        ("wrong-type value", lambda: example(Request, max_tokens=SECRET), None),
        ("too-long identifier", lambda: example(Request, request_id=SECRET * 20), None),
        ("literal value", lambda: example(Response, finish_reason=SECRET), None),
        ("enum value", lambda: Error(code=SECRET, message="m"), None),  # type: ignore[arg-type]
        ("event tag", lambda: adapter.validate_python({"event": SECRET}), StreamEvent),
        (
            "JSON text",
            lambda: Request.model_validate_json('{"prompt": "' + SECRET + '", "max_tokens": 0'),
            None,
        ),
        (
            "chat content",
            lambda: example(ChatCompletionRequest, messages=[{"role": SECRET, "content": SECRET}]),
            None,
        ),
        ("stop list", lambda: example(ChatCompletionRequest, stop=[SECRET, 5]), None),
    ]


@pytest.mark.parametrize(
    ("where", "build", "root"), _secret_failures(), ids=[c[0] for c in _secret_failures()]
)
def test_input_is_never_echoed(where: str, build: Callable[[], Any], root: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    if root is None:
        # Models hide the input in pydantic's own text too (hide_input_in_errors); a plain
        # TypeAdapter over the union is the caller's and keeps pydantic's wording.
        assert SECRET not in str(caught.value)
    exc = ProtocolError.from_validation_error(caught.value, root=root)
    assert SECRET not in str(exc)
    for error in exc.errors:
        assert SECRET not in error.message
        assert error.message


def _many(count: int) -> list[Error]:
    return [
        Error(code=ErrorCode.INVALID_ARGUMENT, message=f"f{i}: bad", param=f"f{i}")
        for i in range(count)
    ]


def test_a_protocol_error_lists_at_most_the_cap_and_counts_the_rest() -> None:
    problem = ProtocolError(_many(MAX_REPORTED_ERRORS + 7))
    assert [error.param for error in problem.errors] == [
        f"f{i}" for i in range(MAX_REPORTED_ERRORS)
    ]
    assert problem.more == 7
    assert str(problem).startswith(f"{MAX_REPORTED_ERRORS + 7} problems: f0: bad; f1: bad;")
    assert str(problem).endswith(f"f{MAX_REPORTED_ERRORS - 1}: bad; and 7 more problems")


def test_a_protocol_error_adds_the_count_it_is_given() -> None:
    problem = ProtocolError(_many(1), more=3)
    assert (len(problem.errors), problem.more) == (1, 3)
    assert str(problem) == "4 problems: f0: bad; and 3 more problems"


def test_a_capped_protocol_error_pickles_with_its_count() -> None:
    problem = pickle.loads(pickle.dumps(ProtocolError(_many(MAX_REPORTED_ERRORS + 2))))
    assert (len(problem.errors), problem.more) == (MAX_REPORTED_ERRORS, 2)
    assert str(problem).endswith("and 2 more problems")


def test_a_validation_error_with_many_problems_is_converted_in_part() -> None:
    count = 50_000
    with pytest.raises(ValidationError) as caught:
        Response.model_validate({**example_data(Response), "output_tokens": [-1] * count})
    problem = ProtocolError.from_validation_error(caught.value)
    params = [error.param for error in problem.errors]
    assert params == [f"output_tokens[{i}]" for i in range(MAX_REPORTED_ERRORS)]
    assert problem.more == count - MAX_REPORTED_ERRORS
    assert str(problem).endswith(f"and {count - MAX_REPORTED_ERRORS} more problems")
