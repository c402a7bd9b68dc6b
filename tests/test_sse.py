"""Server-Sent Events: the frame format and the incremental decoder."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagellm_protocol import (
    ProtocolError,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    encode,
)
from sagellm_protocol.sse import DONE_FRAME, SSEDecoder, encode_event
from sagellm_protocol.streaming import split_response
from sagellm_protocol.testing import example
from sagellm_protocol.testing.strategies import strategy_for, stream_events


def _stream(text: str = "你好，世界！🙂👍🏽 done", tokens_per_delta: int = 2) -> list[StreamEvent]:  # noqa: RUF001
    response = example(Response, output_text=text, output_tokens=list(range(7)))
    return split_response(response, tokens_per_delta=tokens_per_delta, engine_id="engine-0")


def _wire(events: list[StreamEvent]) -> bytes:
    return b"".join(encode_event(event) for event in events)


def _decode_all(chunks: list[bytes], *, frames: int | None = None) -> list[StreamEvent]:
    """Decode a stream fed in ``chunks``; check the frame count when ``frames`` is given."""
    decoder = SSEDecoder()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    if frames is not None:
        assert decoder.frames == frames
    return events


def test_frame_format() -> None:
    delta = example(StreamEventDelta)
    assert encode_event(delta) == b"event: delta\ndata: " + encode(delta) + b"\n\n"
    assert encode_event(example(StreamEventStart)).startswith(b"event: start\ndata: {")
    assert encode_event(example(StreamEventEnd)).startswith(b"event: end\ndata: {")


def test_encode_event_refuses_other_messages() -> None:
    with pytest.raises(TypeError):
        encode_event(example(Response))  # type: ignore[arg-type]


def test_whole_stream_decodes() -> None:
    events = _stream()
    assert _decode_all([_wire(events)]) == events


def test_every_split_point_of_a_multibyte_stream() -> None:
    events = _stream()
    wire = _wire(events)
    assert len(wire) != len(wire.decode())  # the stream holds multi-byte UTF-8 sequences
    for cut in range(len(wire) + 1):
        assert _decode_all([wire[:cut], wire[cut:]], frames=len(events)) == events, cut


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["CRLF", "CR"])
def test_every_split_point_with_other_line_ends(line_end: bytes) -> None:
    events = _stream()
    wire = _wire(events).replace(b"\n", line_end)
    for cut in range(len(wire) + 1):
        assert _decode_all([wire[:cut], wire[cut:]], frames=len(events)) == events, cut


def test_crlf_split_between_cr_and_lf_keeps_the_event_line_check() -> None:
    start = encode_event(example(StreamEventStart)).replace(b"\n", b"\r\n")
    wrong = encode_event(example(StreamEventDelta)).replace(b"event: delta", b"event: end")
    wrong = wrong.replace(b"\n", b"\r\n")
    cut = len(start) + wrong.index(b"\r\n") + 1  # between the CR and the LF of the event line
    wire = start + wrong
    with pytest.raises(ProtocolError, match="frame 2: the event: line does not match"):
        _decode_all([wire[:cut], wire[cut:]])


def test_mixed_line_ends() -> None:
    events = _stream()
    frames = [encode_event(event) for event in events]
    ends = [b"\n", b"\r\n", b"\r"]
    wire = b"".join(frame.replace(b"\n", ends[i % 3]) for i, frame in enumerate(frames))
    assert _decode_all([wire], frames=len(events)) == events


@given(st.lists(stream_events(), min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_random_splits_of_random_streams(events: list[StreamEvent], rng: random.Random) -> None:
    wire = _wire(events)
    cuts = sorted(rng.sample(range(len(wire) + 1), k=min(len(wire) + 1, rng.randint(0, 30))))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    assert _decode_all(chunks, frames=len(events)) == events


def test_ten_thousand_events_one_byte_at_a_time() -> None:
    text = "流式输出 streaming 🙂 " * 1000
    response = example(Response, output_text=text, output_tokens=list(range(9_998)))
    events = split_response(response)
    assert len(events) == 10_000
    wire = _wire(events)
    decoder = SSEDecoder()
    decoded: list[StreamEvent] = []
    for index in range(len(wire)):
        decoded += decoder.feed(wire[index : index + 1])
    decoded += decoder.close()
    assert decoded == events
    assert decoder.frames == 10_000


def test_comments_are_ignored() -> None:
    delta = example(StreamEventDelta)
    wire = (
        b": keep-alive\n" + encode_event(delta).replace(b"\ndata:", b"\n: between\ndata:") + b":\n"
    )
    assert _decode_all([wire]) == [delta]


def test_multi_line_data_is_joined_with_newlines() -> None:
    delta = example(StreamEventDelta, chunk="a\nb")
    pretty = json.dumps(delta.model_dump(exclude_none=True), indent=1, ensure_ascii=False)
    wire = b"".join(b"data: " + line.encode() + b"\n" for line in pretty.split("\n")) + b"\n"
    assert _decode_all([wire]) == [delta]


def test_data_without_space_after_colon() -> None:
    delta = example(StreamEventDelta)
    assert _decode_all([b"data:" + encode(delta) + b"\n\n"]) == [delta]


def test_frame_without_event_line_takes_the_json_tag() -> None:
    events = _stream()
    wire = b"".join(b"data: " + encode(event) + b"\n\n" for event in events)
    assert _decode_all([wire]) == events


def test_id_and_retry_fields() -> None:
    delta = example(StreamEventDelta)
    decoder = SSEDecoder()
    wire = b"id: 41\nretry: 2500\n" + encode_event(delta) + b"id: 42\nretry: soon\n\n"
    assert decoder.feed(wire) == [delta]
    assert decoder.last_event_id == "42"
    assert decoder.retry_ms == 2500
    assert decoder.frames == 2


def test_id_with_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 7\n\nid: a\x00b\n\n")
    assert decoder.last_event_id == "7"


def test_unknown_field_names_are_ignored() -> None:
    delta = example(StreamEventDelta)
    assert _decode_all([b"foo: bar\n" + encode_event(delta)]) == [delta]


def test_event_line_that_disagrees_with_the_tag_is_an_error() -> None:
    start = encode_event(example(StreamEventStart))
    wire = start + encode_event(example(StreamEventDelta)).replace(b"event: delta", b"event: end")
    with pytest.raises(ProtocolError, match="frame 2: the event: line does not match"):
        _decode_all([wire])


def test_done_terminator() -> None:
    events = _stream()
    decoder = SSEDecoder()
    assert decoder.feed(_wire(events) + DONE_FRAME) == events
    assert decoder.done
    assert decoder.close() == []


def test_event_after_done_is_an_error() -> None:
    delta = encode_event(example(StreamEventDelta))
    with pytest.raises(ProtocolError, match="frame 2: an event after the \\[DONE\\] terminator"):
        _decode_all([DONE_FRAME + delta])


@pytest.mark.parametrize(
    ("wire", "frame"),
    [
        (b"data: {not json}\n\n", 1),
        (encode_event(example(StreamEventStart)) + b"data: {}\n\n", 2),
        (encode_event(example(StreamEventStart)) * 2 + b'data: {"event":"delta"}\n\n', 3),
        (b"data: \xff\xfe\n\n", 1),
    ],
    ids=["bad JSON", "no tag", "missing fields", "invalid UTF-8"],
)
def test_malformed_frame_names_its_number(wire: bytes, frame: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        _decode_all([wire])
    assert all(error.message.startswith(f"frame {frame}: ") for error in caught.value.errors)


def test_field_errors_keep_their_param() -> None:
    body = b'{"event":"delta","request_id":"r","trace_id":"t","chunk":"x","chunk_tokens":[-1]}'
    wire = b"data: " + body + b"\n\n"
    with pytest.raises(ProtocolError) as caught:
        _decode_all([wire])
    assert [error.param for error in caught.value.errors] == ["chunk_tokens[0]"]


@pytest.mark.parametrize(
    "tail",
    [b"data: {", b"data: {}\n", b"event: delta\n", b"id: 3\n", b"data: {}\r\n"],
    ids=["partial line", "no blank line", "event line only", "id line only", "CRLF no blank line"],
)
def test_unfinished_frame_at_close_is_an_error(tail: bytes) -> None:
    decoder = SSEDecoder()
    decoder.feed(encode_event(example(StreamEventStart)) + tail)
    with pytest.raises(ProtocolError, match="frame 2: unfinished at the end of the stream"):
        decoder.close()


def test_trailing_comment_or_cr_at_close_is_fine() -> None:
    for tail in (b": bye", b"\r", b""):
        decoder = SSEDecoder()
        decoder.feed(encode_event(example(StreamEventStart)) + tail)
        assert decoder.close() == []


def test_feed_after_close_is_refused() -> None:
    decoder = SSEDecoder()
    decoder.close()
    with pytest.raises(ValueError, match="after close"):
        decoder.feed(b"data: x\n\n")


def test_ten_megabyte_line_of_invalid_json_is_an_error() -> None:
    with pytest.raises(ProtocolError, match="frame 1"):
        _decode_all([b"data: " + b"[" * (10 * 1024 * 1024) + b"\n\n"])


@given(strategy_for(StreamEventEnd))
def test_end_events_round_trip(event: StreamEventEnd) -> None:
    assert _decode_all([encode_event(event)]) == [event]


def test_after_a_refused_frame_every_later_call_gives_the_same_error() -> None:
    decoder = SSEDecoder()
    bad = b"event: delta\ndata: {}\n\n"
    with pytest.raises(ProtocolError) as first:
        decoder.feed(bad + encode_event(example(StreamEventStart)))
    with pytest.raises(ProtocolError) as again:
        decoder.feed(encode_event(example(StreamEventStart)))  # valid on its own
    assert again.value.errors == first.value.errors
    with pytest.raises(ProtocolError) as closing:
        decoder.close()
    assert closing.value.errors == first.value.errors
    assert decoder.frames == 1  # nothing was read past the refused frame
