"""StreamFramer: the per-token SSE path writes what encode_event writes and refuses what the
models refuse (one rule, even where the hot path restates it)."""

from __future__ import annotations

import enum
import functools
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sagellm_protocol import (
    Error,
    ErrorCode,
    ProtocolError,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)
from sagellm_protocol.sse import (
    SSEDecoder,
    StreamFramer,
    encode_event,
)
from sagellm_protocol.testing import example
from sagellm_protocol.testing.strategies import strategy_for

# Valid Unicode text: every code point but the surrogates, which no UTF-8 text can carry.
TEXT = st.text(st.characters(codec="utf-8"))
IDENTIFIERS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=256)
TOKEN_IDS = st.lists(
    st.one_of(st.integers(0, 200_000), st.integers(0, 2**80), st.just(2**63 - 1), st.just(2**63)),
    max_size=8,
)

Verdict = tuple[str, Any]


def _verdict(make: Callable[[], bytes]) -> Verdict:
    """("ok", frame) or ("error", [(code, param, message), ...]) for one way of framing."""
    try:
        return ("ok", make())
    except ProtocolError as exc:
        return ("error", [(e.code, e.param, e.message) for e in exc.errors])


def _model_verdict(model: type[BaseModel], **fields: Any) -> Verdict:
    """What the model (and encode_event) make of ``fields``, as ``_verdict`` reports it."""

    def make() -> bytes:
        try:
            event = model(**fields)
        except ValidationError as exc:
            raise ProtocolError.from_validation_error(exc) from None
        return encode_event(event)  # type: ignore[arg-type]

    return _verdict(make)


# --- byte-for-byte parity -------------------------------------------------------------------


CHUNK_TEXT = TEXT | st.sampled_from(['"', "\\", "\x00\x1f\x7f", "\u2028\u2029", "🙂👍🏽", "\r\n\t"])


@given(
    identifiers=st.tuples(IDENTIFIERS, IDENTIFIERS, st.none() | IDENTIFIERS),
    chunk=CHUNK_TEXT,
    tokens=TOKEN_IDS,
    as_tuple=st.booleans(),
)
def test_delta_frame_is_byte_identical_to_encode_event(
    identifiers: tuple[str, str, str | None], chunk: str, tokens: list[int], as_tuple: bool
) -> None:
    request_id, trace_id, engine_id = identifiers
    framer = StreamFramer(request_id, trace_id, engine_id=engine_id)
    given_tokens = tuple(tokens) if as_tuple else tokens
    event = StreamEventDelta(
        request_id=request_id,
        trace_id=trace_id,
        chunk=chunk,
        chunk_tokens=list(tokens),
        engine_id=engine_id,
    )
    assert framer.delta(chunk, given_tokens) == encode_event(event)


@given(
    request_id=IDENTIFIERS,
    trace_id=IDENTIFIERS,
    engine_id=st.none() | IDENTIFIERS,
    prompt_tokens=st.none() | st.integers(0, 2**70),
)
def test_start_frame_is_byte_identical_to_encode_event(
    request_id: str, trace_id: str, engine_id: str | None, prompt_tokens: int | None
) -> None:
    framer = StreamFramer(request_id, trace_id, engine_id=engine_id)
    event = StreamEventStart(
        request_id=request_id,
        trace_id=trace_id,
        prompt_tokens=prompt_tokens,
        engine_id=engine_id,
    )
    assert framer.start(prompt_tokens) == encode_event(event)


@given(strategy_for(StreamEventEnd))
def test_end_frame_is_byte_identical_to_encode_event(event: StreamEventEnd) -> None:
    framer = StreamFramer(event.request_id, event.trace_id, engine_id=event.engine_id)
    frame = framer.end(
        event.output_text,
        event.output_tokens,
        event.finish_reason,
        event.metrics,
        event.error,
    )
    assert frame == encode_event(event)


def test_a_framed_stream_decodes_back_to_its_events() -> None:
    framer = StreamFramer("req-1", "trace-1", engine_id="engine-0")
    wire = framer.start(5) + framer.delta("Hi", [42]) + framer.delta(" there!", (17, 3))
    wire += framer.end("Hi there!", [42, 17, 3], "stop", example(StreamEventEnd).metrics)
    decoder = SSEDecoder()
    events = decoder.feed(wire) + decoder.close()
    kinds = [StreamEventStart, StreamEventDelta, StreamEventDelta, StreamEventEnd]
    assert [type(e) for e in events] == kinds
    assert all(e.engine_id == "engine-0" for e in events)


# --- the same verdicts as the models ----------------------------------------------------------


class Small(enum.IntEnum):
    ONE = 1


def _generate(items: list[Any]) -> Iterator[Any]:
    yield from items


