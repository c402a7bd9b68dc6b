"""The registry of public message types: the one list that the codec, SSE, the error
translator, the schema bundle, the testing kit, the command line and the tests all read.

A message type is a model class (``MESSAGE_TYPES``) or a tagged union of model classes
(``UNIONS``: today ``StreamEvent``, told apart by its ``event`` tag). Order follows the
protocol document: core messages, stream events, errors, observability, KV hooks, the
OpenAI-compatible messages, then the metrics summary.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._base import ProtocolModel
from ._pydantic import names_tagged_union
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
from .types import (
    Metrics,
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = [
    "MESSAGE_TYPES",
    "STREAM_EVENT",
    "STREAM_EVENT_TYPES",
    "TYPE_NAMES",
    "UNIONS",
    "TaggedUnion",
    "message_type",
    "tagged_union",
    "validated_type",
]


@dataclass(frozen=True)
class TaggedUnion:
    """A public union of message classes, told apart by the value of one tag field."""

    name: str
    """The union's name, e.g. ``StreamEvent`` (also the name of its schema file)."""
    alias: Any
    """The type alias itself (an ``Annotated`` union), as passed to ``decode``."""
    tag: str
    """The field whose value names the member, e.g. ``event``."""
    members: Mapping[str, type[ProtocolModel]]
    """The member classes by tag value, in declaration order."""


def _tagged_union(name: str, alias: Any, tag: str) -> TaggedUnion:
    annotated_union, *_ = typing.get_args(alias)
    members = {model.model_fields[tag].default: model for model in typing.get_args(annotated_union)}
    return TaggedUnion(name, alias, tag, types.MappingProxyType(members))


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
"""Every public message class by class name."""

STREAM_EVENT = "StreamEvent"
"""Name of the stream event union (``types.StreamEvent``)."""

UNIONS: Mapping[str, TaggedUnion] = types.MappingProxyType(
    {STREAM_EVENT: _tagged_union(STREAM_EVENT, StreamEvent, "event")}
)
"""Every public tagged union by name."""

STREAM_EVENT_TYPES: Mapping[str, type[ProtocolModel]] = UNIONS[STREAM_EVENT].members
"""Stream event classes by their ``event`` tag (``start``, ``delta``, ``end``)."""

TYPE_NAMES: tuple[str, ...] = (*MESSAGE_TYPES, *UNIONS)
"""Every public type name: the message classes, then the unions (the schema files' names)."""


def message_type(name: str) -> Any:
    """The public message class or union called ``name``; ``KeyError`` listing the known
    names if there is none."""
    found = MESSAGE_TYPES.get(name)
    if found is not None:
        return found
    union = UNIONS.get(name)
    if union is not None:
        return union.alias
    raise KeyError(f"unknown message type {name!r}; known types: {', '.join(TYPE_NAMES)}")


def tagged_union(message_type: Any) -> TaggedUnion | None:
    """The registered union whose alias is ``message_type``, or None (for a class, say)."""
    for union in UNIONS.values():
        if union.alias is message_type:
            return union
    return None


def validated_type(title: str) -> Any:
    """The public type that a pydantic ``ValidationError.title`` names (a class name, or the
    title pydantic gives a registered union's errors), or None."""
    found = MESSAGE_TYPES.get(title)
    if found is not None:
        return found
    for union in UNIONS.values():
        if names_tagged_union(title, tuple(model.__name__ for model in union.members.values())):
            return union.alias
    return None
