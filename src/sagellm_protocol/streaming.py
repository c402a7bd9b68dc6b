"""The stream grammar: assemble a stream of events into a Response, and split one back.

A stream is one ``StreamEventStart``, zero or more ``StreamEventDelta`` and one
``StreamEventEnd``, all with the same ``request_id`` and ``trace_id`` (and the same
``engine_id`` wherever an event gives one). The End's ``output_text`` is the concatenation of
the chunks and its ``output_tokens`` the concatenation of the chunk_tokens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ._aio import AnyIterable, aclose, aiterate
from .errors import ProtocolError
from .types import Response, StreamEvent, StreamEventDelta, StreamEventEnd, StreamEventStart

__all__ = ["StreamAssembler", "aassemble", "assemble", "split_response"]


class StreamAssembler:
    """Check a stream against the grammar, event by event, and build its Response.

    ``add(event)`` raises ``ProtocolError`` naming the event's index (counted from 0) and the
    rule it breaks; a rejected event changes nothing, so the caller may report it and stop.
    ``response()`` returns the Response once the End has been added.

    With ``keep_output=False`` (for a checker that follows long or many streams) the output of
    the deltas is kept as two running SHA-256 digests instead of the text and the token ids:
    memory stays constant however long the stream, the verdicts are the same (the End is
    compared by digest), and ``output_text`` and ``output_tokens`` are not available.
    """

    def __init__(self, *, keep_output: bool = True) -> None:
        self._count = 0
        self._start: StreamEventStart | None = None
        self._end: StreamEventEnd | None = None
        self._engine_id: str | None = None
        self._chunks: list[str] = []
        self._tokens: list[int] = []
        self._digest = None if keep_output else _OutputDigest()

    @property
    def started(self) -> bool:
        """True once the Start event has been added."""
        return self._start is not None

    @property
    def finished(self) -> bool:
        """True once the End event has been added."""
        return self._end is not None

    @property
    def start(self) -> StreamEventStart | None:
        """The Start event (None before it was added)."""
        return self._start

    @property
    def engine_id(self) -> str | None:
        """The engine_id the stream's events give (None while none gave one)."""
        return self._engine_id

    @property
    def output_text(self) -> str:
        """The text of the deltas added so far (the whole output once the stream ended)."""
        self._check_kept("output_text")
        return "".join(self._chunks)

    @property
    def output_tokens(self) -> list[int]:
        """The token ids of the deltas added so far, in order (a copy)."""
        self._check_kept("output_tokens")
        return list(self._tokens)

    def _check_kept(self, name: str) -> None:
        if self._digest is not None:
            raise ValueError(f"{name} is not kept by a StreamAssembler(keep_output=False)")

    @property
    def prompt_tokens(self) -> int | None:
        """The Start event's ``prompt_tokens`` (None before Start, or when it did not say)."""
        return None if self._start is None else self._start.prompt_tokens

    def add(self, event: StreamEvent) -> None:
        """Add the next event of the stream; ``ProtocolError`` if it breaks the grammar."""
        index = self._count
        if isinstance(event, StreamEventDelta):
            self._engine_id = self._check_identity(event, index, "a delta")
            if self._digest is None:
                self._chunks.append(event.chunk)
                self._tokens.extend(event.chunk_tokens)
            else:
                self._digest.add(event.chunk, event.chunk_tokens)
        elif isinstance(event, StreamEventStart):
            if self._start is not None:
                raise _violation(index, "a stream has exactly one start event", "event")
            self._start = event
            self._engine_id = event.engine_id
        elif isinstance(event, StreamEventEnd):
            engine_id = self._check_identity(event, index, "the end event")
            if self._digest is None:
                same_text = event.output_text == "".join(self._chunks)
                same_tokens = event.output_tokens == self._tokens
            else:
                same_text, same_tokens = self._digest.matches(
                    event.output_text, event.output_tokens
                )
            if not same_text:
                raise _violation(
                    index, "output_text must equal the concatenation of the chunks", "output_text"
                )
            if not same_tokens:
                raise _violation(
                    index,
                    "output_tokens must equal the concatenation of the chunk_tokens",
                    "output_tokens",
                )
            self._end, self._engine_id = event, engine_id
        else:
            raise TypeError(
                f"StreamAssembler.add() takes a stream event, not {type(event).__name__}"
            )
        self._count += 1

    def _check_identity(self, event: StreamEvent, index: int, what: str) -> str | None:
        """Raise if ``event`` does not belong to this stream; return the stream's engine_id
        with the event added (recorded by the caller once every check passed)."""
        if self._start is None:
            raise _violation(index, f"{what} must come after the start event", "event")
        if self._end is not None:
            raise _violation(index, "no event may follow the end event", "event")
        if event.request_id != self._start.request_id:
            raise _violation(index, "request_id must be the same in every event", "request_id")
        if event.trace_id != self._start.trace_id:
            raise _violation(index, "trace_id must be the same in every event", "trace_id")
        if event.engine_id is None or self._engine_id is None:
            return self._engine_id or event.engine_id
        if event.engine_id != self._engine_id:
            raise _violation(index, "engine_id must be the same in every event", "engine_id")
        return self._engine_id

    def response(self) -> Response:
        """The Response the stream describes; ``ProtocolError`` if no end event came yet."""
        end = self._end
        if end is None:
            raise _violation(self._count, "the stream has no end event yet", "event")
        return Response(
            request_id=end.request_id,
            trace_id=end.trace_id,
            output_text=end.output_text,
            output_tokens=end.output_tokens,
            finish_reason=end.finish_reason,
            metrics=end.metrics,
            error=end.error,
        )


