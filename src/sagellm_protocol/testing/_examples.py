"""``example(T, **overrides)``: a valid, realistic instance of any public message type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..registry import MESSAGE_TYPES

__all__ = ["example", "example_data"]

M = TypeVar("M", bound=BaseModel)


def _metrics() -> dict[str, Any]:
    return {
        "ttft_ms": 45.2,
        "tbt_ms": 12.5,
        "tpot_ms": 12.5,
        "throughput_tps": 80.0,
        "peak_mem_mb": 24576,
        "error_rate": 0.0,
    }


def _chat_message() -> dict[str, Any]:
    return {"role": "user", "content": "Hello!"}


def _usage() -> dict[str, Any]:
    return {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def _kv_handle() -> dict[str, Any]:
    return {"handle_id": "kv-001", "request_id": "req-001", "num_tokens": 128, "device": "cuda:0"}


def _stream_choice() -> dict[str, Any]:
    return {"index": 0, "delta": {"role": "assistant", "content": "Hi"}}


def _embedding_data() -> dict[str, Any]:
    return {"embedding": [0.1, -0.2, 0.3], "index": 0}


def _model_info() -> dict[str, Any]:
    return {"id": "llama2-7b", "created": 1700000000}


def _openai_error() -> dict[str, Any]:
    return {"message": "max_tokens: must be greater than 0", "type": "invalid_request_error"}


_IDS = {"request_id": "req-001", "trace_id": "trace-001"}

_FACTORIES: dict[str, Callable[[], dict[str, Any]]] = {
    "Request": lambda: {
        **_IDS,
        "model": "llama2-7b",
        "prompt": "Hello, world!",
        "max_tokens": 128,
        "stream": False,
        "temperature": 0.7,
    },
    "Response": lambda: {
        **_IDS,
        "output_text": "Hi there!",
        "output_tokens": [42, 17],
        "finish_reason": "stop",
        "metrics": _metrics(),
    },
    "Metrics": _metrics,
    "StreamEventStart": lambda: {**_IDS, "prompt_tokens": 4},
    "StreamEventDelta": lambda: {**_IDS, "chunk": "Hi", "chunk_tokens": [42]},
    "StreamEventEnd": lambda: {
        **_IDS,
        "output_text": "Hi there!",
        "output_tokens": [42, 17],
        "finish_reason": "stop",
        "metrics": _metrics(),
    },
    "Error": lambda: {"code": "unavailable", "message": "backend unavailable"},
    "Timestamps": lambda: {
        "queued_at": 1700000000.0,
        "scheduled_at": 1700000000.01,
        "executed_at": 1700000000.02,
        "completed_at": 1700000000.5,
    },
    "KVAllocateParams": lambda: {
        "request_id": "req-001",
        "num_tokens": 128,
        "kv_dtype": "fp16",
        "layout": "bshd",
        "block_size": 16,
    },
    "KVHandle": _kv_handle,
    "KVMigrateParams": lambda: {"kv_handle": _kv_handle(), "target_device": "cuda:1"},
    "ChatMessage": _chat_message,
    "ChatCompletionRequest": lambda: {"model": "llama2-7b", "messages": [_chat_message()]},
    "ChatCompletionResponse": lambda: {
        "id": "chatcmpl-001",
        "created": 1700000000,
        "model": "llama2-7b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi there!"},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(),
    },
    "ChatCompletionChoice": lambda: {
        "index": 0,
        "message": {"role": "assistant", "content": "Hi there!"},
        "finish_reason": "stop",
    },
    "ChatCompletionUsage": _usage,
    "ChatCompletionStreamResponse": lambda: {
        "id": "chatcmpl-001",
        "created": 1700000000,
        "model": "llama2-7b",
        "choices": [_stream_choice()],
    },
    "ChatCompletionStreamChoice": _stream_choice,
    "ChatCompletionStreamDelta": lambda: {"role": "assistant", "content": "Hi"},
    "EmbeddingRequest": lambda: {"input": "Hello, world!", "model": "bge-small"},
    "EmbeddingResponse": lambda: {
        "data": [_embedding_data()],
        "model": "bge-small",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    },
    "EmbeddingData": _embedding_data,
    "EmbeddingUsage": lambda: {"prompt_tokens": 4, "total_tokens": 4},
    "ModelInfo": _model_info,
    "ModelListResponse": lambda: {"data": [_model_info()]},
    "OpenAIError": _openai_error,
    "OpenAIErrorResponse": lambda: {"error": _openai_error()},
    "MetricsSummary": lambda: {
        "count": 4,
        **{
            name: dict(
                zip(("count", "mean", "min", "max", "p50", "p90", "p95", "p99"), stats, strict=True)
            )
            for name, stats in {
                "ttft_ms": (4, 60.0, 45.0, 75.0, 60.0, 72.0, 73.5, 74.7),
                "tbt_ms": (4, 12.626, 12.319, 13.049, 12.569, 12.971, 13.01, 13.041),
                "tpot_ms": (4, 12.674, 12.37, 13.081, 12.623, 13.006, 13.043, 13.073),
                "itl_ms": (180, 12.702, 10.001, 15.959, 12.511, 15.188, 15.687, 15.92),
                "e2e_ms": (4, 633.607, 449.804, 879.072, 602.777, 818.784, 848.928, 873.043),
                "throughput_tps": (4, 72.642, 70.785, 75.838, 71.973, 74.928, 75.383, 75.747),
                "peak_mem_mb": (4, 25344, 24576, 26112, 25344, 25958.4, 26035.2, 26096.64),
                "error_rate": (4, 0.25, 0.0, 1.0, 0.0, 0.7, 0.85, 0.97),
                "prefix_hit_rate": (2, 0.375, 0.25, 0.5, 0.375, 0.475, 0.4875, 0.4975),
            }.items()
        },
        "output_tokens_total": 184,
        "span_ms": 1428.112,
        "aggregate_throughput_tps": 128.841,
    },
}


def example_data(model: type[BaseModel]) -> dict[str, Any]:
    """The field values of ``example(model)`` as plain data (a fresh dict on every call)."""
    registered = MESSAGE_TYPES.get(model.__name__)
    if registered is None or not issubclass(model, registered):
        raise TypeError(f"{model.__name__} is not a public message type")
    factory = _FACTORIES[model.__name__]
    return factory()


def example(model: type[M], /, **overrides: Any) -> M:
    """A valid instance of ``model`` with realistic values; ``overrides`` replace fields.

    The result is validated, so overrides that break a rule raise ``ValidationError``.
    """
    data = example_data(model)
    data.update(overrides)
    return model.model_validate(data)