TOKEN_ITEMS = st.one_of(
    st.integers(0, 2**70),
    st.integers(-(2**70), -1),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1", b"1", None, Small.ONE, 1.0, object()]),
)
CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {
    "list": list,
    "tuple": tuple,
    "set": lambda items: set(items) if all(i.__hash__ for i in items) else frozenset(),
    "frozenset": lambda items: frozenset(i for i in items if i.__hash__),
    "deque": deque,
    "generator": _generate,
    "dict": lambda items: dict.fromkeys(range(len(items))),
    "str": lambda items: "12",
    "int": lambda items: 1,
    "none": lambda items: None,
}
CHUNKS = st.one_of(
    TEXT,
    st.text(max_size=5),  # may hold lone surrogates
    st.sampled_from(["\ud800", "a\udfffb", b"bytes", 5, None, ["x"], 1.5]),
)


@given(
    chunk=CHUNKS,
    container=st.sampled_from(sorted(CONTAINERS)),
    items=st.lists(TOKEN_ITEMS, max_size=5),
    engine_id=st.none() | st.just("engine-0"),
)
def test_delta_accepts_and_refuses_exactly_what_the_model_does(
    chunk: Any, container: str, items: list[Any], engine_id: str | None
) -> None:
    build = CONTAINERS[container]
    framer = StreamFramer("req-1", "trace-1", engine_id=engine_id)
    framed = _verdict(lambda: framer.delta(chunk, build(items)))
    modelled = _model_verdict(
        StreamEventDelta,
        request_id="req-1",
        trace_id="trace-1",
        chunk=chunk,
        chunk_tokens=build(items),
        engine_id=engine_id,
    )
    assert framed == modelled


@pytest.mark.parametrize(
    ("chunk", "tokens", "params"),
    [
        ("ok", [1, 2, 3, -1], ["chunk_tokens[3]"]),
        ("ok", [True], ["chunk_tokens[0]"]),
        ("ok", [1, 2.0], ["chunk_tokens[1]"]),
        ("ok", {1, 2}, ["chunk_tokens"]),
        ("\ud800", [1], ["chunk"]),
        (7, [1], ["chunk"]),
        (b"ok", ["1"], ["chunk", "chunk_tokens[0]"]),
    ],
)
def test_delta_errors_name_the_field(chunk: Any, tokens: Any, params: list[str]) -> None:
    with pytest.raises(ProtocolError) as caught:
        StreamFramer("r", "t").delta(chunk, tokens)
    assert [error.param for error in caught.value.errors] == params
    assert all(error.code is ErrorCode.INVALID_ARGUMENT for error in caught.value.errors)


@given(prompt_tokens=st.one_of(st.integers(-5, 5), st.booleans(), st.sampled_from(["3", 3.0])))
def test_start_refuses_what_the_model_refuses(prompt_tokens: Any) -> None:
    framed = _verdict(lambda: StreamFramer("r", "t").start(prompt_tokens))
    assert framed == _model_verdict(
        StreamEventStart, request_id="r", trace_id="t", prompt_tokens=prompt_tokens
    )


def test_end_refuses_what_the_model_refuses() -> None:
    end = example(StreamEventEnd)
    error = Error(code=ErrorCode.UNAVAILABLE, message="engine lost")
    cases: list[dict[str, Any]] = [
        {"finish_reason": "error"},  # error missing
        {"error": error},  # finish_reason is not "error"
        {"output_tokens": [1, -1]},
        {"output_text": 5},
        {"finish_reason": "done"},
        {"metrics": {"ttft_ms": 1.0}},
    ]
    for changes in cases:
        fields: dict[str, Any] = {
            "output_text": end.output_text,
            "output_tokens": end.output_tokens,
            "finish_reason": end.finish_reason,
            "metrics": end.metrics,
            "error": None,
            **changes,
        }
        framer = StreamFramer("r", "t")
        framed = _verdict(functools.partial(framer.end, **fields))
        modelled = _model_verdict(StreamEventEnd, request_id="r", trace_id="t", **fields)
        assert framed[0] == "error", changes
        assert framed == modelled, changes


# --- identifiers, checked once ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"request_id": "", "trace_id": "t"}, "request_id"),
        ({"request_id": "r" * 257, "trace_id": "t"}, "request_id"),
        ({"request_id": "r", "trace_id": 5}, "trace_id"),
        ({"request_id": "r", "trace_id": "\ud800"}, "trace_id"),
        ({"request_id": None, "trace_id": "t"}, "request_id"),
        ({"request_id": "r", "trace_id": "t", "engine_id": ""}, "engine_id"),
        ({"request_id": "r", "trace_id": "t", "engine_id": b"e"}, "engine_id"),
    ],
)
def test_bad_identifiers_are_refused_with_their_param(
    arguments: dict[str, Any], param: str
) -> None:
    with pytest.raises(ProtocolError) as caught:
        StreamFramer(**arguments)
    assert [error.param for error in caught.value.errors] == [param]


def test_identifier_limits_are_the_models() -> None:
    framer = StreamFramer("r" * 256, "t", engine_id="e" * 256)
    assert (framer.request_id, framer.trace_id, framer.engine_id) == ("r" * 256, "t", "e" * 256)
