"""The async stream writer shared by the native and the OpenAI server-sent event streams.

``write_stream`` checks a stream of events against the grammar as it frames them, and turns a
stream that breaks the grammar, or whose source fails, into an in-band error frame after which
nothing follows. It closes its source however it ends (finished, failed, closed or cancelled).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from ._aio import AnyIterable, aclose, aiterate
from ._problems import summary_error
from .codec import encode
from .errors import Error, ErrorCode, ProtocolError
from .streaming import StreamAssembler
from .types import Metrics, StreamEvent, StreamEventDelta, StreamEventEnd

__all__ = [
    "Frames",
    "InvalidStreamError",
    "StreamWriter",
    "TextFrame",
    "collect",
    "failure_error",
    "problem",
    "write_stream",
]

_LOG = logging.getLogger("sagellm_protocol")


class Frames(Protocol):
    """How one kind of stream (native, OpenAI chat, OpenAI completions) writes its frames."""

    def event(self, event: StreamEvent) -> bytes | None:
        """The frame for ``event`` (already checked against the grammar), or None for none."""

    def failure(self, error: Error, assembler: StreamAssembler, metrics: Metrics) -> bytes:
        """The in-band error frame that ends a failed stream."""

    def done(self) -> bytes | None:
        """The frame after a stream that ended well (e.g. ``data: [DONE]``), or None."""


class InvalidStreamError(Exception):
    """The events broke the stream grammar, or could not be framed."""

    def __init__(self, problem: ProtocolError) -> None:
        super().__init__(str(problem))
        self.problem = problem


_NO_END = ProtocolError.invalid("the stream ended without an end event")


def failure_error(exc: BaseException) -> Error:
    """The Error that reports ``exc``, raised while a stream was written, to its receiver.

    A stream that broke the grammar is the producer's fault (``unavailable``, not retryable);
    a ``ProtocolError`` raised by the source keeps its own errors; any other exception is
    ``unavailable`` with a fixed message (its text may hold input, so it is logged instead).
    """
    if isinstance(exc, InvalidStreamError):
        found = summary_error(exc.problem.errors, exc.problem.more)
        return Error(
            code=ErrorCode.UNAVAILABLE,
            message=f"the engine's event stream is invalid: {found.message}",
            retryable=False,
        )
    if isinstance(exc, ProtocolError):
        return summary_error(exc.errors, exc.more)
    return Error(code=ErrorCode.UNAVAILABLE, message="the engine failed while generating")


def _metrics(started: float, first_token: float | None, tokens: int) -> Metrics:
    """Metrics of a failed stream, measured on this side's clock."""
    now = time.monotonic()
    e2e_ms = (now - started) * 1000
    ttft_ms = e2e_ms if first_token is None else (first_token - started) * 1000
    return Metrics(
        ttft_ms=ttft_ms,
        tpot_ms=(e2e_ms - ttft_ms) / (tokens - 1) if tokens > 1 else 0.0,
        throughput_tps=tokens / (e2e_ms / 1000) if tokens and e2e_ms > 0 else 0.0,
        peak_mem_mb=0,
        error_rate=1.0,
    )


class StreamWriter:
    """The frames of one stream, event by event, with the grammar checked: the synchronous
    core of ``write_stream`` (an async server may drive it from its own loop).

    ``add(event)`` returns the event's frame (or None) and raises ``InvalidStreamError`` if
    the event breaks the grammar or cannot be framed; once ``finished`` (the end event was
    added) the caller stops reading. ``end()`` gives the frame after a source that stopped
    (``frames.done()``, or None after an end event with an error) and raises
    ``InvalidStreamError`` if no end event came. ``failure(exc)`` gives the in-band error
    frame for ``exc``, raised while reading; before the start event it raises ``problem(exc)``
    instead, since nothing can have been sent.
    """

    __slots__ = ("_assembler", "_first_token", "_frames", "_started", "error", "finished")

    def __init__(self, frames: Frames) -> None:
        self._frames = frames
        self._assembler = StreamAssembler()
        self._started = time.monotonic()
        self._first_token: float | None = None
        self.finished = False
        """True once the end event has been added."""
        self.error: Error | None = None
        """The end event's error, once an end event with an error has been added."""

    def add(self, event: StreamEvent) -> bytes | None:
        """The frame of the next event (None if it has none)."""
        try:
            self._assembler.add(event)
            frame = self._frames.event(event)
        except ProtocolError as exc:
            raise InvalidStreamError(exc) from None
        if type(event) is StreamEventDelta:
            if self._first_token is None and event.chunk_tokens:
                self._first_token = time.monotonic()
        elif type(event) is StreamEventEnd:
            self.finished = True
            self.error = event.error
        return frame

    def end(self) -> bytes | None:
        """The frame after the last event: ``frames.done()``, or None after an error end."""
        if not self.finished:
            raise InvalidStreamError(_NO_END)
        if self.error is not None:
            return None  # the end event's own error was the last frame
        return self._frames.done()

    def failure(self, exc: Exception) -> bytes:
        """The in-band error frame that ends the stream after ``exc``."""
        assembler = self._assembler
        if not assembler.started:
            raise problem(exc)
        if not isinstance(exc, (InvalidStreamError, ProtocolError)):
            _LOG.error("the event source failed mid-stream", exc_info=exc)
        metrics = _metrics(self._started, self._first_token, len(assembler.output_tokens))
        return self._frames.failure(failure_error(exc), assembler, metrics)


