"""The stream grammar: StreamAssembler, assemble and split_response."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagellm_protocol import (
    Error,
    ErrorCode,
    ProtocolError,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)
from sagellm_protocol.sse import SSEDecoder, encode_event
from sagellm_protocol.streaming import StreamAssembler, assemble, split_response
from sagellm_protocol.testing import example
from sagellm_protocol.testing.strategies import strategy_for


def start(**overrides: object) -> StreamEventStart:
    return example(StreamEventStart, **overrides)


def delta(
    chunk: str = "Hi", tokens: tuple[int, ...] = (42,), **overrides: object
) -> StreamEventDelta:
    return example(StreamEventDelta, chunk=chunk, chunk_tokens=list(tokens), **overrides)


def end(
    text: str = "Hi there!", tokens: tuple[int, ...] = (42, 17), **overrides: object
) -> StreamEventEnd:
    return example(StreamEventEnd, output_text=text, output_tokens=list(tokens), **overrides)


def valid_stream() -> list[StreamEvent]:
    return [start(), delta("Hi", (42,)), delta(" there!", (17,)), end()]


def test_a_valid_stream_assembles_into_its_response() -> None:
    response = assemble(valid_stream())
    assert response == example(Response)


def test_a_stream_without_deltas() -> None:
    assert assemble([start(), end("", ())]).output_text == ""


def test_an_error_stream_keeps_its_error() -> None:
    error = Error(code=ErrorCode.RESOURCE_EXHAUSTED, message="KV cache full")
    response = assemble(
        [start(), delta("Hi", (42,)), end("Hi", (42,), finish_reason="error", error=error)]
    )
    assert response.finish_reason == "error"
    assert response.error == error


def test_progress_properties() -> None:
    assembler = StreamAssembler()
    progress = [(assembler.started, assembler.finished, assembler.prompt_tokens)]
    assembler.add(start(prompt_tokens=4))
    progress.append((assembler.started, assembler.finished, assembler.prompt_tokens))
    assembler.add(end("", ()))
    progress.append((assembler.started, assembler.finished, assembler.prompt_tokens))
    assert progress == [(False, False, None), (True, False, 4), (True, True, 4)]


def _breaks(
    events: list[StreamEvent], index: int, fragment: str, param: str, *, keep_output: bool = True
) -> None:
    assembler = StreamAssembler(keep_output=keep_output)
    for event in events[:index]:
        assembler.add(event)
    with pytest.raises(ProtocolError) as caught:
        assembler.add(events[index])
    assert len(caught.value.errors) == 1
    error = caught.value.error
    assert error.message.startswith(f"event {index}: ")
    assert fragment in error.message
    assert error.param == param
    assert error.code is ErrorCode.INVALID_ARGUMENT


GRAMMAR_VIOLATIONS: list[tuple[str, Callable[[], list[StreamEvent]], int, str, str]] = [
    ("delta before start", lambda: [delta()], 0, "must come after the start event", "event"),
    ("end before start", lambda: [end("", ())], 0, "must come after the start event", "event"),
    ("second start", lambda: [start(), start()], 1, "exactly one start event", "event"),
    (
        "start after end",
        lambda: [start(), end("", ()), start()],
        2,
        "exactly one start event",
        "event",
    ),
    (
        "delta after end",
        lambda: [start(), end("", ()), delta()],
        2,
        "no event may follow the end",
        "event",
    ),
    (
        "second end",
        lambda: [start(), end("", ()), end("", ())],
        2,
        "no event may follow the end",
        "event",
    ),
    (
        "request_id differs",
        lambda: [start(), delta(request_id="other")],
        1,
        "request_id must be the same",
        "request_id",
    ),
    (
        "trace_id differs",
        lambda: [start(), delta(trace_id="other")],
        1,
        "trace_id must be the same",
        "trace_id",
    ),
    (
        "end request_id differs",
        lambda: [start(), end("", (), request_id="other")],
        1,
        "request_id must be the same",
        "request_id",
    ),
    (
        "engine_id differs",
        lambda: [start(engine_id="e1"), delta(engine_id="e2")],
        1,
        "engine_id must be the same",
        "engine_id",
    ),
    (
        "engine_id differs later",
        lambda: [start(), delta(engine_id="e1"), delta(engine_id="e1"), end(engine_id="e2")],
        3,
        "engine_id must be the same",
        "engine_id",
    ),
    (
        "text differs",
        lambda: [start(), delta("Hi", (42,)), end("Ho", (42,))],
        2,
        "output_text must equal the concatenation",
        "output_text",
    ),
    (
        "tokens differ",
        lambda: [start(), delta("Hi", (42,)), end("Hi", (43,))],
        2,
        "output_tokens must equal the concatenation",
        "output_tokens",
    ),
    (
        "tokens missing",
        lambda: [start(), delta("Hi", (42,)), end("Hi", ())],
        2,
        "output_tokens must equal the concatenation",
        "output_tokens",
    ),
]


@pytest.mark.parametrize(
    ("events", "index", "fragment", "param"),
    [v[1:] for v in GRAMMAR_VIOLATIONS],
    ids=[v[0] for v in GRAMMAR_VIOLATIONS],
)
@pytest.mark.parametrize("keep_output", [True, False], ids=["output kept", "digest only"])
def test_grammar_violation(
    events: Callable[[], list[StreamEvent]],
    index: int,
    fragment: str,
    param: str,
    keep_output: bool,
) -> None:
    _breaks(events(), index, fragment, param, keep_output=keep_output)


def test_engine_id_may_be_given_on_some_events_only() -> None:
    events: list[StreamEvent] = [
        start(),
        delta("Hi", (42,), engine_id="e1"),
        delta(" there!", (17,)),
        end(),
    ]
    assert assemble(events) == example(Response)


def test_response_before_end_is_an_error() -> None:
    assembler = StreamAssembler()
    assembler.add(start())
    assembler.add(delta())
    with pytest.raises(ProtocolError, match="event 2: the stream has no end event yet"):
        assembler.response()


def test_a_rejected_event_changes_nothing() -> None:
    assembler = StreamAssembler()
    assembler.add(start())
    with pytest.raises(ProtocolError):
        assembler.add(delta(request_id="other"))
    for event in valid_stream()[1:]:
        assembler.add(event)
    assert assembler.response() == example(Response)


def test_rejected_end_keeps_the_stream_open() -> None:
    assembler = StreamAssembler()
    assembler.add(start())
    with pytest.raises(ProtocolError):
        assembler.add(end("wrong", ()))
    assembler.add(end("", ()))
    assert assembler.finished


def test_add_refuses_other_messages() -> None:
    with pytest.raises(TypeError):
        StreamAssembler().add(example(Response))  # type: ignore[arg-type]


@given(
    strategy_for(Response), st.integers(min_value=1, max_value=5), st.none() | st.just("engine-7")
)
def test_split_then_assemble_gives_the_response_back(
    response: Response, tokens_per_delta: int, engine_id: str | None
) -> None:
    events = split_response(response, tokens_per_delta=tokens_per_delta, engine_id=engine_id)
    assert isinstance(events[0], StreamEventStart)
    assert isinstance(events[-1], StreamEventEnd)
    deltas = events[1:-1]
    assert all(isinstance(event, StreamEventDelta) for event in deltas)
    assert all(len(event.chunk_tokens) <= tokens_per_delta for event in deltas)  # type: ignore[union-attr]
    assert all(event.engine_id == engine_id for event in events)
    assert assemble(events) == response


@given(strategy_for(Response))
def test_split_stream_survives_sse(response: Response) -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"".join(encode_event(event) for event in split_response(response)))
    events += decoder.close()
    assert assemble(events) == response


def test_split_shapes() -> None:
    response = example(Response, output_text="abcdef", output_tokens=[1, 2, 3])
    events = split_response(response, tokens_per_delta=2, prompt_tokens=9)
    assert [type(e).__name__ for e in events] == [
        "StreamEventStart",
        "StreamEventDelta",
        "StreamEventDelta",
        "StreamEventEnd",
    ]
    assert events[0].prompt_tokens == 9  # type: ignore[union-attr]
    assert [(e.chunk, e.chunk_tokens) for e in events[1:-1]] == [("abc", [1, 2]), ("def", [3])]  # type: ignore[union-attr]
    text_only = split_response(example(Response, output_text="abc", output_tokens=[]))
    assert len(text_only) == 3
    empty = split_response(example(Response, output_text="", output_tokens=[]))
    assert len(empty) == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_split_needs_a_positive_integer_step(bad: object) -> None:
    with pytest.raises(ValueError, match="tokens_per_delta"):
        split_response(example(Response), tokens_per_delta=bad)  # type: ignore[arg-type]


def _state(assembler: StreamAssembler) -> tuple[object, ...]:
    return (
        assembler.started,
        assembler.finished,
        assembler.engine_id,
        assembler.output_text,
        assembler.output_tokens,
        assembler.prompt_tokens,
    )


@pytest.mark.parametrize(
    ("events", "index"),
    [(v[1], v[2]) for v in GRAMMAR_VIOLATIONS],
    ids=[v[0] for v in GRAMMAR_VIOLATIONS],
)
def test_a_rejected_event_leaves_the_state_as_it_was(
    events: Callable[[], list[StreamEvent]], index: int
) -> None:
    assembler = StreamAssembler()
    stream = events()
    for event in stream[:index]:
        assembler.add(event)
    before = _state(assembler)
    rejected = stream[index].model_copy(update={"engine_id": "engine-of-the-rejected-event"})
    with pytest.raises(ProtocolError):
        assembler.add(rejected)
    assert _state(assembler) == before


def test_a_rejected_end_event_leaves_its_engine_id_unrecorded() -> None:
    assembler = StreamAssembler()
    assembler.add(start())
    assembler.add(delta("Hi", (42,)))
    with pytest.raises(ProtocolError, match="output_text"):
        assembler.add(end("wrong", (42,), engine_id="e1"))
    assembler.add(end("Hi", (42,), engine_id="e2"))
    assert assembler.engine_id == "e2"


def test_a_digest_only_assembler_accepts_the_split_of_any_response() -> None:
    response = example(Response, output_text="Grüße, \U0001f600!", output_tokens=[1, 22, 333])
    for step in (1, 2, 3):
        assembler = StreamAssembler(keep_output=False)
        for event in split_response(response, tokens_per_delta=step):
            assembler.add(event)
        assert assembler.response() == response


def test_a_digest_only_assembler_does_not_hand_out_the_output() -> None:
    assembler = StreamAssembler(keep_output=False)
    assembler.add(start())
    with pytest.raises(ValueError, match="output_text is not kept"):
        _ = assembler.output_text
    with pytest.raises(ValueError, match="output_tokens is not kept"):
        _ = assembler.output_tokens


def test_token_ids_split_differently_are_not_confused_with_others() -> None:
    # [1, 23] and [12, 3] write the same digits: each id ends with its own separator.
    assembler = StreamAssembler(keep_output=False)
    events: list[StreamEvent] = [start(), delta("a", (1,)), delta("b", (23,))]
    for event in events:
        assembler.add(event)
    with pytest.raises(ProtocolError, match="output_tokens must equal"):
        assembler.add(end("ab", (12, 3)))


@pytest.mark.parametrize(("keep_output", "grows"), [(True, True), (False, False)])
def test_memory_of_a_digest_only_assembler_does_not_grow_with_the_stream(
    keep_output: bool, grows: bool
) -> None:
    chunk = "x" * 1024
    event = delta(chunk, (7,))
    assembler = StreamAssembler(keep_output=keep_output)
    assembler.add(start())
    tracemalloc.start()
    try:
        for _ in range(2000):
            assembler.add(event)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (held > 2000 * 8) is grows  # kept: a reference per delta at least; digest: nothing
