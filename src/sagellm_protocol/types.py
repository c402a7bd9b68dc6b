"""Core messages: Request, Response, Metrics and the stream events."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field, Strict, model_validator
from typing_extensions import Self

from ._base import ProtocolModel, rule_error
from ._fields import (
    ExactFloat,
    Flag,
    Identifier,
    Megabytes,
    Metadata,
    Millis,
    NonNegativeInt,
    OrderedList,
    PositiveCount,
    Probability,
    Text,
    TokenCount,
    TokenIds,
    TokensPerSecond,
)
from .errors import Error
from .timestamps import Timestamps

__all__ = [
    "DeltaEvent",
    "EndEvent",
    "FinishReason",
    "Metrics",
    "Request",
    "Response",
    "StartEvent",
    "StreamEvent",
    "StreamEventDelta",
    "StreamEventEnd",
    "StreamEventStart",
]

FinishReason: TypeAlias = Literal["stop", "length", "error"]
"""Why generation ended: a stop condition, the token limit, or an error."""


class Request(ProtocolModel):
    """One inference request, as the engine receives it."""

    request_id: Identifier
    """Identifier of this request, unique per engine; 1 to 256 characters."""
    trace_id: Identifier
    """Identifier of the trace this request belongs to (end-to-end correlation)."""
    model: Identifier
    """Name of the model to run."""
    prompt: Text
    """Input text; may be empty."""
    max_tokens: PositiveCount
    """Most output tokens to generate, in tokens; > 0."""
    stream: Flag
    """True to receive stream events, false for one Response."""
    temperature: Annotated[float, Strict(), Field(gt=0, le=2), ExactFloat()] | None = None
    """Sampling temperature, unitless, in (0, 2]; None means the engine's default."""
    top_p: Annotated[float, Strict(), Field(gt=0, le=1), ExactFloat()] | None = None
    """Nucleus sampling probability mass, in (0, 1]; None means the engine's default."""
    kv_budget_tokens: PositiveCount | None = None
    """Most KV-cache entries this request may hold, in tokens; > 0."""
    metadata: Metadata | None = None
    """Data passed through to the engine: JSON values only, nested at most 32 levels deep."""


class Metrics(ProtocolModel):
    """Performance figures of one request (definitions: docs/metrics.md).

    Rule: at least one of ``tbt_ms`` and ``tpot_ms`` is given (0.0 counts as given; a
    response of one token or none reports ``tpot_ms = 0.0``).
    """

    ttft_ms: Millis
    """Time to first token: first output token time minus arrival time, in ms."""
    tbt_ms: Millis | None = None
    """Time between tokens: mean gap between successive output tokens, in ms."""
    tpot_ms: Millis | None = None
    """Time per output token after the first: (E2E - TTFT) / (n_output - 1), in ms."""
    throughput_tps: TokensPerSecond
    """Output tokens per second of end-to-end time, in tokens/s."""
    peak_mem_mb: Megabytes
    """Peak device memory used while serving the request, in MB."""
    error_rate: Probability
    """Fraction of failed work, in [0, 1]."""
    kv_used_tokens: TokenCount | None = None
    """KV-cache entries used, in tokens."""
    kv_used_bytes: NonNegativeInt | None = None
    """KV-cache memory used, in bytes."""
    prefix_hit_rate: Probability | None = None
    """Fraction of prompt tokens served from the prefix cache, in [0, 1]."""
    evict_count: NonNegativeInt | None = None
    """Number of KV-cache evictions while serving the request (a count)."""
    evict_ms: Millis | None = None
    """Time spent on KV-cache evictions, in ms."""
    spec_accept_rate: Probability | None = None
    """Fraction of speculative tokens accepted, in [0, 1]."""
    itl_list: Annotated[list[Millis], OrderedList] | None = None
    """Inter-token latencies: the gaps between successive output tokens, in ms, each >= 0."""
    timestamps: Timestamps | None = None
    """Absolute times of the request's life, in seconds on the producer's clock."""
    component_trace: Annotated[list[Text], OrderedList] | None = None
    """Components that served the request, in order, e.g. ``sagellm-core``."""

    @model_validator(mode="after")
    def _check_latency_given(self) -> Self:
        if self.tbt_ms is None and self.tpot_ms is None:
            raise rule_error(
                "metrics_latency_missing",
                "at least one of tbt_ms and tpot_ms must be given (0.0 counts as given)",
                "tbt_ms",
            )
        return self


