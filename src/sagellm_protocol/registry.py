"""The registry of public message types: one list that the schema bundle, the command line,
the testing kit and the tests all read.

Order follows SPEC.md: core messages, stream events, errors, observability, KV hooks, then the
OpenAI-compatible messages.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

from ._base import ProtocolModel
from .errors import Error
from .kv_hooks import KVAllocateParams, KVHandle, KVMigrateParams
from .openai_types import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamChoice,
    ChatCompletionStreamDelta,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatMessage,
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    ModelInfo,
    ModelListResponse,
    OpenAIError,
    OpenAIErrorResponse,
)
from .summary import MetricsSummary
from .timestamps import Timestamps
from .types import Metrics, Request, Response, StreamEventDelta, StreamEventEnd, StreamEventStart

__all__ = ["MESSAGE_TYPES", "STREAM_EVENT_TYPES", "message_type"]

MESSAGE_TYPES: Mapping[str, type[ProtocolModel]] = types.MappingProxyType(
    {
        model.__name__: model
        for model in (
            Request,
            Response,
            Metrics,
            StreamEventStart,
            StreamEventDelta,
            StreamEventEnd,
            Error,
            Timestamps,
            KVAllocateParams,
            KVHandle,
            KVMigrateParams,
            ChatMessage,
            ChatCompletionRequest,
            ChatCompletionResponse,
            ChatCompletionChoice,
            ChatCompletionUsage,
            ChatCompletionStreamResponse,
            ChatCompletionStreamChoice,
            ChatCompletionStreamDelta,
            EmbeddingRequest,
            EmbeddingResponse,
            EmbeddingData,
            EmbeddingUsage,
            ModelInfo,
            ModelListResponse,
            OpenAIError,
            OpenAIErrorResponse,
            MetricsSummary,
        )
    }
)
"""Every public message type by class name, in SPEC.md order."""

STREAM_EVENT_TYPES: Mapping[str, type[ProtocolModel]] = types.MappingProxyType(
    {"start": StreamEventStart, "delta": StreamEventDelta, "end": StreamEventEnd}
)
"""Stream event classes by their ``event`` tag."""


def message_type(name: str) -> type[ProtocolModel]:
    """The public message type called ``name``; ``KeyError`` listing the known names if none."""
    try:
        return MESSAGE_TYPES[name]
    except KeyError:
        known = ", ".join(MESSAGE_TYPES)
        raise KeyError(f"unknown message type {name!r}; known types: {known}") from None
