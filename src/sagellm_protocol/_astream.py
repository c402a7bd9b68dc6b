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

__all__ = ["Frames", "TextFrame", "collect", "failure_error", "write_stream"]

_LOG = logging.getLogger("sagellm_protocol")


class Frames(Protocol):
    """How one kind of stream (native, OpenAI chat, OpenAI completions) writes its frames."""

    def event(self, event: StreamEvent) -> bytes | None:
        """The frame for ``event`` (already checked against the grammar), or None for none."""

    def failure(self, error: Error, assembler: StreamAssembler, metrics: Metrics) -> bytes:
        """The in-band error frame that ends a failed stream."""

    def done(self) -> bytes | None:
        """The frame after a stream that ended well (e.g. ``data: [DONE]``), or None."""


class _InvalidStreamError(Exception):
    """The events broke the stream grammar, or could not be framed."""

    def __init__(self, problem: ProtocolError) -> None:
        super().__init__(str(problem))
        self.problem = problem


def failure_error(exc: BaseException) -> Error:
    """The Error that reports ``exc``, raised while a stream was written, to its receiver.

    A stream that broke the grammar is the producer's fault (``unavailable``, not retryable);
    a ``ProtocolError`` raised by the source keeps its own errors; any other exception is
    ``unavailable`` with a fixed message (its text may hold input, so it is logged instead).
    """
    if isinstance(exc, _InvalidStreamError):
        found = summary_error(exc.problem.errors)
        return Error(
            code=ErrorCode.UNAVAILABLE,
            message=f"the engine's event stream is invalid: {found.message}",
            retryable=False,
        )
    if isinstance(exc, ProtocolError):
        return summary_error(exc.errors)
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


async def write_stream(events: AnyIterable[StreamEvent], frames: Frames) -> AsyncIterator[bytes]:
    """The frames of ``events`` as ``frames`` writes them, the grammar checked on the way,
    then ``frames.done()`` unless the end event carried an error.

    Before the start event, a problem is raised (a broken grammar as a ``ProtocolError`` with
    the ``unavailable`` Error); after it, the stream ends with ``frames.failure``. Reading
    stops at the end event.
    """
    assembler = StreamAssembler()
    source = aiterate(events)
    clock = time.monotonic
    started = clock()
    first_token: float | None = None
    try:
        try:
            async for event in source:
                try:
                    assembler.add(event)
                    frame = frames.event(event)
                except ProtocolError as exc:
                    raise _InvalidStreamError(exc) from None
                if first_token is None and type(event) is StreamEventDelta and event.chunk_tokens:
                    first_token = clock()
                if frame is not None:
                    yield frame
                if assembler.finished:
                    if isinstance(event, StreamEventEnd) and event.error is not None:
                        return  # an end event's own error is the last frame
                    break
            else:
                raise _InvalidStreamError(_NO_END)
        except Exception as exc:
            if not assembler.started:
                if isinstance(exc, _InvalidStreamError):
                    raise ProtocolError(failure_error(exc)) from None
                raise
            if not isinstance(exc, (_InvalidStreamError, ProtocolError)):
                _LOG.error("the event source failed mid-stream", exc_info=exc)
            metrics = _metrics(started, first_token, len(assembler.output_tokens))
            yield frames.failure(failure_error(exc), assembler, metrics)
            return
        last = frames.done()
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
                raise ProtocolError(failure_error(_InvalidStreamError(exc))) from None
            if assembler.finished:
                return assembler
    finally:
        await aclose(source)
    raise ProtocolError(failure_error(_InvalidStreamError(_NO_END)))


_NO_END = ProtocolError.invalid("the stream ended without an end event")


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
