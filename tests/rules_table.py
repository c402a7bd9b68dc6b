"""Every rule of SPEC.md as data: one row per rule, with values on both sides of its boundary.

``test_rules.py`` checks every row against the models; ``test_readme.py`` checks that the
README's rule table lists exactly these rows; a meta-test checks that every constraint
declared on a model field has a row here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from sagellm_protocol import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatMessage,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    Error,
    KVAllocateParams,
    KVHandle,
    KVMigrateParams,
    Metrics,
    ModelInfo,
    Request,
    Response,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    Timestamps,
)

BELOW_ZERO = math.nextafter(0.0, -1.0)
ABOVE_ONE = math.nextafter(1.0, 2.0)
ABOVE_TWO = math.nextafter(2.0, 3.0)
BELOW_MINUS_TWO = math.nextafter(-2.0, -3.0)
SMALLEST_POSITIVE = math.nextafter(0.0, 1.0)


@dataclass(frozen=True)
class Case:
    """Overrides applied to the type's example, and for a rejected case the expected param."""

    overrides: dict[str, Any]
    param: str | None = None


@dataclass(frozen=True)
class Rule:
    """One rule of the contract: where it applies, what it says, and its boundary cases."""

    model: type[BaseModel]
    fields: tuple[str, ...]
    text: str
    accepted: tuple[Case, ...] = field(default=())
    rejected: tuple[Case, ...] = field(default=())

    @property
    def row(self) -> str:
        """The README table row for this rule."""
        return f"| {self.model.__name__} | {', '.join(self.fields)} | {self.text} |"


def _scalar(
    model: type[BaseModel],
    fields: Sequence[str],
    text: str,
    accepted: Sequence[Any],
    rejected: Sequence[Any],
    *,
    item: bool = False,
) -> Rule:
    """A per-field rule: each value is tried on each field (inside a list when ``item``)."""

    def wrap(value: Any) -> Any:
        return [value] if item else value

    suffix = "[0]" if item else ""
    return Rule(
        model,
        tuple(fields),
        text,
        accepted=tuple(Case({name: wrap(v)}) for name in fields for v in accepted),
        rejected=tuple(
            Case({name: wrap(v)}, f"{name}{suffix}") for name in fields for v in rejected
        ),
    )


_ID_OK = ("x", "é" * 256)
_ID_BAD = ("", "x" * 257)
_ID_TEXT = "identifier: 1 to 256 characters"


def _ids(model: type[BaseModel], *fields: str) -> Rule:
    return _scalar(model, fields, _ID_TEXT, _ID_OK, _ID_BAD)


def _non_negative(model: type[BaseModel], *fields: str, floats: bool = False) -> Rule:
    if floats:
        return _scalar(model, fields, ">= 0", (0, 0.0, 1e9), (BELOW_ZERO, -1))
    return _scalar(model, fields, "integer >= 0", (0, 1, 2**40), (-1,))


def _positive(model: type[BaseModel], *fields: str) -> Rule:
    return _scalar(model, fields, "integer > 0", (1, 2**31), (0, -1))


def _ratio(model: type[BaseModel], *fields: str) -> Rule:
    return _scalar(model, fields, "in [0, 1]", (0, 0.0, 0.5, 1, 1.0), (BELOW_ZERO, ABOVE_ONE))


def _token_ids(model: type[BaseModel], *fields: str) -> Rule:
    return _scalar(model, fields, "token ids: integers >= 0", (0, 2**31), (-1,), item=True)


def _timestamps(**values: float) -> dict[str, Any]:
    base = {"queued_at": 1.0, "scheduled_at": 2.0, "executed_at": 3.0, "completed_at": 4.0}
    base.update(values)
    return base


_ERROR = {"code": "unavailable", "message": "backend unavailable"}


def _finish_reason_rule(model: type[BaseModel]) -> Rule:
    return Rule(
        model,
        ("finish_reason", "error"),
        "finish_reason is 'error' if and only if error is given",
        accepted=(
            Case({"finish_reason": "stop", "error": None}),
            Case({"finish_reason": "length"}),
            Case({"finish_reason": "error", "error": _ERROR}),
        ),
        rejected=(
            Case({"finish_reason": "error", "error": None}, "finish_reason"),
            Case({"finish_reason": "stop", "error": _ERROR}, "finish_reason"),
            Case({"finish_reason": "length", "error": _ERROR}, "finish_reason"),
        ),
    )


