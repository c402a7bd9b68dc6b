"""OpenAI-compatible messages, for a gateway that speaks the OpenAI API outside.

Shapes follow the OpenAI API; the contract's general rules (unknown fields rejected, strict
scalars, finite floats, identifier lengths) apply to them as to every other message.

OpenAI writes some keys even when they are null (a choice's ``finish_reason`` and
``logprobs``, a message's ``refusal``, a chunk's ``usage`` when the client asked for usage).
``finish_reason`` is always written; ``logprobs``, ``refusal`` and ``usage`` are written as
null when they were set to None explicitly (as the OpenAI adapters do), and left out when
they were never set, so that a message built without them reads as it did in 0.1.0.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    model_serializer,
    model_validator,
)
from typing_extensions import Self

from ._base import ProtocolModel, rule_error
from ._fields import (
    ExactFloat,
    Identifier,
    NonNegativeInt,
    OrderedList,
    PositiveCount,
    StrictFloat,
    Text,
    TokenCount,
    UnixSeconds,
)

__all__ = [
    "ChatCompletionChoice",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionStreamChoice",
    "ChatCompletionStreamDelta",
    "ChatCompletionStreamResponse",
    "ChatCompletionUsage",
    "ChatFinishReason",
    "ChatMessage",
    "ChatRole",
    "EmbeddingData",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "ModelInfo",
    "ModelListResponse",
    "OpenAIError",
    "OpenAIErrorResponse",
]

ChatRole: TypeAlias = Literal["system", "user", "assistant", "function", "tool"]
"""Author of a chat message."""

ChatFinishReason: TypeAlias = Literal["stop", "length", "content_filter", "tool_calls"]
"""Why an OpenAI choice ended."""


def _now() -> int:
    return int(time.time())


def _with_nulls(
    data: dict[str, Any], info: SerializationInfo, names: tuple[str, ...] = ("finish_reason",)
) -> dict[str, Any]:
    """``data`` with the fields ``names`` written as null where ``exclude_none`` dropped them
    (the OpenAI API writes these keys even when they are null)."""
    if info.exclude_none:
        for name in names:
            if name not in data and not (info.exclude is not None and name in info.exclude):
                data[name] = None
    return data


def _with_set_nulls(
    model: ProtocolModel, data: dict[str, Any], info: SerializationInfo, names: tuple[str, ...]
) -> dict[str, Any]:
    """``data`` with those of the fields ``names`` that were set to None explicitly written as
    null where ``exclude_none`` dropped them (never-set fields stay out)."""
    if info.exclude_none:
        chosen = [name for name in names if name in model.model_fields_set]
        for name in chosen:
            if name not in data and not (info.exclude is not None and name in info.exclude):
                data[name] = None
    return data


class ChatMessage(ProtocolModel):
    """One message of a chat conversation."""

    role: ChatRole
    """Author of the message: system, user, assistant, function or tool."""
    content: Text
    """Text of the message."""
    name: Text | None = None
    """Optional name of the author, to tell participants of the same role apart."""
    refusal: Text | None = None
    """The assistant's refusal, when it refused to answer; null otherwise."""

    @model_serializer(mode="wrap")
    def _keep_set_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # OpenAI writes "refusal": null in every answer's message.
        return _with_set_nulls(self, handler(self), info, ("refusal",))


