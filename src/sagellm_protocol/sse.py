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
"""

from __future__ import annotations

import re

from .codec import decode, encode
from .errors import Error, ProtocolError
from .limits import MAX_MESSAGE_SIZE
from .types import StreamEvent

__all__ = ["DONE_FRAME", "SSE_MEDIA_TYPE", "SSEDecoder", "encode_event"]

SSE_MEDIA_TYPE = "text/event-stream"
"""Media type (``Content-Type``) of a server-sent events response."""

DONE_FRAME = b"data: [DONE]\n\n"
"""The OpenAI stream terminator frame."""

_PREFIX = {tag: f"event: {tag}\ndata: ".encode() for tag in ("start", "delta", "end")}
_END_OF_LINE = re.compile(rb"\r\n?|\n")
_DONE = "[DONE]"


def encode_event(event: StreamEvent) -> bytes:
    """One SSE frame for ``event``: its ``event:`` line, its ``data:`` line and a blank line."""
    try:
        prefix = _PREFIX[event.event]
    except (AttributeError, KeyError):
        raise TypeError(
            f"encode_event() takes a stream event, not {type(event).__name__}"
        ) from None
    return prefix + encode(event) + b"\n\n"


class SSEDecoder:
    """Incremental decoder: feed bytes as they arrive, get validated stream events back.

    ``feed(chunk)`` returns the events completed by ``chunk`` (possibly none); ``close()``
    ends the stream and raises ``ProtocolError`` if a frame is unfinished. A malformed frame
    raises ``ProtocolError`` whose messages name the frame number (counted from 1). After
    ``data: [DONE]``, ``done`` is true and any further event is an error. A frame (or a line)
    longer than ``max_frame_size`` bytes is refused rather than buffered.
    """

    def __init__(self, *, max_frame_size: int = MAX_MESSAGE_SIZE) -> None:
        self._max_frame_size = max_frame_size
        self._frame_size = 0  # bytes of data lines in the current frame
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a line end
        self._skip_line_feed = False  # the last line ended with CR: a following LF belongs to it
        self._data: list[str] = []
        self._event_type: str | None = None
        self._frame_open = False
        self._closed = False
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
        if self._closed:
            raise ValueError("SSEDecoder.feed() after close()")
        if not chunk:
            return []
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
        if len(buffer) > self._max_frame_size:
            raise self._frame_error(
                f"a line is longer than the limit of {self._max_frame_size} bytes"
            )
        return events

    def close(self) -> list[StreamEvent]:
        """End the stream. Raises ``ProtocolError`` if the last frame is unfinished."""
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
        if raw[0] == 0x3A:  # ':' starts a comment
            return None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._frame_error("a line is not valid UTF-8 text") from None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._frame_open = True
        if name == "data":
            self._frame_size += len(raw)
            if self._frame_size > self._max_frame_size:
                raise self._frame_error(f"larger than the limit of {self._max_frame_size} bytes")
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
            event = decode(StreamEvent, text)
        except ProtocolError as exc:
            raise ProtocolError(
                Error(code=e.code, message=f"frame {self.frames}: {e.message}", param=e.param)
                for e in exc.errors
            ) from None
        if event_type is not None and event_type != event.event:
            raise self._frame_error(
                f"the event: line does not match the data's event tag ({event.event})",
                numbered=self.frames,
            )
        return event

    def _frame_error(self, problem: str, *, numbered: int | None = None) -> ProtocolError:
        return ProtocolError.invalid(f"frame {numbered or self.frames + 1}: {problem}")
