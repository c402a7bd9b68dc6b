"""The engine interface that the serving layer (``sagellm_protocol.asgi``) drives.

An engine lists the models it serves and streams a ``Request`` as an async iterator of
stream events (start, deltas, end); it may also compute embeddings. ``Engine`` and
``EmbeddingEngine`` are ``typing.Protocol`` classes: any object with these methods is one, no
base class needed. ``sagellm_protocol.testing.MockEngine`` is one::

    class MyEngine:
        def models(self) -> list[ModelInfo]:
            return [ModelInfo(id="my-model")]

        async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
            yield StreamEventStart(request_id=request.request_id, trace_id=request.trace_id)
            ...  # the deltas, then one StreamEventEnd

A failure the engine can name ends the stream with an end event whose ``finish_reason`` is
``"error"`` (or, before its start event, raises ``ProtocolError``); any other exception is
reported to the client as ``unavailable`` without its text. When the client goes away, the
server closes the iterator (``aclose``), so cleanup belongs in a ``finally`` block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from .openai_types import EmbeddingRequest, EmbeddingResponse, ModelInfo
from .types import Request, StreamEvent

__all__ = ["EmbeddingEngine", "Engine"]


@runtime_checkable
class Engine(Protocol):
    """What a server needs from an inference engine."""

    def models(self) -> Sequence[ModelInfo]:
        """The models served; a request naming another model is refused (404)."""
        ...

    def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """The stream of events for ``request``: one start, the deltas, one end.

        The same events whether ``request.stream`` is true or not: a server assembles them
        for a non-streamed answer.
        """
        ...


@runtime_checkable
class EmbeddingEngine(Engine, Protocol):
    """An engine that also computes embeddings (``POST /v1/embeddings``)."""

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """The embeddings for ``request``; raise ``ProtocolError`` for what it cannot do."""
        ...