class ChatCompletionRequest(ProtocolModel):
    """Body of ``POST /v1/chat/completions``."""

    model: Identifier
    """Name of the model to run."""
    messages: Annotated[list[ChatMessage], Field(min_length=1), OrderedList]
    """The conversation so far; at least one message."""
    temperature: Annotated[float, Strict(), Field(ge=0, le=2), ExactFloat()] = 1.0
    """Sampling temperature, unitless, in [0, 2]; 0 means greedy decoding."""
    max_tokens: PositiveCount | None = None
    """Most output tokens to generate, in tokens; > 0."""
    stream: Annotated[bool, Strict()] = False
    """True to receive ``chat.completion.chunk`` server-sent events."""
    top_p: Annotated[float, Strict(), Field(gt=0, le=1), ExactFloat()] | None = None
    """Nucleus sampling probability mass, in (0, 1]."""
    n: Annotated[int, Strict(), Field(ge=1, le=128)] = 1
    """Number of choices to generate, 1 to 128."""
    stop: Text | Annotated[list[Text], OrderedList] | None = None
    """A stop string or a list of them; generation ends before the first one produced."""
    presence_penalty: Annotated[float, Strict(), Field(ge=-2, le=2), ExactFloat()] = 0.0
    """Penalty for tokens already present, unitless, in [-2, 2]."""
    frequency_penalty: Annotated[float, Strict(), Field(ge=-2, le=2), ExactFloat()] = 0.0
    """Penalty proportional to token frequency so far, unitless, in [-2, 2]."""
    user: Text | None = None
    """End-user identifier given by the client, for abuse monitoring."""
    session_id: Text | None = None
    """Session identifier given by the client (a sageLLM extension)."""
    trace_id: Identifier | None = None
    """Trace identifier for end-to-end correlation (a sageLLM extension)."""


class ChatCompletionUsage(ProtocolModel):
    """Token accounting of a chat completion.

    Rule: ``total_tokens == prompt_tokens + completion_tokens``.
    """

    prompt_tokens: TokenCount
    """Tokens in the prompt, in tokens."""
    completion_tokens: TokenCount
    """Tokens generated, in tokens."""
    total_tokens: TokenCount
    """Sum of prompt_tokens and completion_tokens, in tokens."""

    @model_validator(mode="after")
    def _check_total(self) -> Self:
        if self.total_tokens != self.prompt_tokens + self.completion_tokens:
            raise rule_error(
                "usage_total",
                "must equal prompt_tokens + completion_tokens",
                "total_tokens",
            )
        return self


class ChatCompletionChoice(ProtocolModel):
    """One generated answer of a chat completion."""

    index: NonNegativeInt
    """Position of this choice, from 0."""
    message: ChatMessage
    """The generated message."""
    finish_reason: ChatFinishReason | None
    """Why generation ended: stop, length, content_filter or tool_calls (null if unknown)."""
    logprobs: None = None
    """Log probabilities of the output: always null, none are returned."""

    @model_serializer(mode="wrap")
    def _keep_required_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # finish_reason is required even when null: exclude_none must not drop it.
        data = _with_nulls(handler(self), info)
        return _with_set_nulls(self, data, info, ("logprobs",))


class ChatCompletionResponse(ProtocolModel):
    """Body of a non-streamed chat completion."""

    id: Identifier
    """Identifier of the completion."""
    object: Literal["chat.completion"] = "chat.completion"
    """Object tag: always ``chat.completion``."""
    created: UnixSeconds = Field(default_factory=_now)
    """Creation time, in Unix seconds; defaults to now."""
    model: Identifier
    """Name of the model that answered."""
    choices: Annotated[list[ChatCompletionChoice], OrderedList]
    """The generated answers."""
    usage: ChatCompletionUsage
    """Token accounting."""
    trace_id: Identifier | None = None
    """Trace identifier for end-to-end correlation (a sageLLM extension)."""
    system_fingerprint: Text | None = None
    """The backend configuration that answered, as the server names it."""
    service_tier: Text | None = None
    """The processing tier that served the request, e.g. ``default``."""


class ChatCompletionStreamDelta(ProtocolModel):
    """The increment carried by one streamed chunk."""

    role: Text | None = None
    """Author of the message, sent in the first chunk only."""
    content: Text | None = None
    """Incremental text."""
    refusal: Text | None = None
    """Incremental refusal text; OpenAI writes null in the first chunk."""

    @model_serializer(mode="wrap")
    def _keep_set_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        return _with_set_nulls(self, handler(self), info, ("refusal",))


class ChatCompletionStreamChoice(ProtocolModel):
    """One choice's increment in a streamed chunk."""

    index: Annotated[int, Strict()]
    """Position of the choice this increment belongs to."""
    delta: ChatCompletionStreamDelta
    """The increment."""
    finish_reason: ChatFinishReason | None = None
    """Why generation ended, in the choice's last chunk; otherwise null."""
    logprobs: None = None
    """Log probabilities of the increment: always null, none are returned."""

    @model_serializer(mode="wrap")
    def _keep_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # OpenAI writes "finish_reason": null in every chunk before the last; so do we.
        data = _with_nulls(handler(self), info)
        return _with_set_nulls(self, data, info, ("logprobs",))


