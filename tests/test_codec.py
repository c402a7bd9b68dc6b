"""decode / encode: the wire codec, its unknown-field policy and its errors."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sagellm_protocol import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ErrorCode,
    ProtocolError,
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    decode,
    encode,
)
from sagellm_protocol._translate import capped_errors
from sagellm_protocol.codec import Decoder
from sagellm_protocol.limits import MAX_DETAILED_SIZE, MAX_REPORTED_ERRORS
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example, example_data
from sagellm_protocol.testing.strategies import strategy_for, stream_events

MODELS = list(MESSAGE_TYPES.values())


@pytest.mark.parametrize("model", MODELS, ids=list(MESSAGE_TYPES))
# tests/test_round_trip.py draws 1,000 per type (full profile); a quarter of that suffices here.
@settings(max_examples=min(250, settings().max_examples))
@given(data=st.data())
def test_decode_encode_round_trip(model: type[BaseModel], data: st.DataObject) -> None:
    message = data.draw(strategy_for(model))
    wire = encode(message)
    assert isinstance(wire, bytes)
    assert decode(model, wire) == message
    assert decode(model, wire.decode("utf-8")) == message
    assert decode(model, json.loads(wire)) == message


@given(stream_events())
def test_stream_event_round_trip_through_the_union(event: BaseModel) -> None:
    decoded = decode(StreamEvent, encode(event))
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize(
    "form",
    [
        bytes,
        bytearray,
        memoryview,
        lambda b: b.decode(),
        json.loads,
        lambda b: OrderedDict(json.loads(b)),
    ],
    ids=["bytes", "bytearray", "memoryview", "str", "dict", "mapping"],
)
def test_every_input_form_is_accepted(form: Any) -> None:
    request = example(Request, metadata={"k": [1, None]})
    assert decode(Request, form(encode(request))) == request


def test_encode_is_compact_utf8_json() -> None:
    delta = example(StreamEventDelta, chunk="你好 🙂")
    wire = encode(delta)
    assert b" " not in wire.replace("你好 🙂".encode(), b"")
    assert "你好 🙂".encode() in wire
    assert json.loads(wire) == {
        "event": "delta",
        "request_id": "req-001",
        "trace_id": "trace-001",
        "chunk": "你好 🙂",
        "chunk_tokens": [42],
    }


def test_encode_omits_unset_optional_fields_and_keeps_tags() -> None:
    start = StreamEventStart(request_id="r", trace_id="t")
    assert json.loads(encode(start)) == {"event": "start", "request_id": "r", "trace_id": "t"}
    request = example(Request, top_p=None, metadata={"a": None})
    body = json.loads(encode(request))
    assert "top_p" not in body
    assert "kv_budget_tokens" not in body
    assert body["metadata"] == {"a": None}  # None inside metadata is data, not an unset field


def test_encode_keeps_defaults_that_are_not_none() -> None:
    body = json.loads(encode(example(ChatCompletionRequest)))
    assert body["temperature"] == 1.0
    assert body["n"] == 1
    assert body["stream"] is False


def test_encode_keeps_a_required_null() -> None:
    choice = example(ChatCompletionChoice, finish_reason=None)
    assert json.loads(encode(choice))["finish_reason"] is None
    response = example(ChatCompletionResponse, choices=[choice])
    assert json.loads(encode(response))["choices"][0]["finish_reason"] is None
    assert decode(ChatCompletionResponse, encode(response)) == response


def test_encode_refuses_a_lone_surrogate() -> None:
    # Validation refuses lone surrogates; only an unvalidated message can still hold one.
    delta = StreamEventDelta.model_construct(
        **{**example_data(StreamEventDelta), "chunk": "\ud800"}
    )
    with pytest.raises(ProtocolError, match="lone surrogate"):
        encode(delta)


def _params(exc: ProtocolError) -> list[str | None]:
    return [error.param for error in exc.errors]


def test_decode_reports_every_problem_with_its_path() -> None:
    data = example_data(ChatCompletionRequest)
    data.update(
        n=0,
        temperature="hot",
        messages=[{"role": "user", "content": 1}, {"role": "x", "content": "y"}],
    )
    with pytest.raises(ProtocolError) as caught:
        decode(ChatCompletionRequest, json.dumps(data))
    assert _params(caught.value) == ["messages[0].content", "messages[1].role", "temperature", "n"]
    assert {error.code for error in caught.value.errors} == {ErrorCode.INVALID_ARGUMENT}


def test_decode_rejects_unknown_fields_by_default() -> None:
    data = {**example_data(Request), "tempreature": 0.5}
    with pytest.raises(ProtocolError) as caught:
        decode(Request, json.dumps(data))
    assert _params(caught.value) == ["tempreature"]


def test_ignore_mode_drops_unknown_fields_and_reports_their_paths() -> None:
    data = example_data(ChatCompletionRequest)
    data["messages"] = [{"role": "user", "content": "hi", "audio": {"id": "a"}}]
    data["reasoning_effort"] = "low"
    dropped: list[str] = []
    request = decode(ChatCompletionRequest, json.dumps(data), unknown="ignore", ignored=dropped)
    assert request == example(ChatCompletionRequest, messages=[{"role": "user", "content": "hi"}])
    assert dropped == ["messages[0].audio", "reasoning_effort"]


def test_ignore_mode_without_unknown_fields_reports_nothing() -> None:
    dropped: list[str] = []
    assert decode(Request, encode(example(Request)), unknown="ignore", ignored=dropped) == example(
        Request
    )
    assert dropped == []


def test_ignore_mode_works_on_mappings_without_changing_them() -> None:
    data = {**example_data(Request), "future": {"x": 1}}
    snapshot = json.dumps(data)
    dropped: list[str] = []
    assert decode(Request, data, unknown="ignore", ignored=dropped) == example(Request)
    assert dropped == ["future"]
    assert json.dumps(data) == snapshot


def test_ignore_mode_for_stream_events() -> None:
    wire = encode(example(StreamEventDelta))[:-1] + b',"logprobs":[-0.5]}'
    dropped: list[str] = []
    assert decode(StreamEvent, wire, unknown="ignore", ignored=dropped) == example(StreamEventDelta)
    assert dropped == ["logprobs"]
    with pytest.raises(ProtocolError):
        decode(StreamEvent, wire)


def test_ignore_mode_still_reports_other_problems_but_not_unknown_fields() -> None:
    data = {**example_data(Request), "max_tokens": 0, "future": 1}
    with pytest.raises(ProtocolError) as caught:
        decode(Request, json.dumps(data), unknown="ignore")
    assert _params(caught.value) == ["max_tokens"]


def test_ignore_mode_keeps_metadata_keys() -> None:
    data = {**example_data(Request), "metadata": {"anything": {"goes": 1}}}
    dropped: list[str] = []
    assert decode(Request, data, unknown="ignore", ignored=dropped).metadata == {
        "anything": {"goes": 1}
    }
    assert dropped == []


def test_unknown_policy_must_be_known() -> None:
    with pytest.raises(ValueError, match="unknown must be"):
        decode(Request, b"{}", unknown="drop")  # type: ignore[call-overload]


def test_decode_needs_a_message_type() -> None:
    with pytest.raises(TypeError):
        decode(dict, b"{}")
    with pytest.raises(TypeError):
        decode(Request, 5)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "event",
    [example(StreamEventStart), example(StreamEventDelta), example(StreamEventEnd)],
    ids=["start", "delta", "end"],
)
def test_decode_stream_event_picks_the_tagged_class(event: BaseModel) -> None:
    for form in (encode(event), encode(event).decode(), json.loads(encode(event))):
        decoded = decode(StreamEvent, form)
        assert type(decoded) is type(event)
        assert decoded == event


def test_decode_stream_event_with_spaces_around_the_tag() -> None:
    text = json.dumps(example(StreamEventDelta).model_dump(exclude_none=True), indent=2)
    assert decode(StreamEvent, text) == example(StreamEventDelta)


def test_duplicated_tag_gives_the_union_verdict() -> None:
    # pydantic-core keeps the last value of a duplicated key; so does decode, even for the tag.
    # (pydantic before 2.11 read a duplicated tag two ways: the reason for the version floor.)
    wire = b'{"event":"delta","request_id":"r","trace_id":"t","event":"start"}'
    decoded = decode(StreamEvent, wire)
    assert type(decoded) is StreamEventStart


def test_unknown_event_tag_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(StreamEvent, b'{"event":"middle","request_id":"r","trace_id":"t"}')
    assert "middle" not in str(caught.value)
    assert "'start', 'delta', 'end'" in str(caught.value)


def test_missing_event_tag_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="event"):
        decode(StreamEvent, b'{"request_id":"r","trace_id":"t"}')


def test_decoded_messages_are_independent_of_the_input_mapping() -> None:
    data = example_data(Response)
    response = decode(Response, data)
    data["output_tokens"].append(99)
    assert response.output_tokens == [42, 17]


TEN_MB = 10 * 1024 * 1024

MALFORMED: list[tuple[str, Any, object]] = [
    ("truncated JSON", encode(example(Request))[:-7], Request),
    ("empty input", b"", Request),
    ("whitespace only", b"   ", Request),
    ("JSON array", b"[1, 2]", Request),
    ("JSON string", b'"request"', Request),
    ("JSON null", b"null", Request),
    ("unknown tag", b'{"event":"finish","request_id":"r","trace_id":"t"}', StreamEvent),
    ("tag of the wrong type", b'{"event":1,"request_id":"r","trace_id":"t"}', StreamEvent),
    (
        "wrong-type field",
        encode(example(Request)).replace(b'"max_tokens":128', b'"max_tokens":"128"'),
        Request,
    ),
    ("invalid UTF-8", b'{"request_id":"\xff\xfe"}', Request),
    ("lone surrogate in str input", '{"request_id":"\ud800"}', Request),
    ("escaped lone surrogate", b'{"request_id":"\\ud800"}', Request),
    ("byte order mark", b"\xef\xbb\xbf" + encode(example(Request)), Request),
    ("NaN literal", encode(example(Request)).replace(b"0.7", b"NaN"), Request),
    ("Infinity literal", encode(example(Request)).replace(b"0.7", b"Infinity"), Request),
    ("10 MB of invalid JSON", b'{"prompt":"' + b"x" * TEN_MB, Request),
    (
        "metadata nested 10,000 deep",
        b'{"metadata":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
        Request,
    ),
    (
        "arrays nested 10,000 deep",
        b'{"chunk_tokens":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        StreamEvent,
    ),
    ("huge integer", encode(example(Request)).replace(b"128", b"9" * 5000), Request),
]


@pytest.mark.parametrize(("what", "data", "message_type"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_gives_protocol_error(what: str, data: Any, message_type: Any) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(message_type, data)
    assert caught.value.errors
    for error in caught.value.errors:
        assert error.code is ErrorCode.INVALID_ARGUMENT
        assert error.message


def _response_with_tokens(tokens: bytes, count: int) -> bytes:
    base = encode(example(Response, output_text="", output_tokens=[]))
    listed = b"[" + b",".join([tokens] * count) + b"]"
    return base.replace(b'"output_tokens":[]', b'"output_tokens":' + listed)


@pytest.mark.parametrize("size", [1_000, 20_000], ids=["1,000 wrong", "20,000 wrong"])
def test_decode_lists_the_first_problems_and_counts_the_rest(size: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(Response, _response_with_tokens(b"-1", size))
    problem = caught.value
    assert len(problem.errors) == MAX_REPORTED_ERRORS
    assert problem.errors[0].param == "output_tokens[0]"
    assert problem.errors[-1].param == f"output_tokens[{MAX_REPORTED_ERRORS - 1}]"
    assert problem.more > 0
    assert str(problem).endswith(f"and {problem.more} more problems")
    assert len(str(problem)) < 100 * MAX_REPORTED_ERRORS


def test_many_unknown_fields_are_capped_when_forbidden() -> None:
    data = {**example_data(Request), **{f"extra{i}": i for i in range(5_000)}}
    with pytest.raises(ProtocolError) as caught:
        decode(Request, json.dumps(data))
    assert [e.param for e in caught.value.errors] == [
        f"extra{i}" for i in range(MAX_REPORTED_ERRORS)
    ]
    assert caught.value.more == 5_000 - MAX_REPORTED_ERRORS


def test_many_ignored_fields_are_capped_and_counted() -> None:
    data = {**example_data(Request), **{f"extra{i}": i for i in range(5_000)}}
    ignored: list[str] = []
    assert decode(Request, json.dumps(data), unknown="ignore", ignored=ignored) == example(Request)
    assert ignored == [f"extra{i}" for i in range(MAX_REPORTED_ERRORS)] + [
        f"and {5_000 - MAX_REPORTED_ERRORS} more"
    ]


def test_a_long_text_reports_the_first_wrong_item_of_a_list() -> None:
    data = _response_with_tokens(b"-1", MAX_DETAILED_SIZE // 2)
    assert len(data) > MAX_DETAILED_SIZE
    with pytest.raises(ProtocolError) as caught:
        decode(Response, data)
    assert [(e.param, caught.value.more) for e in caught.value.errors] == [("output_tokens[0]", 0)]


def test_a_long_valid_text_is_decoded_as_a_short_one_is() -> None:
    data = _response_with_tokens(b"7", MAX_DETAILED_SIZE // 2)
    assert len(data) > MAX_DETAILED_SIZE
    assert decode(Response, data).output_tokens == [7] * (MAX_DETAILED_SIZE // 2)
    assert Decoder(Response).decode(data) == decode(Response, data)


def test_many_problems_are_worded_as_few_are() -> None:
    data = {**example_data(Request), **{f"extra{i}": i for i in range(2_000)}}
    with pytest.raises(ValidationError) as caught:
        Request.model_validate_json(json.dumps(data))
    errors, more = capped_errors(caught.value.errors(include_url=False), Request)
    converted = ProtocolError.from_validation_error(caught.value)
    assert (converted.errors, converted.more) == (errors, more)