class _OutputDigest:
    """The output of the deltas as two running SHA-256 digests: the text's UTF-8 bytes, and
    the token ids each written in decimal and followed by a comma (so that the digest of the
    concatenation does not depend on how the deltas split it)."""

    __slots__ = ("_text", "_tokens")

    def __init__(self) -> None:
        import hashlib  # noqa: PLC0415 - only a checker of many streams needs it

        self._text = hashlib.sha256()
        self._tokens = hashlib.sha256()

    def add(self, chunk: str, tokens: Sequence[int]) -> None:
        self._text.update(chunk.encode("utf-8", "surrogatepass"))
        self._tokens.update(_token_bytes(tokens))

    def matches(self, text: str, tokens: Sequence[int]) -> tuple[bool, bool]:
        """Whether ``text`` and ``tokens`` are the output added so far (each by digest)."""
        import hashlib  # noqa: PLC0415

        text_digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        tokens_digest = hashlib.sha256(_token_bytes(tokens)).digest()
        return text_digest == self._text.digest(), tokens_digest == self._tokens.digest()


def _token_bytes(tokens: Sequence[int]) -> bytes:
    return "".join([f"{token}," for token in tokens]).encode("ascii")


def _violation(index: int, rule: str, param: str) -> ProtocolError:
    return ProtocolError.invalid(f"event {index}: {rule}", param=param)


def assemble(events: Iterable[StreamEvent]) -> Response:
    """Assemble a whole stream into its Response (``StreamAssembler`` over ``events``)."""
    assembler = StreamAssembler()
    for event in events:
        assembler.add(event)
    return assembler.response()


def split_response(
    response: Response,
    *,
    tokens_per_delta: int = 1,
    engine_id: str | None = None,
    prompt_tokens: int | None = None,
) -> list[StreamEvent]:
    """A stream that ``StreamAssembler`` turns back into ``response``.

    The output tokens are cut into deltas of ``tokens_per_delta`` (the last may be shorter);
    the text is cut into as many chunks of near-equal length (code points), since text and
    tokens cannot be aligned without a tokenizer. A response without tokens but with text gets
    one delta; an empty response gets none.
    """
    if type(tokens_per_delta) is not int or tokens_per_delta < 1:
        raise ValueError("tokens_per_delta must be an integer >= 1")
    request_id, trace_id = response.request_id, response.trace_id
    tokens, text = response.output_tokens, response.output_text
    count = math.ceil(len(tokens) / tokens_per_delta) or (1 if text else 0)
    events: list[StreamEvent] = [
        StreamEventStart(
            request_id=request_id,
            trace_id=trace_id,
            prompt_tokens=prompt_tokens,
            engine_id=engine_id,
        )
    ]
    events.extend(
        StreamEventDelta(
            request_id=request_id,
            trace_id=trace_id,
            chunk=text[len(text) * index // count : len(text) * (index + 1) // count],
            chunk_tokens=tokens[index * tokens_per_delta : (index + 1) * tokens_per_delta],
            engine_id=engine_id,
        )
        for index in range(count)
    )
    events.append(
        StreamEventEnd(
            request_id=request_id,
            trace_id=trace_id,
            output_text=text,
            output_tokens=tokens,
            finish_reason=response.finish_reason,
            metrics=response.metrics,
            error=response.error,
            engine_id=engine_id,
        )
    )
    return events


async def aassemble(events: AnyIterable[StreamEvent]) -> Response:
    """``assemble`` for a sync or an async iterable of events; the iterator is closed after."""
    assembler = StreamAssembler()
    source = aiterate(events)
    try:
        async for event in source:
            assembler.add(event)
    finally:
        await aclose(source)
    return assembler.response()