def _check_finish_reason_matches_error(finish_reason: FinishReason, error: Error | None) -> None:
    if (finish_reason == "error") != (error is not None):
        raise rule_error(
            "finish_reason_error",
            "must be 'error' exactly when error is given (and error must be given then)",
            "finish_reason",
        )


class Response(ProtocolModel):
    """A finished, non-streamed result.

    Rule: ``finish_reason == "error"`` if and only if ``error`` is given.
    """

    request_id: Identifier
    """Identifier of the request this answers."""
    trace_id: Identifier
    """Identifier of the trace the request belongs to."""
    output_text: Text
    """The generated text; may be empty."""
    output_tokens: TokenIds
    """The generated token ids, in order; may be empty."""
    finish_reason: FinishReason
    """Why generation ended: ``stop``, ``length`` or ``error``."""
    metrics: Metrics
    """Performance figures of the request."""
    error: Error | None = None
    """The failure, given exactly when finish_reason is ``error``."""

    @model_validator(mode="after")
    def _check_error(self) -> Self:
        _check_finish_reason_matches_error(self.finish_reason, self.error)
        return self


class StreamEventStart(ProtocolModel):
    """First event of a stream: the request was accepted and generation begins."""

    event: Literal["start"] = "start"
    """Event tag: always ``start``."""
    request_id: Identifier
    """Identifier of the request this stream answers."""
    trace_id: Identifier
    """Identifier of the trace the request belongs to."""
    prompt_tokens: TokenCount | None = None
    """Number of prompt tokens, in tokens."""
    engine_id: Identifier | None = None
    """Identifier of the engine instance that produced the event."""


class StreamEventDelta(ProtocolModel):
    """One increment of generated output (zero or more per stream)."""

    event: Literal["delta"] = "delta"
    """Event tag: always ``delta``."""
    request_id: Identifier
    """Identifier of the request this stream answers."""
    trace_id: Identifier
    """Identifier of the trace the request belongs to."""
    chunk: Text
    """Incremental text generated since the previous event."""
    chunk_tokens: TokenIds
    """Incremental token ids generated since the previous event."""
    engine_id: Identifier | None = None
    """Identifier of the engine instance that produced the event."""


class StreamEventEnd(ProtocolModel):
    """Last event of a stream: the full output, why it ended, and the metrics.

    Rule: ``finish_reason == "error"`` if and only if ``error`` is given. ``output_text`` is
    the concatenation of the chunks and ``output_tokens`` of the chunk_tokens.
    """

    event: Literal["end"] = "end"
    """Event tag: always ``end``."""
    request_id: Identifier
    """Identifier of the request this stream answers."""
    trace_id: Identifier
    """Identifier of the trace the request belongs to."""
    output_text: Text
    """The full generated text (all chunks concatenated)."""
    output_tokens: TokenIds
    """All generated token ids (all chunk_tokens concatenated)."""
    finish_reason: FinishReason
    """Why generation ended: ``stop``, ``length`` or ``error``."""
    metrics: Metrics
    """Performance figures of the request."""
    error: Error | None = None
    """The failure, given exactly when finish_reason is ``error``."""
    engine_id: Identifier | None = None
    """Identifier of the engine instance that produced the event."""

    @model_validator(mode="after")
    def _check_error(self) -> Self:
        _check_finish_reason_matches_error(self.finish_reason, self.error)
        return self


StreamEvent: TypeAlias = Annotated[
    StreamEventStart | StreamEventDelta | StreamEventEnd, Field(discriminator="event")
]
"""Any stream event, told apart by its ``event`` tag."""

StartEvent = StreamEventStart
DeltaEvent = StreamEventDelta
EndEvent = StreamEventEnd