class ChatCompletionStreamResponse(ProtocolModel):
    """One ``chat.completion.chunk`` server-sent event."""

    id: Identifier
    """Identifier of the completion; the same in every chunk of a stream."""
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    """Object tag: always ``chat.completion.chunk``."""
    created: UnixSeconds = Field(default_factory=_now)
    """Creation time, in Unix seconds; defaults to now."""
    model: Identifier
    """Name of the model that answers."""
    choices: Annotated[list[ChatCompletionStreamChoice], OrderedList]
    """Increments, one per choice; empty in the usage chunk that ends a stream."""
    system_fingerprint: Text | None = None
    """The backend configuration that answers, as the server names it."""
    service_tier: Text | None = None
    """The processing tier that serves the request, e.g. ``default``."""
    usage: ChatCompletionUsage | None = None
    """Token accounting, in the last chunk when the client asked for it with
    ``stream_options.include_usage``; null in the chunks before it."""

    @model_serializer(mode="wrap")
    def _keep_set_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # With include_usage, OpenAI writes "usage": null in every chunk but the last.
        return _with_set_nulls(self, handler(self), info, ("usage",))


class EmbeddingRequest(ProtocolModel):
    """Body of ``POST /v1/embeddings``."""

    input: Text | Annotated[list[Text], OrderedList]
    """Text to embed, or a list of texts."""
    model: Identifier
    """Name of the embedding model."""
    encoding_format: Literal["float", "base64"] = "float"
    """Encoding the client asks for: ``float`` or ``base64``."""
    dimensions: PositiveCount | None = None
    """Number of dimensions of the output vectors; > 0."""
    user: Text | None = None
    """End-user identifier given by the client."""


class EmbeddingData(ProtocolModel):
    """One embedding vector."""

    object: Literal["embedding"] = "embedding"
    """Object tag: always ``embedding``."""
    embedding: Annotated[list[StrictFloat], OrderedList]
    """The vector, finite floats."""
    index: Annotated[int, Strict()]
    """Position of the input this vector embeds."""


class EmbeddingUsage(ProtocolModel):
    """Token accounting of an embeddings call."""

    prompt_tokens: TokenCount
    """Tokens in the input, in tokens."""
    total_tokens: TokenCount
    """Tokens billed in total, in tokens."""


class EmbeddingResponse(ProtocolModel):
    """Body of an embeddings response."""

    object: Literal["list"] = "list"
    """Object tag: always ``list``."""
    data: Annotated[list[EmbeddingData], OrderedList]
    """One vector per input."""
    model: Identifier
    """Name of the embedding model."""
    usage: EmbeddingUsage
    """Token accounting."""


class ModelInfo(ProtocolModel):
    """One entry of the model list."""

    id: Identifier
    """Name of the model."""
    object: Literal["model"] = "model"
    """Object tag: always ``model``."""
    created: UnixSeconds = Field(default_factory=_now)
    """Creation time, in Unix seconds; defaults to now."""
    owned_by: Text = "sagellm"
    """Owner of the model."""


class ModelListResponse(ProtocolModel):
    """Body of ``GET /v1/models``."""

    object: Literal["list"] = "list"
    """Object tag: always ``list``."""
    data: Annotated[list[ModelInfo], OrderedList]
    """The models served."""


class OpenAIError(ProtocolModel):
    """The error object of an OpenAI error body."""

    message: Text
    """Human-readable explanation."""
    type: Text
    """Error category, e.g. ``invalid_request_error``."""
    param: Text | None = None
    """Path of the offending input field."""
    code: Text | None = None
    """Machine-readable error code."""

    @model_serializer(mode="wrap")
    def _keep_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # OpenAI writes "param" and "code" in every error, null when there is none.
        return _with_nulls(handler(self), info, ("param", "code"))


class OpenAIErrorResponse(ProtocolModel):
    """An OpenAI error body: ``{"error": {...}}``."""

    error: OpenAIError
    """The error."""
