"""Server-Sent Events framing of stream events.

A frame is ``event: <start|delta|end>``, ``data: <compact JSON>`` and a blank line::

    event: delta
    data: {"event":"delta","request_id":"req-1","trace_id":"t-1","chunk":"Hi","chunk_tokens":[42]}

``encode_event`` writes one frame. ``SSEDecoder`` reads a byte stream split anywhere (inside
UTF-8 sequences, between CR and LF) and yields typed events; it follows the WHATWG
server-sent-events parsing rules (LF, CRLF and CR line ends, ``:`` comments, multi-line
``data``, ``id:`` and ``retry:``) and accepts the OpenAI ``data: [DONE]`` terminator, with one
deliberate tightening: a frame left unfinished at the end of the stream is an error, never
silently dropped.

``StreamFramer`` is the producer's per-token path: it validates a stream's identifiers once
and frames each delta from a precomputed prefix, byte for byte what ``encode_event`` writes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from ._aio import AnyIterable
from ._astream import write_stream
from ._pydantic import json_string_escaper, serializer_of
from .codec import decoder_for, encode
from .errors import Error, ProtocolError
from .limits import MAX_MESSAGE_SIZE
from .registry import STREAM_EVENT_TYPES
from .streaming import StreamAssembler
from .types import (
    FinishReason,
    Metrics,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = [
    "DONE_FRAME",
    "SSE_MEDIA_TYPE",
    "SSEDecoder",
    "StreamFramer",
    "astream_to_sse",
    "encode_event",
]

SSE_MEDIA_TYPE = "text/event-stream"
"""Media type (``Content-Type``) of a server-sent events response."""

DONE_FRAME = b"data: [DONE]\n\n"
"""The OpenAI stream terminator frame."""

_PREFIX = {tag: f"event: {tag}\ndata: ".encode() for tag in STREAM_EVENT_TYPES}
# Each event class's own serializer, called directly: ``encode_event`` runs once per token.
_TO_JSON = {model: serializer_of(model).to_json for model in STREAM_EVENT_TYPES.values()}
_END_OF_LINE = re.compile(rb"\r\n?|\n")
_DONE = "[DONE]"


def encode_event(event: StreamEvent) -> bytes:
    """One SSE frame for ``event``: its ``event:`` line, its ``data:`` line and a blank line."""
    try:
        prefix = _PREFIX[event.event]
        to_json = _TO_JSON[type(event)]
    except (AttributeError, KeyError):
        raise TypeError(
            f"encode_event() takes a stream event, not {type(event).__name__}"
        ) from None
    try:  # ``encode`` inlined: this runs once per generated token
        return prefix + to_json(event, exclude_none=True) + b"\n\n"
    except PydanticSerializationError:
        return prefix + encode(event) + b"\n\n"  # raises encode's ProtocolError


class SSEDecoder:
    """Incremental decoder: feed bytes as they arrive, get validated stream events back.

    ``feed(chunk)`` returns the events completed by ``chunk`` (possibly none); ``close()``
    ends the stream and raises ``ProtocolError`` if a frame is unfinished. A malformed frame
    raises ``ProtocolError`` whose messages name the frame number (counted from 1). After
    ``data: [DONE]``, ``done`` is true and any further event is an error. A frame whose lines
    (of every kind but comments; line ends not counted) hold more than ``max_frame_size`` bytes,
    or a comment line longer than that, is refused rather than buffered, with the same verdict
    however the bytes are split into chunks. Once ``feed`` or ``close`` has raised
    ``ProtocolError``, the stream is invalid and the decoder keeps no half-read state to go on
    from: every later ``feed`` or ``close`` raises the same error.
    """

    def __init__(self, *, max_frame_size: int = MAX_MESSAGE_SIZE) -> None:
        self._max_frame_size = max_frame_size
        self._events = decoder_for(StreamEvent)
        self._frame_size = 0  # bytes of the current frame's lines (line ends and comments not)
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a line end
        self._skip_line_feed = False  # the last line ended with CR: a following LF belongs to it
        self._data: list[str] = []
        self._event_type: str | None = None
        self._frame_open = False
        self._closed = False
        self._failure: ProtocolError | None = None
        self.frames = 0
        """Frames completed so far (a frame ends at a blank line)."""
        self.last_event_id = ""
        """Value of the last ``id:`` field (empty until one is seen)."""
        self.retry_ms: int | None = None
        """Value of the last valid ``retry:`` field, in milliseconds."""
        self.done = False
        """True once the ``data: [DONE]`` terminator has been read."""

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[StreamEvent]:
        """Add bytes to the stream; return the events that they complete, in order."""
        if self._failure is not None:
            raise ProtocolError(self._failure.errors, more=self._failure.more)
        if self._closed:
            raise ValueError("SSEDecoder.feed() after close()")
        if not chunk:
            return []
        try:
            return self._feed(chunk)
        except ProtocolError as exc:
            self._failure = exc
            raise

    def _feed(self, chunk: bytes | bytearray | memoryview) -> list[StreamEvent]:
        buffer = self._buffer
        start = len(buffer)
        buffer += chunk
        if self._skip_line_feed:
            self._skip_line_feed = False
            if buffer[start : start + 1] == b"\n":
                del buffer[start]
        events: list[StreamEvent] = []
        line_start = 0
        position = self._scanned
        while True:
            match = _END_OF_LINE.search(buffer, position)
            if match is None:
                break
            line = bytes(buffer[line_start : match.start()])
            position = line_start = match.end()
            if match.end() == len(buffer) and buffer[match.start()] == 0x0D:
                self._skip_line_feed = True
            event = self._line(line)
            if event is not None:
                events.append(event)
        if line_start:
            del buffer[:line_start]
        self._scanned = len(buffer)
        if buffer:
            # The unfinished line is refused as soon as it is sure to be refused once finished,
            # so every chunking of the same bytes gets the same verdict.
            self._check_size(len(buffer), comment=buffer[0] == 0x3A)
        return events

    def _check_size(self, line_size: int, *, comment: bool) -> None:
        """Refuse a line that breaks the size limit: every line counts toward its frame's
        size except a comment, which must fit the limit on its own."""
        if comment:
            if line_size > self._max_frame_size:
                raise self._frame_error(
                    f"a line is longer than the limit of {self._max_frame_size} bytes"
                )
        elif self._frame_size + line_size > self._max_frame_size:
            raise self._frame_error(f"larger than the limit of {self._max_frame_size} bytes")

    def close(self) -> list[StreamEvent]:
        """End the stream. Raises ``ProtocolError`` if the last frame is unfinished."""
        if self._failure is not None:
            raise ProtocolError(self._failure.errors, more=self._failure.more)
        self._closed = True
        partial_line = bytes(self._buffer)
        self._buffer.clear()
        if (partial_line and not partial_line.startswith(b":")) or self._frame_open:
            raise ProtocolError.invalid(
                f"frame {self.frames + 1}: unfinished at the end of the stream "
                "(a frame ends with a blank line)"
            )
        return []

    def _line(self, raw: bytes) -> StreamEvent | None:
        if not raw:
            return self._dispatch()
        comment = raw[0] == 0x3A  # ':' starts a comment
        self._check_size(len(raw), comment=comment)
        if comment:
            return None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._frame_error("a line is not valid UTF-8 text") from None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._frame_open = True
        self._frame_size += len(raw)
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        # Any other field name is ignored, as the SSE standard requires.
        return None

    def _dispatch(self) -> StreamEvent | None:
        if not self._frame_open:
            return None
        self.frames += 1
        data, event_type = self._data, self._event_type
        self._data, self._event_type, self._frame_open, self._frame_size = [], None, False, 0
        if not data:
            return None  # a frame without data (only id:, retry: or event:) carries no event
        text = "\n".join(data)
        if self.done:
            raise self._frame_error("an event after the [DONE] terminator", numbered=self.frames)
        if text == _DONE:
            self.done = True
            return None
        try:
            # As bytes, the decoder's fast path takes it (the lines were valid UTF-8).
            event: StreamEvent = self._events.decode(text.encode())
        except ProtocolError as exc:
            raise ProtocolError(
                (
                    Error(code=e.code, message=f"frame {self.frames}: {e.message}", param=e.param)
                    for e in exc.errors
                ),
                more=exc.more,
            ) from None
        if event_type is not None and event_type != event.event:
            raise self._frame_error(
                f"the event: line does not match the data's event tag ({event.event})",
                numbered=self.frames,
            )
        return event

    def _frame_error(self, problem: str, *, numbered: int | None = None) -> ProtocolError:
        return ProtocolError.invalid(f"frame {numbered or self.frames + 1}: {problem}")


# --- the per-token path ----------------------------------------------------------------------


_json_string = json_string_escaper()
"""A str as a JSON string literal, exactly as pydantic-core writes it (non-ASCII kept,
control characters escaped); a lone surrogate passes through, and the final UTF-8 encoding
refuses it."""

_ARRAYS = (list, tuple)
_INTS = frozenset({int})
_MAX_FAST_TOKEN = 2**63 - 1  # larger ids (the model accepts any size) take the checked path
_TOKENS = ',"chunk_tokens":['


def _token_text(tokens: Sequence[int]) -> str | None:
    """``tokens`` as the inside of a JSON array, or None unless each is a plain int >= 0."""
    if len(tokens) == 1:
        token = tokens[0]
        return str(token) if type(token) is int and 0 <= token <= _MAX_FAST_TOKEN else None
    if not tokens:
        return ""
    if _INTS.issuperset(map(type, tokens)) and min(tokens) >= 0 and max(tokens) <= _MAX_FAST_TOKEN:
        return ",".join(map(str, tokens))
    return None


_Event = TypeVar("_Event", StreamEventStart, StreamEventDelta, StreamEventEnd)


def _checked(model: type[_Event], **fields: Any) -> _Event:
    """``model(**fields)``; a ValidationError becomes the ProtocolError the wire path raises."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise ProtocolError.from_validation_error(exc, root=model) from None