def _finish_reason_values(model: type[BaseModel]) -> Rule:
    return Rule(
        model,
        ("finish_reason",),
        "one of stop, length, error",
        accepted=(Case({"finish_reason": "stop"}), Case({"finish_reason": "length"})),
        rejected=(
            Case({"finish_reason": "done"}, "finish_reason"),
            Case({"finish_reason": "STOP"}, "finish_reason"),
        ),
    )


RULES: tuple[Rule, ...] = (
    # Request
    _ids(Request, "request_id", "trace_id", "model"),
    Rule(Request, ("prompt",), "may be empty", accepted=(Case({"prompt": ""}),)),
    _positive(Request, "max_tokens"),
    _scalar(
        Request, ["temperature"], "in (0, 2]", (SMALLEST_POSITIVE, 1, 2, 2.0), (0, 0.0, ABOVE_TWO)
    ),
    _scalar(Request, ["top_p"], "in (0, 1]", (SMALLEST_POSITIVE, 1, 1.0), (0, 0.0, ABOVE_ONE)),
    _positive(Request, "kv_budget_tokens"),
    Rule(
        Request,
        ("metadata",),
        "JSON values only, nesting depth at most 32",
        accepted=(
            Case({"metadata": {}}),
            Case({"metadata": {"a": [1, 2.5, "x", None, True, {"b": {}}]}}),
        ),
        rejected=(
            Case({"metadata": {"a": (1, 2)}}, "metadata.a"),
            Case({"metadata": {"a": [1, math.nan]}}, "metadata.a[1]"),
            Case({"metadata": {"a": {1: "x"}}}, "metadata.a"),
        ),
    ),
    # Response
    _ids(Response, "request_id", "trace_id"),
    Rule(
        Response,
        ("output_text", "output_tokens"),
        "may be empty",
        accepted=(Case({"output_text": "", "output_tokens": []}),),
    ),
    _token_ids(Response, "output_tokens"),
    _finish_reason_values(Response),
    _finish_reason_rule(Response),
    # Metrics
    _non_negative(
        Metrics, "ttft_ms", "tbt_ms", "tpot_ms", "throughput_tps", "evict_ms", floats=True
    ),
    _non_negative(Metrics, "peak_mem_mb", "kv_used_tokens", "kv_used_bytes", "evict_count"),
    _ratio(Metrics, "error_rate", "prefix_hit_rate", "spec_accept_rate"),
    _scalar(Metrics, ["itl_list"], "each >= 0 (ms)", (0, 0.0, 3.5), (BELOW_ZERO,), item=True),
    Rule(
        Metrics,
        ("tbt_ms", "tpot_ms"),
        "at least one of tbt_ms, tpot_ms is given (0.0 counts)",
        accepted=(
            Case({"tbt_ms": None, "tpot_ms": 0.0}),
            Case({"tbt_ms": 0.0, "tpot_ms": None}),
            Case({"tbt_ms": 1.0, "tpot_ms": 2.0}),
        ),
        rejected=(Case({"tbt_ms": None, "tpot_ms": None}, "tbt_ms"),),
    ),
    # Stream events
    _ids(StreamEventStart, "request_id", "trace_id", "engine_id"),
    _non_negative(StreamEventStart, "prompt_tokens"),
    _ids(StreamEventDelta, "request_id", "trace_id", "engine_id"),
    Rule(
        StreamEventDelta,
        ("chunk", "chunk_tokens"),
        "may be empty",
        accepted=(Case({"chunk": "", "chunk_tokens": []}),),
    ),
    _token_ids(StreamEventDelta, "chunk_tokens"),
    _ids(StreamEventEnd, "request_id", "trace_id", "engine_id"),
    _token_ids(StreamEventEnd, "output_tokens"),
    _finish_reason_values(StreamEventEnd),
    _finish_reason_rule(StreamEventEnd),
    # Error
    _scalar(Error, ["message"], "non-empty", ("x",), ("",)),
    # Timestamps
    _non_negative(Timestamps, "queued_at", floats=True),
    Rule(
        Timestamps,
        ("queued_at", "scheduled_at", "executed_at", "completed_at"),
        "queued_at <= scheduled_at <= executed_at <= completed_at, all >= 0",
        accepted=(
            Case(_timestamps()),
            Case(_timestamps(queued_at=0.0, scheduled_at=0.0, executed_at=0.0, completed_at=0.0)),
            Case(_timestamps(scheduled_at=1.0)),
        ),
        rejected=(
            Case(_timestamps(scheduled_at=math.nextafter(1.0, 0.0)), "scheduled_at"),
            Case(_timestamps(executed_at=math.nextafter(2.0, 0.0)), "executed_at"),
            Case(_timestamps(completed_at=math.nextafter(3.0, 0.0)), "completed_at"),
            Case(_timestamps(queued_at=BELOW_ZERO), "queued_at"),
        ),
    ),
    # KV hooks
    _ids(KVAllocateParams, "request_id"),
    _positive(KVAllocateParams, "num_tokens", "block_size"),
    _ids(KVHandle, "handle_id", "request_id", "device"),
    _positive(KVHandle, "num_tokens"),
    _ids(KVMigrateParams, "target_device"),
    # OpenAI-compatible
    Rule(
        ChatMessage,
        ("role",),
        "one of system, user, assistant, function, tool",
        accepted=tuple(
            Case({"role": role}) for role in ("system", "user", "assistant", "function", "tool")
        ),
        rejected=(Case({"role": "developer"}, "role"),),
    ),
    _ids(ChatCompletionRequest, "model", "trace_id"),
    Rule(
        ChatCompletionRequest,
        ("messages",),
        "non-empty",
        accepted=(Case({"messages": [{"role": "user", "content": ""}]}),),
        rejected=(Case({"messages": []}, "messages"),),
    ),
    _scalar(
        ChatCompletionRequest,
        ["temperature"],
        "in [0, 2]",
        (0, 0.0, 2, 2.0),
        (BELOW_ZERO, ABOVE_TWO),
    ),
    _positive(ChatCompletionRequest, "max_tokens"),
    _scalar(
        ChatCompletionRequest, ["top_p"], "in (0, 1]", (SMALLEST_POSITIVE, 1.0), (0.0, ABOVE_ONE)
    ),
    _scalar(ChatCompletionRequest, ["n"], "integer in [1, 128]", (1, 128), (0, 129)),
    _scalar(
        ChatCompletionRequest,
        ["presence_penalty", "frequency_penalty"],
        "in [-2, 2]",
        (-2, -2.0, 0, 2.0),
        (BELOW_MINUS_TWO, ABOVE_TWO),
    ),
    _ids(ChatCompletionResponse, "id", "model", "trace_id"),
    _non_negative(ChatCompletionChoice, "index"),
    Rule(
        ChatCompletionUsage,
        ("prompt_tokens", "completion_tokens"),
        "integer >= 0",
        accepted=(
            Case({"prompt_tokens": 0, "completion_tokens": 5, "total_tokens": 5}),
            Case({"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}),
        ),
        rejected=(
            Case({"prompt_tokens": -1, "completion_tokens": 1, "total_tokens": 0}, "prompt_tokens"),
            Case(
                {"prompt_tokens": 1, "completion_tokens": -1, "total_tokens": 0},
                "completion_tokens",
            ),
        ),
    ),
    Rule(
        ChatCompletionUsage,
        ("total_tokens",),
        "total_tokens == prompt_tokens + completion_tokens",
        accepted=(
            Case({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}),
        ),
        rejected=(
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 11}, "total_tokens"),
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 13}, "total_tokens"),
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": -1}, "total_tokens"),
        ),
    ),
    _ids(ChatCompletionStreamResponse, "id", "model"),
    _ids(EmbeddingRequest, "model"),
    _positive(EmbeddingRequest, "dimensions"),
    _ids(EmbeddingResponse, "model"),
    _non_negative(EmbeddingUsage, "prompt_tokens", "total_tokens"),
    _ids(ModelInfo, "id"),
)