def problem(exc: Exception) -> Exception:
    """What to raise for ``exc`` when nothing has been sent yet: a broken grammar as a
    ``ProtocolError`` with the ``unavailable`` Error, anything else as it is."""
    if isinstance(exc, InvalidStreamError):
        return ProtocolError(failure_error(exc))
    return exc


async def write_stream(events: AnyIterable[StreamEvent], frames: Frames) -> AsyncIterator[bytes]:
    """The frames of ``events`` as ``frames`` writes them, the grammar checked on the way,
    then ``frames.done()`` unless the end event carried an error (``StreamWriter``).

    Before the start event, a problem is raised (a broken grammar as a ``ProtocolError`` with
    the ``unavailable`` Error); after it, the stream ends with ``frames.failure``. Reading
    stops at the end event; the source is closed however the stream ends.
    """
    writer = StreamWriter(frames)
    source = aiterate(events)
    try:
        try:
            async for event in source:
                frame = writer.add(event)
                if frame is not None:
                    yield frame
                if writer.finished:
                    break
            last = writer.end()
        except Exception as exc:
            yield writer.failure(exc)
            return
        if last is not None:
            yield last
    finally:
        await aclose(source)


async def collect(events: AnyIterable[StreamEvent]) -> StreamAssembler:
    """Read a whole stream into a ``StreamAssembler`` (reading stops at the end event).

    A stream that breaks the grammar, or ends without an end event, raises ``ProtocolError``
    with the ``unavailable`` Error of ``failure_error``; what the source raises propagates.
    """
    assembler = StreamAssembler()
    source = aiterate(events)
    try:
        async for event in source:
            try:
                assembler.add(event)
            except ProtocolError as exc:
                raise ProtocolError(failure_error(InvalidStreamError(exc))) from None
            if assembler.finished:
                return assembler
    finally:
        await aclose(source)
    raise ProtocolError(failure_error(InvalidStreamError(_NO_END)))


_MARKER = "\x00sagellm\x00text\x00"


class TextFrame:
    """The frame of a message with one free-text field, written around a precomputed head and
    tail (no model is built per call); built from the message itself, so the bytes are exactly
    ``prefix + encode(build(text)) + suffix``.
    """

    __slots__ = ("_build", "_head", "_prefix", "_suffix", "_tail")

    def __init__(self, build: Callable[[str], BaseModel], prefix: bytes, suffix: bytes) -> None:
        self._build = build
        self._prefix = prefix
        self._suffix = suffix
        self._head: bytes | None = None
        self._tail = b""
        template = encode(build(_MARKER))
        marker = to_json(_MARKER)
        if template.count(marker) == 1:  # else (an id holding the marker) every frame is built
            head, _, tail = template.partition(marker)
            self._head, self._tail = prefix + head, tail + suffix

    def __call__(self, text: str) -> bytes:
        """The frame of the message carrying ``text``."""
        if self._head is not None and type(text) is str:
            try:
                return self._head + to_json(text) + self._tail
            except PydanticSerializationError:
                pass  # a lone surrogate: the model and encode word the error
        try:
            message = self._build(text)
        except ValidationError as exc:
            raise ProtocolError.from_validation_error(exc) from None
        return self._prefix + encode(message) + self._suffix
