"""Hypothesis strategies that generate valid instances of every public message.

Requires the ``testing`` extra (``pip install "isagellm-protocol[testing]"``); nothing else in
the package imports this module. Strategies are derived from the models' own field types and
constraints, so a new field is covered without touching this file; the rules across fields
(Metrics latency, finish_reason/error, Timestamps order, usage total) are applied on top.

>>> from hypothesis import given
>>> from sagellm_protocol import Request
>>> from sagellm_protocol.testing.strategies import strategy_for
>>> @given(strategy_for(Request))
... def test_round_trip(request: Request) -> None:
...     assert Request.model_validate_json(request.model_dump_json()) == request
"""

from __future__ import annotations

import enum
import functools
import math
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, Union

from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..errors import ErrorCode
from ..limits import MAX_METADATA_DEPTH
from ..registry import MESSAGE_TYPES
from ..types import StreamEvent, StreamEventDelta, StreamEventEnd, StreamEventStart

__all__ = [
    "any_message",
    "json_values",
    "metadata_values",
    "strategy_for",
    "stream_events",
]

M = TypeVar("M", bound=BaseModel)

_MAX_LIST = 6
_DEFAULT_INT_BOUND = 2**53


def json_values(max_depth: int = 3) -> st.SearchStrategy[Any]:
    """JSON values (finite floats only) with at most ``max_depth`` levels of containers."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-_DEFAULT_INT_BOUND, _DEFAULT_INT_BOUND),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    if max_depth <= 0:
        return scalars
    inner = json_values(max_depth - 1)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    )


def metadata_values() -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``metadata`` objects: flat or nested up to depth 4, or at the depth limit (32)."""
    deepest: Any = "leaf"
    for _ in range(MAX_METADATA_DEPTH - 1):
        deepest = {"k": deepest}
    return st.one_of(
        st.dictionaries(st.text(max_size=12), json_values(max_depth=3), max_size=5),
        st.just({"k": deepest}),
    )


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_bounds(list(item.metadata)))
            continue
        for key in ("gt", "ge", "lt", "le", "min_length", "max_length"):
            value = getattr(item, key, None)
            if value is not None:
                found[key] = value
    return found


def _int_strategy(bounds: dict[str, Any]) -> st.SearchStrategy[int]:
    low = (
        bounds["ge"]
        if "ge" in bounds
        else bounds["gt"] + 1
        if "gt" in bounds
        else -_DEFAULT_INT_BOUND
    )
    high = (
        bounds["le"]
        if "le" in bounds
        else bounds["lt"] - 1
        if "lt" in bounds
        else _DEFAULT_INT_BOUND
    )
    return st.integers(min_value=low, max_value=high)


def _float_strategy(bounds: dict[str, Any]) -> st.SearchStrategy[float]:
    """Floats within the bounds, and sometimes an int (accepted where a float is expected)."""
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    floats = st.floats(
        min_value=None if low is None else float(low),
        max_value=None if high is None else float(high),
        exclude_min="gt" in bounds,
        exclude_max="lt" in bounds,
        allow_nan=False,
        allow_infinity=False,
    )
    int_low = (
        -_DEFAULT_INT_BOUND
        if low is None
        else math.floor(low) + 1
        if "gt" in bounds
        else math.ceil(low)
    )
    int_high = (
        _DEFAULT_INT_BOUND
        if high is None
        else math.ceil(high) - 1
        if "lt" in bounds
        else math.floor(high)
    )
    if int_low > int_high:
        return floats
    return st.one_of(floats, st.integers(min_value=int_low, max_value=int_high))


