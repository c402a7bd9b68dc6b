"""Every rule of the contract as data: one row per rule, with values on both sides of its boundary.

``test_rules.py`` checks every row against the models, and that every constraint declared on
a model field has a row; ``scripts/gen_vectors.py`` turns the rows into golden vectors. The
rows below are written by hand. A field without one gets a row derived from its declared
constraint (a bound, a length, a Literal or an enum; ``derived_rule``), so that a new field
needs no edit here unless its rule is one that cannot be derived, such as a rule across
fields.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sagellm_protocol import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamChoice,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatMessage,
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    Error,
    ErrorCode,
    KVAllocateParams,
    KVDType,
    KVHandle,
    KVLayout,
    KVMigrateParams,
    Metrics,
    ModelInfo,
    ModelListResponse,
    Request,
    Response,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    Timestamps,
)
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.summary import Distribution, MetricsSummary

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
        """The rule as one Markdown table row: message, fields, text."""
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


# Lengths count Unicode code points. "é" is 2 bytes in UTF-8; an emoji beyond the Basic
# Multilingual Plane is 2 UTF-16 code units (JavaScript's and Java's string length); "e" with a
# combining acute accent is 2 code points but 1 character on screen. Each is on both sides of
# the boundary, so that counting bytes, UTF-16 units or graphemes fails a vector.
_ASTRAL = "\U0001f600"
_COMBINED = "e\u0301"
_ID_OK = ("x", "é" * 256, _ASTRAL * 256, _COMBINED * 128)
_ID_BAD = ("", "x" * 257, "é" * 257, _ASTRAL * 257, _COMBINED * 128 + "e")
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


def _one_of(
    model: type[BaseModel], field: str, values: Sequence[Any], wrong: Sequence[Any]
) -> Rule:
    """A Literal or enum field: each allowed value accepted, near misses rejected."""
    shown = ", ".join(str(getattr(value, "value", value)) for value in values)
    return Rule(
        model,
        (field,),
        f"one of {shown}",
        accepted=tuple(Case({field: value}) for value in values),
        rejected=tuple(Case({field: value}, field) for value in wrong),
    )


def _tag(model: type[BaseModel], field: str, value: str) -> Rule:
    """A single-value tag (``event`` or ``object``): its value, and nothing else."""
    return Rule(
        model,
        (field,),
        f"tag: always {value!r}",
        accepted=(Case({field: value}),),
        rejected=(Case({field: value.upper()}, field), Case({field: "other"}, field)),
    )


_CHAT_FINISH = ("stop", "length", "content_filter", "tool_calls")


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


# Every Distribution field of MetricsSummary, in field order (read from the model).
_DISTRIBUTION_FIELDS = tuple(
    name
    for name, info in MetricsSummary.model_fields.items()
    if Distribution in (info.annotation, *typing.get_args(info.annotation))
)


def _distribution(**values: float) -> dict[str, Any]:
    """A valid Distribution (as data) with ``values`` replaced."""
    base: dict[str, Any] = {
        "count": 4,
        "mean": 2.5,
        "min": 1.0,
        "p50": 2.0,
        "p90": 3.0,
        "p95": 3.5,
        "p99": 3.9,
        "max": 4.0,
    }
    base.update(values)
    return base


HAND_RULES: tuple[Rule, ...] = (
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
    _tag(StreamEventStart, "event", "start"),
    _ids(StreamEventStart, "request_id", "trace_id", "engine_id"),
    _non_negative(StreamEventStart, "prompt_tokens"),
    _tag(StreamEventDelta, "event", "delta"),
    _ids(StreamEventDelta, "request_id", "trace_id", "engine_id"),
    Rule(
        StreamEventDelta,
        ("chunk", "chunk_tokens"),
        "may be empty",
        accepted=(Case({"chunk": "", "chunk_tokens": []}),),
    ),
    _token_ids(StreamEventDelta, "chunk_tokens"),
    _tag(StreamEventEnd, "event", "end"),
    _ids(StreamEventEnd, "request_id", "trace_id", "engine_id"),
    _token_ids(StreamEventEnd, "output_tokens"),
    _finish_reason_values(StreamEventEnd),
    _finish_reason_rule(StreamEventEnd),
    # Error
    _one_of(Error, "code", list(ErrorCode), ("INVALID_ARGUMENT", "internal", "")),
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
    _one_of(KVAllocateParams, "kv_dtype", list(KVDType), ("FP16", "fp32")),
    _one_of(KVAllocateParams, "layout", list(KVLayout), ("BSHD", "sbhd")),
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
    _tag(ChatCompletionResponse, "object", "chat.completion"),
    _non_negative(ChatCompletionChoice, "index"),
    _one_of(ChatCompletionChoice, "finish_reason", (*_CHAT_FINISH, None), ("error", "STOP")),
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
            Case({"prompt_tokens": 2**53, "completion_tokens": 1, "total_tokens": 2**53 + 1}),
        ),
        rejected=(
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 11}, "total_tokens"),
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 13}, "total_tokens"),
            Case({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": -1}, "total_tokens"),
            # Exact integers: a double cannot hold 2**53 + 1, a 64-bit integer cannot hold 2**64.
            Case(
                {"prompt_tokens": 2**53, "completion_tokens": 1, "total_tokens": 2**53},
                "total_tokens",
            ),
            Case(
                {"prompt_tokens": 2**64, "completion_tokens": 1, "total_tokens": 2**64},
                "total_tokens",
            ),
        ),
    ),
    _ids(ChatCompletionStreamResponse, "id", "model"),
    _tag(ChatCompletionStreamResponse, "object", "chat.completion.chunk"),
    _one_of(ChatCompletionStreamChoice, "finish_reason", (*_CHAT_FINISH, None), ("error", "STOP")),
    _ids(EmbeddingRequest, "model"),
    _positive(EmbeddingRequest, "dimensions"),
    _one_of(EmbeddingRequest, "encoding_format", ("float", "base64"), ("FLOAT", "int8")),
    _ids(EmbeddingResponse, "model"),
    _tag(EmbeddingResponse, "object", "list"),
    _tag(EmbeddingData, "object", "embedding"),
    _non_negative(EmbeddingUsage, "prompt_tokens", "total_tokens"),
    _ids(ModelInfo, "id"),
    _tag(ModelInfo, "object", "model"),
    _tag(ModelListResponse, "object", "list"),
    # MetricsSummary
    Rule(
        MetricsSummary,
        ("count",),
        "integer > 0",
        accepted=(Case({"count": 4}), Case({"count": 2**31})),
        rejected=(Case({"count": 0}, "count"), Case({"count": -1}, "count")),
    ),
    _non_negative(MetricsSummary, "output_tokens_total"),
    _non_negative(MetricsSummary, "span_ms", "aggregate_throughput_tps", floats=True),
    Rule(
        MetricsSummary,
        _DISTRIBUTION_FIELDS,
        "each a Distribution: count > 0, min <= p50 <= p90 <= p95 <= p99 <= max, "
        "min <= mean <= max",
        accepted=(
            Case({"ttft_ms": _distribution()}),
            Case(
                {"itl_ms": _distribution(count=1, mean=7, min=7, p50=7, p90=7, p95=7, p99=7, max=7)}
            ),
            Case({"tbt_ms": _distribution(mean=1.0)}),
            Case({"evict_ms": _distribution(mean=4.0)}),
            Case({"spec_accept_rate": _distribution(p50=1.0, p99=4.0)}),
        ),
        rejected=(
            Case({"ttft_ms": _distribution(count=0)}, "ttft_ms.count"),
            Case({"ttft_ms": _distribution(p50=math.nextafter(1.0, 0.0))}, "ttft_ms.p50"),
            Case({"tbt_ms": _distribution(p90=math.nextafter(2.0, 0.0))}, "tbt_ms.p90"),
            Case({"itl_ms": _distribution(p95=math.nextafter(3.0, 0.0))}, "itl_ms.p95"),
            Case({"e2e_ms": _distribution(p99=math.nextafter(3.5, 0.0))}, "e2e_ms.p99"),
            Case({"peak_mem_mb": _distribution(max=math.nextafter(3.9, 0.0))}, "peak_mem_mb.max"),
            Case({"error_rate": _distribution(mean=math.nextafter(1.0, 0.0))}, "error_rate.mean"),
            Case(
                {"kv_used_tokens": _distribution(mean=math.nextafter(4.0, 5.0))},
                "kv_used_tokens.mean",
            ),
        ),
    ),
    Rule(
        MetricsSummary,
        ("count",),
        "every per-request distribution (all but itl_ms) has count <= count",
        accepted=(
            Case({"count": 4, "tpot_ms": _distribution(count=4)}),
            Case({"count": 5}),
            Case({"count": 4, "itl_ms": _distribution(count=1000)}),
        ),
        rejected=(
            Case({"count": 4, "tpot_ms": _distribution(count=5)}, "tpot_ms.count"),
            Case({"count": 3, "tbt_ms": None}, "ttft_ms.count"),
            Case({"count": 4, "prefix_hit_rate": _distribution(count=5)}, "prefix_hit_rate.count"),
        ),
    ),
    Rule(
        MetricsSummary,
        ("aggregate_throughput_tps", "output_tokens_total", "span_ms"),
        "aggregate_throughput_tps is given only when output_tokens_total and span_ms are given",
        accepted=(
            Case({"aggregate_throughput_tps": 0.0, "output_tokens_total": 0, "span_ms": 0.0}),
            Case({"aggregate_throughput_tps": None, "span_ms": None}),
            Case({"aggregate_throughput_tps": None, "output_tokens_total": None}),
        ),
        rejected=(
            Case({"aggregate_throughput_tps": 1.0, "span_ms": None}, "aggregate_throughput_tps"),
            Case(
                {"aggregate_throughput_tps": 1.0, "output_tokens_total": None},
                "aggregate_throughput_tps",
            ),
        ),
    ),
)


# --- rows derived from a field's declared constraint -------------------------------------------


def _declared(annotation: Any, metadata: Sequence[Any]) -> tuple[Any, list[Any]]:
    """The bare type of a field and all its metadata (``Optional`` and ``Annotated`` removed)."""
    found: list[Any] = []

    def collect(items: Sequence[Any]) -> None:
        for item in items:
            if isinstance(item, FieldInfo):
                collect(item.metadata)
            else:
                found.append(item)

    collect(metadata)
    while True:
        origin = typing.get_origin(annotation)
        if origin is Union or origin is types.UnionType:
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation, found
            annotation = members[0]
        elif origin is Annotated:
            annotation, *extra = typing.get_args(annotation)
            collect(extra)
        else:
            return annotation, found


def _limits(metadata: Sequence[Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: getattr(item, key) for item in metadata for key in keys if hasattr(item, key)}


def _bound_cases(kind: type, metadata: Sequence[Any]) -> tuple[str, list[Any], list[Any]] | None:
    """(text, accepted, rejected) for a bounded int or float, or None when it has no bound."""
    bounds = _limits(metadata, ("gt", "ge", "lt", "le"))
    if not bounds:
        return None
    integer = kind is int

    def above(value: Any) -> Any:
        return value + 1 if integer else math.nextafter(value, math.inf)

    def below(value: Any) -> Any:
        return value - 1 if integer else math.nextafter(value, -math.inf)

    def same(value: Any) -> Any:
        return value

    # per bound: the value on its accepted side, and the one on its rejected side
    sides = {"gt": (above, same), "ge": (same, below), "lt": (below, same), "le": (same, above)}
    accepted: list[Any] = []
    rejected: list[Any] = []
    for key, (inside, outside) in sides.items():
        if key in bounds:
            accepted.append(inside(bounds[key]))
            rejected.append(outside(bounds[key]))
    low = [(sign, bounds[key]) for key, sign in (("gt", "("), ("ge", "[")) if key in bounds]
    high = [(sign, bounds[key]) for key, sign in (("lt", ")"), ("le", "]")) if key in bounds]
    if low and high:
        text = f"in {low[0][0]}{low[0][1]}, {high[0][1]}{high[0][0]}"
    elif low:
        text = f"{'>' if low[0][0] == '(' else '>='} {low[0][1]}"
    else:
        text = f"{'<' if high[0][0] == ')' else '<='} {high[0][1]}"
    return (f"integer {text}" if integer else text), accepted, rejected


def _length_cases(metadata: Sequence[Any]) -> tuple[str, list[Any], list[Any]] | None:
    """(text, accepted, rejected) for a string with a length limit, or None without one."""
    lengths = _limits(metadata, ("min_length", "max_length"))
    shortest, longest = lengths.get("min_length") or 0, lengths.get("max_length")
    if not shortest and longest is None:
        return None
    accepted = ["x" * max(shortest, 1)]
    rejected = ["x" * (shortest - 1)] if shortest else []
    if longest is not None:
        accepted.append("x" * longest)
        rejected.append("x" * (longest + 1))
    if shortest == 1 and longest is not None:
        text = f"identifier: 1 to {longest} characters"
    elif longest is None:
        text = "non-empty" if shortest == 1 else f"at least {shortest} characters"
    else:
        text = f"{shortest} to {longest} characters"
    return text, accepted, rejected


def _value_cases(base: Any) -> tuple[str, list[Any], list[Any]] | None:
    """(text, accepted, rejected) for a Literal or an enum, or None for another type."""
    if typing.get_origin(base) is typing.Literal:
        values = list(typing.get_args(base))
    elif isinstance(base, type) and issubclass(base, enum.Enum):
        values = [member.value for member in base]
    else:
        return None
    return f"one of {', '.join(str(v) for v in values)}", values, [f"not-{values[0]}"]


def derived_rule(model: type[BaseModel], name: str) -> Rule | None:
    """The row of a field with a declared bound, length, Literal or enum; None for others.

    Each bound gives the value at the boundary on the accepted side and the next value past
    it on the rejected side (the next float for a number); a length limit gives strings of
    the shortest and longest length and one character outside each; a Literal or an enum
    accepts each value and rejects another. A list of such values gets the cases as its first
    item. A length limit on a list has no derived row.
    """
    info = model.model_fields[name]
    base, metadata = _declared(info.annotation, info.metadata)
    item = typing.get_origin(base) is list
    if item:
        if _limits(metadata, ("min_length", "max_length")):
            return None
        base, metadata = _declared(typing.get_args(base)[0], [])
    if base is int or base is float:
        cases = _bound_cases(base, metadata)
    elif base is str:
        cases = _length_cases(metadata)
    else:
        cases = _value_cases(base)
    if cases is None:
        return None
    text, accepted, rejected = cases
    return _scalar(model, [name], f"each {text}" if item else text, accepted, rejected, item=item)


def _derived_rules() -> tuple[Rule, ...]:
    covered = {(rule.model, name) for rule in HAND_RULES for name in rule.fields}
    rules = (
        derived_rule(model, name)
        for model in MESSAGE_TYPES.values()
        for name in model.model_fields
        if (model, name) not in covered
    )
    return tuple(rule for rule in rules if rule is not None)


RULES: tuple[Rule, ...] = HAND_RULES + _derived_rules()
"""Every rule: the hand-written rows, then the derived ones."""
