"""Every message has exactly SPEC.md's fields, in SPEC.md's order, types and defaults."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sagellm_protocol.registry import MESSAGE_TYPES

from .scripts import load_script

REQ = "required"
NOW = "now"  # default: the current Unix time

# name, type as SPEC.md writes it, default (REQ when required)
SPEC_FIELDS: dict[str, list[tuple[str, str, Any]]] = {
    "Request": [
        ("request_id", "str", REQ),
        ("trace_id", "str", REQ),
        ("model", "str", REQ),
        ("prompt", "str", REQ),
        ("max_tokens", "int", REQ),
        ("stream", "bool", REQ),
        ("temperature", "float|None", None),
        ("top_p", "float|None", None),
        ("kv_budget_tokens", "int|None", None),
        ("metadata", "dict[str, Any]|None", None),
    ],
    "Response": [
        ("request_id", "str", REQ),
        ("trace_id", "str", REQ),
        ("output_text", "str", REQ),
        ("output_tokens", "list[int]", REQ),
        ("finish_reason", "Literal['stop', 'length', 'error']", REQ),
        ("metrics", "Metrics", REQ),
        ("error", "Error|None", None),
    ],
    "Metrics": [
        ("ttft_ms", "float", REQ),
        ("tbt_ms", "float|None", None),
        ("tpot_ms", "float|None", None),
        ("throughput_tps", "float", REQ),
        ("peak_mem_mb", "int", REQ),
        ("error_rate", "float", REQ),
        ("kv_used_tokens", "int|None", None),
        ("kv_used_bytes", "int|None", None),
        ("prefix_hit_rate", "float|None", None),
        ("evict_count", "int|None", None),
        ("evict_ms", "float|None", None),
        ("spec_accept_rate", "float|None", None),
        ("itl_list", "list[float]|None", None),
        ("timestamps", "Timestamps|None", None),
        ("component_trace", "list[str]|None", None),
    ],
    "StreamEventStart": [
        ("event", "Literal['start']", "start"),
        ("request_id", "str", REQ),
        ("trace_id", "str", REQ),
        ("prompt_tokens", "int|None", None),
        ("engine_id", "str|None", None),
    ],
    "StreamEventDelta": [
        ("event", "Literal['delta']", "delta"),
        ("request_id", "str", REQ),
        ("trace_id", "str", REQ),
        ("chunk", "str", REQ),
        ("chunk_tokens", "list[int]", REQ),
        ("engine_id", "str|None", None),
    ],
    "StreamEventEnd": [
        ("event", "Literal['end']", "end"),
        ("request_id", "str", REQ),
        ("trace_id", "str", REQ),
        ("output_text", "str", REQ),
        ("output_tokens", "list[int]", REQ),
        ("finish_reason", "Literal['stop', 'length', 'error']", REQ),
        ("metrics", "Metrics", REQ),
        ("error", "Error|None", None),
        ("engine_id", "str|None", None),
    ],
    "Error": [
        ("code", "ErrorCode", REQ),
        ("message", "str", REQ),
        ("retryable", "bool|None", None),
        ("param", "str|None", None),
    ],
    "Timestamps": [
        ("queued_at", "float", REQ),
        ("scheduled_at", "float", REQ),
        ("executed_at", "float", REQ),
        ("completed_at", "float", REQ),
    ],
    "KVAllocateParams": [
        ("request_id", "str", REQ),
        ("num_tokens", "int", REQ),
        ("kv_dtype", "KVDType", REQ),
        ("layout", "KVLayout", REQ),
        ("block_size", "int", REQ),
    ],
    "KVHandle": [
        ("handle_id", "str", REQ),
        ("request_id", "str", REQ),
        ("num_tokens", "int", REQ),
        ("device", "str", REQ),
    ],
    "KVMigrateParams": [("kv_handle", "KVHandle", REQ), ("target_device", "str", REQ)],
    "ChatMessage": [
        ("role", "Literal['system', 'user', 'assistant', 'function', 'tool']", REQ),
        ("content", "str", REQ),
        ("name", "str|None", None),
    ],
    "ChatCompletionRequest": [
        ("model", "str", REQ),
        ("messages", "list[ChatMessage]", REQ),
        ("temperature", "float", 1.0),
        ("max_tokens", "int|None", None),
        ("stream", "bool", False),
        ("top_p", "float|None", None),
        ("n", "int", 1),
        ("stop", "str|list[str]|None", None),
        ("presence_penalty", "float", 0.0),
        ("frequency_penalty", "float", 0.0),
        ("user", "str|None", None),
        ("session_id", "str|None", None),
        ("trace_id", "str|None", None),
    ],
    "ChatCompletionResponse": [
        ("id", "str", REQ),
        ("object", "Literal['chat.completion']", "chat.completion"),
        ("created", "int", NOW),
        ("model", "str", REQ),
        ("choices", "list[ChatCompletionChoice]", REQ),
        ("usage", "ChatCompletionUsage", REQ),
        ("trace_id", "str|None", None),
    ],
    "ChatCompletionChoice": [
        ("index", "int", REQ),
        ("message", "ChatMessage", REQ),
        ("finish_reason", "Literal['stop', 'length', 'content_filter', 'tool_calls']|None", REQ),
    ],
    "ChatCompletionUsage": [
        ("prompt_tokens", "int", REQ),
        ("completion_tokens", "int", REQ),
        ("total_tokens", "int", REQ),
    ],
    "ChatCompletionStreamResponse": [
        ("id", "str", REQ),
        ("object", "Literal['chat.completion.chunk']", "chat.completion.chunk"),
        ("created", "int", NOW),
        ("model", "str", REQ),
        ("choices", "list[ChatCompletionStreamChoice]", REQ),
    ],
    "ChatCompletionStreamChoice": [
        ("index", "int", REQ),
        ("delta", "ChatCompletionStreamDelta", REQ),
        ("finish_reason", "Literal['stop', 'length', 'content_filter', 'tool_calls']|None", None),
    ],
    "ChatCompletionStreamDelta": [("role", "str|None", None), ("content", "str|None", None)],
    "EmbeddingRequest": [
        ("input", "str|list[str]", REQ),
        ("model", "str", REQ),
        ("encoding_format", "Literal['float', 'base64']", "float"),
        ("dimensions", "int|None", None),
        ("user", "str|None", None),
    ],
    "EmbeddingResponse": [
        ("object", "Literal['list']", "list"),
        ("data", "list[EmbeddingData]", REQ),
        ("model", "str", REQ),
        ("usage", "EmbeddingUsage", REQ),
    ],
    "EmbeddingData": [
        ("object", "Literal['embedding']", "embedding"),
        ("embedding", "list[float]", REQ),
        ("index", "int", REQ),
    ],
    "EmbeddingUsage": [("prompt_tokens", "int", REQ), ("total_tokens", "int", REQ)],
    "ModelInfo": [
        ("id", "str", REQ),
        ("object", "Literal['model']", "model"),
        ("created", "int", NOW),
        ("owned_by", "str", "sagellm"),
    ],
    "ModelListResponse": [("object", "Literal['list']", "list"), ("data", "list[ModelInfo]", REQ)],
    "OpenAIError": [
        ("message", "str", REQ),
        ("type", "str", REQ),
        ("param", "str|None", None),
        ("code", "str|None", None),
    ],
    "OpenAIErrorResponse": [("error", "OpenAIError", REQ)],
    "MetricsSummary": [
        ("count", "int", REQ),
        ("ttft_ms", "Distribution", REQ),
        ("tbt_ms", "Distribution|None", None),
        ("tpot_ms", "Distribution|None", None),
        ("itl_ms", "Distribution|None", None),
        ("e2e_ms", "Distribution|None", None),
        ("throughput_tps", "Distribution", REQ),
        ("peak_mem_mb", "Distribution", REQ),
        ("error_rate", "Distribution", REQ),
        ("kv_used_tokens", "Distribution|None", None),
        ("kv_used_bytes", "Distribution|None", None),
        ("prefix_hit_rate", "Distribution|None", None),
        ("evict_count", "Distribution|None", None),
        ("evict_ms", "Distribution|None", None),
        ("spec_accept_rate", "Distribution|None", None),
        ("output_tokens_total", "int|None", None),
        ("span_ms", "float|None", None),
        ("aggregate_throughput_tps", "float|None", None),
    ],
}


# One renderer of SPEC notation, shared with the generated protocol doc.
type_name = load_script("gen_docs").type_name


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return REQ
    if info.default_factory is not None:
        return NOW
    assert info.default is not PydanticUndefined
    return info.default


def test_spec_table_lists_every_public_message() -> None:
    assert list(SPEC_FIELDS) == list(MESSAGE_TYPES)


@pytest.mark.parametrize("name", list(SPEC_FIELDS))
def test_fields_match_spec(name: str) -> None:
    model = MESSAGE_TYPES[name]
    actual = [
        (field, type_name(info.annotation), _default(info))
        for field, info in model.model_fields.items()
    ]
    assert actual == SPEC_FIELDS[name]


@pytest.mark.parametrize(
    "name", [n for n, f in SPEC_FIELDS.items() if any(d == NOW for _, _, d in f)]
)
def test_created_defaults_to_now(name: str) -> None:
    import time

    from sagellm_protocol.testing import example_data

    data = example_data(MESSAGE_TYPES[name])
    del data["created"]
    before = int(time.time())
    created = MESSAGE_TYPES[name].model_validate(data).created  # type: ignore[attr-defined]
    assert before <= created <= int(time.time())