class StreamFramer:
    """The SSE frames of one stream, for a producer; the identifiers are checked once.

    ``start``, ``delta`` and ``end`` return exactly the bytes ``encode_event`` writes for the
    equivalent event. ``delta`` is the per-token path: it checks what changes per token (the
    chunk is text without lone surrogates; the token ids are ints >= 0, not bools; a set is
    not a list) and writes the frame around a precomputed prefix, without building a model.
    Any input it cannot vouch for goes through ``StreamEventDelta`` itself, so the verdict
    and the errors are the model's. Invalid input raises ``ProtocolError``, with the same
    ``param`` paths the model gives (``chunk``, ``chunk_tokens[3]``)::

        framer = StreamFramer(request.request_id, request.trace_id, engine_id="engine-0")
        yield framer.start(prompt_tokens=len(prompt_ids))
        for text, ids in generation:
            yield framer.delta(text, ids)
        yield framer.end(output_text, output_tokens, "stop", metrics)

    The framer does not track the stream grammar (start, deltas, end): a receiver checks it
    with ``streaming.StreamAssembler``.
    """

    __slots__ = ("_delta_head", "_delta_tail", "_start", "engine_id", "request_id", "trace_id")

    def __init__(self, request_id: str, trace_id: str, *, engine_id: str | None = None) -> None:
        start = _checked(
            StreamEventStart, request_id=request_id, trace_id=trace_id, engine_id=engine_id
        )
        self.request_id: str = start.request_id
        """Identifier of the request the stream answers (checked: 1 to 256 characters)."""
        self.trace_id: str = start.trace_id
        """Identifier of the trace the request belongs to (checked)."""
        self.engine_id: str | None = start.engine_id
        """Identifier of the engine instance written into every event, or None (checked)."""
        self._start = encode_event(start)
        template = encode_event(
            StreamEventDelta(
                request_id=self.request_id,
                trace_id=self.trace_id,
                chunk="",
                chunk_tokens=[],
                engine_id=self.engine_id,
            )
        ).decode("utf-8")
        # Inside a JSON string every quote is escaped, so this marker can only be the fields.
        head, marker, tail = template.partition('"chunk":"","chunk_tokens":[]')
        if not marker:  # pragma: no cover - the field order is the model's
            raise AssertionError("StreamEventDelta no longer writes chunk and chunk_tokens")
        self._delta_head = head + '"chunk":'
        self._delta_tail = "]" + tail

    def start(self, prompt_tokens: int | None = None) -> bytes:
        """The start frame; ``prompt_tokens`` is the number of prompt tokens (>= 0), if known."""
        if prompt_tokens is None:
            return self._start
        return self._frame(StreamEventStart, prompt_tokens=prompt_tokens)

    def delta(self, chunk: str, chunk_tokens: Sequence[int]) -> bytes:
        """The delta frame for ``chunk`` (text) and ``chunk_tokens`` (token ids, in order)."""
        if type(chunk) is str and type(chunk_tokens) in _ARRAYS:
            tokens = _token_text(chunk_tokens)
            if tokens is not None:
                try:
                    return (
                        f"{self._delta_head}{_json_string(chunk)}{_TOKENS}{tokens}{self._delta_tail}"
                    ).encode()
                except UnicodeEncodeError:
                    pass  # a lone surrogate in the chunk: the model words the error
        return self._frame(StreamEventDelta, chunk=chunk, chunk_tokens=chunk_tokens)

    def end(
        self,
        output_text: str,
        output_tokens: Sequence[int],
        finish_reason: FinishReason,
        metrics: Metrics,
        error: Error | None = None,
    ) -> bytes:
        """The end frame: the full output, why generation ended, the metrics and the error
        (given exactly when ``finish_reason`` is ``"error"``)."""
        return self._frame(
            StreamEventEnd,
            output_text=output_text,
            output_tokens=output_tokens,
            finish_reason=finish_reason,
            metrics=metrics,
            error=error,
        )

    def _frame(self, model: type[_Event], **fields: Any) -> bytes:
        """The frame of a ``model`` event of this stream, checked like the model checks it."""
        return encode_event(
            _checked(
                model,
                request_id=self.request_id,
                trace_id=self.trace_id,
                engine_id=self.engine_id,
                **fields,
            )
        )