def _for_annotation(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _for_annotation(inner, [*metadata, *extra])
    if origin is Union or origin is types.UnionType:
        return st.one_of([_for_annotation(arg, metadata) for arg in typing.get_args(annotation)])
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if annotation is type(None):
        return st.none()
    bounds = _bounds(metadata)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return st.lists(
            _for_annotation(item, []),
            min_size=bounds.get("min_length", 0),
            max_size=bounds.get("max_length", _MAX_LIST),
        )
    if origin is dict:
        return metadata_values()
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return st.sampled_from(list(annotation))
        if issubclass(annotation, BaseModel):
            return st.deferred(lambda: strategy_for(annotation))
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return _int_strategy(bounds)
        if annotation is float:
            return _float_strategy(bounds)
        if annotation is str:
            text = st.text(
                min_size=bounds.get("min_length", 0), max_size=bounds.get("max_length", 40)
            )
            if "max_length" not in bounds:
                return text
            # The longest value allowed, in multi-byte characters: a boundary worth hitting.
            return st.one_of(text, st.just("é" * bounds["max_length"]))
    raise TypeError(f"no strategy for field type {annotation!r}")


def _for_field(info: FieldInfo) -> st.SearchStrategy[Any]:
    return _for_annotation(info.annotation, list(info.metadata))


def _fix_metrics(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("tbt_ms") is None and data.get("tpot_ms") is None:
        data["tpot_ms"] = 0.0
    return data


def _fix_finish_reason(data: dict[str, Any]) -> dict[str, Any]:
    if data["finish_reason"] == "error":
        if data.get("error") is None:
            data["error"] = {"code": ErrorCode.UNAVAILABLE, "message": "backend unavailable"}
    else:
        data.pop("error", None)
    return data


def _fix_timestamps(data: dict[str, Any]) -> dict[str, Any]:
    names = ("queued_at", "scheduled_at", "executed_at", "completed_at")
    data.update(zip(names, sorted(data[name] for name in names), strict=True))
    return data


def _fix_usage(data: dict[str, Any]) -> dict[str, Any]:
    data["total_tokens"] = data["prompt_tokens"] + data["completion_tokens"]
    return data


def _fix_distribution(data: dict[str, Any]) -> dict[str, Any]:
    names = ("min", "p50", "p90", "p95", "p99", "max")
    data.update(zip(names, sorted(data[name] for name in names), strict=True))
    data["mean"] = min(max(data["mean"], data["min"]), data["max"])
    return data


def _fix_metrics_summary(data: dict[str, Any]) -> dict[str, Any]:
    # Every per-request distribution counts at most ``count`` requests; itl_ms counts gaps.
    counts = [
        value.count
        for name, value in data.items()
        if type(value).__name__ == "Distribution" and name != "itl_ms"
    ]
    data["count"] = max([data["count"], *counts])
    if data.get("output_tokens_total") is None or data.get("span_ms") is None:
        data.pop("aggregate_throughput_tps", None)
    return data


_FIXES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Metrics": _fix_metrics,
    "Response": _fix_finish_reason,
    "StreamEventEnd": _fix_finish_reason,
    "Timestamps": _fix_timestamps,
    "ChatCompletionUsage": _fix_usage,
    "Distribution": _fix_distribution,
    "MetricsSummary": _fix_metrics_summary,
}


@functools.cache
def _cached_strategy(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    return _build(model, {})


def _build(
    model: type[BaseModel], overrides: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        strategy = overrides[name] if name in overrides else _for_field(info)
        if info.is_required() or name in overrides:
            required[name] = strategy
        else:
            optional[name] = strategy
    fix = _FIXES.get(model.__name__, _identity)

    def build(data: dict[str, Any]) -> Any:
        # The rules across fields are made to hold, but never by changing an overridden field:
        # overrides that contradict a rule give a ValidationError rather than other values.
        fixed = fix(dict(data))
        fixed.update({name: data[name] for name in overrides})
        return model(**fixed)

    return st.fixed_dictionaries(required, optional=optional).map(build)


def _identity(data: dict[str, Any]) -> dict[str, Any]:
    return data


def strategy_for(model: type[M], /, **overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[M]:
    """A strategy generating valid instances of ``model`` (any public message type).

    ``overrides`` replace the strategy of named fields, e.g.
    ``strategy_for(Request, prompt=st.just(""))``; such fields are always given.
    """
    unknown = set(overrides) - set(model.model_fields)
    if unknown:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    if overrides:
        return _build(model, overrides)
    return _cached_strategy(model)


def stream_events() -> st.SearchStrategy[StreamEvent]:
    """Any single stream event (start, delta or end)."""
    return st.one_of(
        strategy_for(StreamEventStart), strategy_for(StreamEventDelta), strategy_for(StreamEventEnd)
    )


def any_message() -> st.SearchStrategy[BaseModel]:
    """An instance of any public message type."""
    return st.one_of([strategy_for(model) for model in MESSAGE_TYPES.values()])
