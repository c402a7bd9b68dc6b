"""Async stream functions: sync or async sources, in-band errors, nothing after them, the source
always closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest

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
from sagellm_protocol.openai_compat import astream_to_openai_sse, stream_to_openai_sse
from sagellm_protocol.openai_completions import CompletionResponse, astream_to_completion_sse
from sagellm_protocol.sse import DONE_FRAME, SSEDecoder, astream_to_sse, encode_event
from sagellm_protocol.streaming import StreamAssembler, aassemble, split_response
from sagellm_protocol.testing import example

RESPONSE = example(Response, output_text="héllo, wörld 🙂", output_tokens=[1, 2, 3, 4])
EVENTS = split_response(RESPONSE, engine_id="engine-1", prompt_tokens=3)


class Source:
    """An async source of events that records how it ended; ``fail`` raises after ``after``."""

    def __init__(
        self, events: Iterable[StreamEvent], fail: BaseException | None = None, after: int = 0
    ) -> None:
        self.events = list(events)
        self.fail = fail
        self.after = after
        self.yielded = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        try:
            for index, event in enumerate(self.events):
                if self.fail is not None and index == self.after:
                    raise self.fail
                await asyncio.sleep(0)
                self.yielded += 1
                yield event
            if self.fail is not None and self.after >= len(self.events):
                raise self.fail
        finally:
            self.closed = True


def frames_of(stream: AsyncIterator[bytes]) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [frame async for frame in stream]

    return asyncio.run(collect())


def decoded(frames: list[bytes]) -> list[StreamEvent]:
    decoder = SSEDecoder()
    events = [event for frame in frames for event in decoder.feed(frame)]
    decoder.close()
    return events


def openai_payloads(frames: list[bytes]) -> list[Any]:
    return [
        frame if frame == DONE_FRAME else json.loads(frame[len(b"data: ") : -2]) for frame in frames
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_native_frames_are_what_encode_event_writes(kind: str) -> None:
    source: Any = EVENTS if kind == "sync" else Source(EVENTS)
    assert frames_of(astream_to_sse(source)) == [encode_event(event) for event in EVENTS]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_openai_frames_are_the_sync_functions_frames(kind: str) -> None:
    source: Any = EVENTS if kind == "sync" else Source(EVENTS)
    frames = frames_of(astream_to_openai_sse(source, model="m", created=7))
    assert frames == list(stream_to_openai_sse(EVENTS, model="m", created=7))
    assert frames[-1] == DONE_FRAME


def test_every_openai_chunk_choice_carries_finish_reason() -> None:
    chunks = openai_payloads(frames_of(astream_to_openai_sse(EVENTS, model="m")))[:-1]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * 5 + ["stop"]


def test_completion_chunks_carry_the_text_then_the_finish_reason() -> None:
    frames = frames_of(astream_to_completion_sse(Source(EVENTS), model="m", created=7))
    assert frames[-1] == DONE_FRAME
    chunks = [CompletionResponse.model_validate_json(frame[6:-2]) for frame in frames[:-1]]
    assert "".join(chunk.choices[0].text for chunk in chunks) == RESPONSE.output_text
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None, None, None, None, "stop"]
    assert {chunk.id for chunk in chunks} == {"cmpl-req-001"}


def test_a_source_that_fails_mid_stream_ends_with_an_error_end_event() -> None:
    source = Source(EVENTS, fail=RuntimeError("secret prompt text"), after=3)
    frames = frames_of(astream_to_sse(source))
    events = decoded(frames)
    assert [type(event) for event in events] == [
        StreamEventStart,
        StreamEventDelta,
        StreamEventDelta,
        StreamEventEnd,
    ]
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.error == Error(
        code=ErrorCode.UNAVAILABLE, message="the engine failed while generating"
    )
    assert b"secret" not in b"".join(frames)
    assembler = StreamAssembler()
    for event in events:
        assembler.add(event)  # the in-band end keeps the stream grammatical
    response = assembler.response()
    assert (response.finish_reason, response.output_tokens) == ("error", [1, 2])
    assert response.metrics.error_rate == 1.0
    assert end.engine_id == "engine-1"
    assert source.closed


def test_a_source_protocol_error_keeps_its_errors() -> None:
    failure = ProtocolError(Error(code=ErrorCode.RESOURCE_EXHAUSTED, message="KV cache full"))
    events = decoded(frames_of(astream_to_sse(Source(EVENTS, fail=failure, after=2))))
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.error == failure.error


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        ([*EVENTS[:2], EVENTS[0], *EVENTS[2:]], "exactly one start event"),
        (
            [*EVENTS[:2], EVENTS[2].model_copy(update={"request_id": "other"}), *EVENTS[3:]],
            "request_id must be the same",
        ),
        (EVENTS[:-1], "ended without an end event"),
        (
            [*EVENTS[:-1], EVENTS[-1].model_copy(update={"output_text": "x"})],
            "concatenation of the chunks",
        ),
    ],
    ids=["second start", "other request id", "no end", "end text differs"],
)
def test_a_broken_grammar_ends_with_an_in_band_error(broken: list[StreamEvent], rule: str) -> None:
    events = decoded(frames_of(astream_to_sse(Source(broken))))
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.error is not None
    assert end.error.code is ErrorCode.UNAVAILABLE
    assert end.error.retryable is False
    assert rule in end.error.message
    assert sum(isinstance(event, StreamEventEnd) for event in events) == 1


def test_an_openai_stream_that_fails_ends_with_an_error_frame_and_nothing_after() -> None:
    source = Source(EVENTS, fail=RuntimeError("boom"), after=2)
    payloads = openai_payloads(frames_of(astream_to_openai_sse(source, model="m")))
    assert payloads[-1] == {
        "error": {
            "message": "the engine failed while generating",
            "type": "server_error",
            "param": None,
            "code": "unavailable",
        }
    }
    assert DONE_FRAME not in payloads
    assert source.closed


def test_an_openai_end_with_an_error_is_the_last_frame() -> None:
    error = Error(code=ErrorCode.DEADLINE_EXCEEDED, message="timed out")
    failed = split_response(
        example(Response, output_text="Hi", output_tokens=[1], finish_reason="error", error=error)
    )
    payloads = openai_payloads(frames_of(astream_to_openai_sse(failed, model="m")))
    assert payloads[-1]["error"]["code"] == "deadline_exceeded"
    assert DONE_FRAME not in payloads


def test_reading_stops_at_the_end_event() -> None:
    def events() -> Iterator[StreamEvent]:
        yield from EVENTS
        raise AssertionError("read past the end event")

    assert len(frames_of(astream_to_sse(events()))) == len(EVENTS)
    assert len(frames_of(astream_to_openai_sse(events(), model="m"))) == len(EVENTS) + 1


@pytest.mark.parametrize("failure", [RuntimeError("boom"), ProtocolError.invalid("bad input")])
def test_a_failure_before_the_start_is_raised(failure: Exception) -> None:
    with pytest.raises(type(failure)) as caught:
        frames_of(astream_to_sse(Source(EVENTS, fail=failure, after=0)))
    assert caught.value is failure


def test_a_stream_that_does_not_start_with_start_is_raised_as_unavailable() -> None:
    with pytest.raises(ProtocolError) as caught:
        frames_of(astream_to_openai_sse(Source(EVENTS[1:]), model="m"))
    assert caught.value.error.code is ErrorCode.UNAVAILABLE


def test_the_source_is_closed_when_the_consumer_stops_early() -> None:
    source = Source(EVENTS)

    async def first_two() -> None:
        stream = astream_to_sse(source)
        await stream.__anext__()
        await stream.__anext__()
        await stream.aclose()  # type: ignore[attr-defined]

    asyncio.run(first_two())
    assert source.closed
    assert source.yielded == 2


def test_the_source_is_closed_when_the_consumer_is_cancelled() -> None:
    source = Source([EVENTS[0]] + [EVENTS[1]] * 1000)

    async def cancelled() -> None:
        async def consume() -> None:
            async for _ in astream_to_sse(source):
                await asyncio.sleep(0)

        task = asyncio.ensure_future(consume())
        for _ in range(10):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert source.closed
    assert source.yielded < 100


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_aassemble_builds_the_response(kind: str) -> None:
    source: Any = EVENTS if kind == "sync" else Source(EVENTS)
    assert asyncio.run(aassemble(source)) == RESPONSE


def test_aassemble_refuses_a_broken_stream_and_closes_it() -> None:
    source = Source(EVENTS[1:])
    with pytest.raises(ProtocolError, match="after the start event"):
        asyncio.run(aassemble(source))
    assert source.closed