# --- a whole stream, for an async producer ---------------------------------------------------


class _NativeFrames:
    """The native frames of one stream: the deltas through a ``StreamFramer``."""

    __slots__ = ("_framer",)

    def __init__(self) -> None:
        self._framer: StreamFramer | None = None

    def event(self, event: StreamEvent) -> bytes:
        framer = self._framer
        if type(event) is StreamEventDelta and framer is not None:
            if event.engine_id == framer.engine_id:
                return framer.delta(event.chunk, event.chunk_tokens)
        elif type(event) is StreamEventStart:
            self._framer = StreamFramer(event.request_id, event.trace_id, engine_id=event.engine_id)
        return encode_event(event)

    def failure(self, error: Error, assembler: StreamAssembler, metrics: Metrics) -> bytes:
        start = assembler.start
        assert start is not None  # a stream fails in-band only after its start
        return encode_event(
            StreamEventEnd(
                request_id=start.request_id,
                trace_id=start.trace_id,
                output_text=assembler.output_text,
                output_tokens=assembler.output_tokens,
                finish_reason="error",
                metrics=metrics,
                error=error,
                engine_id=assembler.engine_id,
            )
        )

    def done(self) -> None:
        return None


def astream_to_sse(events: AnyIterable[StreamEvent]) -> AsyncIterator[bytes]:
    """The SSE frames of a stream of events (a sync or an async iterable), for a producer.

    Each event is checked against the stream grammar (``StreamAssembler``) and framed as
    ``encode_event`` does (the deltas through a ``StreamFramer``); reading stops at the end
    event. A stream that breaks the grammar, or whose source raises, after its start event
    ends with an end event whose ``finish_reason`` is ``"error"`` and whose ``error`` says why
    (``unavailable`` for a broken grammar or an exception; the source's own errors for a
    ``ProtocolError``), carrying the output so far; no frame follows it. Before the start
    event nothing has been sent, and the problem is raised instead (a broken grammar as a
    ``ProtocolError``). The source is closed however the stream ends, also when the consumer
    stops early (``aclose``) or is cancelled.
    """
    return write_stream(events, _NativeFrames())
