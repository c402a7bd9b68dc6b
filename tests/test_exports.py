"""The public surface: every public name, importable where downstream code imports it."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from enum import Enum

import pytest

import sagellm_protocol

PUBLIC_NAMES = {
    "__version__",
    "PROTOCOL_VERSION",
    "Request",
    "Response",
    "Metrics",
    "StreamEvent",
    "StreamEventStart",
    "StreamEventDelta",
    "StreamEventEnd",
    "StartEvent",
    "DeltaEvent",
    "EndEvent",
    "Error",
    "ErrorCode",
    "Timestamps",
    "KVDType",
    "KVLayout",
    "KVAllocateParams",
    "KVHandle",
    "KVEvictReason",
    "KVMigrateParams",
    "ChatMessage",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionChoice",
    "ChatCompletionUsage",
    "ChatCompletionStreamResponse",
    "ChatCompletionStreamChoice",
    "ChatCompletionStreamDelta",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmbeddingData",
    "EmbeddingUsage",
    "ModelInfo",
    "ModelListResponse",
    "OpenAIError",
    "OpenAIErrorResponse",
    "ProtocolError",
    "decode",
    "encode",
    "PROTOCOL_VERSION_HEADER",
    "SSE_MEDIA_TYPE",
}

SUBMODULE_NAMES = {
    "types": [
        "Request",
        "Response",
        "Metrics",
        "StreamEvent",
        "StreamEventStart",
        "StreamEventDelta",
        "StreamEventEnd",
        "StartEvent",
        "DeltaEvent",
        "EndEvent",
    ],
    "errors": ["Error", "ErrorCode", "ProtocolError"],
    "timestamps": ["Timestamps"],
    "kv_hooks": [
        "KVDType",
        "KVLayout",
        "KVAllocateParams",
        "KVHandle",
        "KVEvictReason",
        "KVMigrateParams",
    ],
    "openai_types": [
        "ChatMessage",
        "ChatCompletionRequest",
        "ChatCompletionResponse",
        "ChatCompletionChoice",
        "ChatCompletionUsage",
        "ChatCompletionStreamResponse",
        "ChatCompletionStreamChoice",
        "ChatCompletionStreamDelta",
        "EmbeddingRequest",
        "EmbeddingResponse",
        "EmbeddingData",
        "EmbeddingUsage",
        "ModelInfo",
        "ModelListResponse",
        "OpenAIError",
        "OpenAIErrorResponse",
    ],
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(sagellm_protocol.__all__) == PUBLIC_NAMES
    assert len(sagellm_protocol.__all__) == len(set(sagellm_protocol.__all__))


def test_every_public_name_is_defined() -> None:
    for name in sagellm_protocol.__all__:
        assert hasattr(sagellm_protocol, name), name


@pytest.mark.parametrize(("module", "names"), list(SUBMODULE_NAMES.items()))
def test_submodules_export_the_same_objects(module: str, names: list[str]) -> None:
    submodule = importlib.import_module(f"sagellm_protocol.{module}")
    for name in names:
        assert name in submodule.__all__, name
        assert getattr(submodule, name) is getattr(sagellm_protocol, name), name


MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(sagellm_protocol.__path__, "sagellm_protocol.")
    if not info.name.endswith("__main__")
)


def test_the_package_has_the_expected_modules() -> None:
    assert {"sagellm_protocol.codec", "sagellm_protocol.testing.strategies"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_declares_all_and_defines_it(module: str) -> None:
    submodule = importlib.import_module(module)
    assert isinstance(submodule.__all__, list), module
    for name in submodule.__all__:
        assert hasattr(submodule, name), f"{module}.{name}"
        assert not name.startswith("_") or name == "__version__", f"{module}.{name}"


def test_event_aliases_are_the_same_classes() -> None:
    assert sagellm_protocol.StartEvent is sagellm_protocol.StreamEventStart
    assert sagellm_protocol.DeltaEvent is sagellm_protocol.StreamEventDelta
    assert sagellm_protocol.EndEvent is sagellm_protocol.StreamEventEnd


def test_stream_event_is_the_discriminated_union() -> None:
    union, field_info = typing.get_args(sagellm_protocol.StreamEvent)
    assert typing.get_args(union) == (
        sagellm_protocol.StreamEventStart,
        sagellm_protocol.StreamEventDelta,
        sagellm_protocol.StreamEventEnd,
    )
    assert field_info.discriminator == "event"


def test_the_package_version_starts_with_the_contract_version() -> None:
    major, minor, patch = sagellm_protocol.__version__.split(".")
    assert f"{major}.{minor}" == sagellm_protocol.PROTOCOL_VERSION == "0.1"
    assert patch.isdigit()


ENUMS: dict[type[Enum], dict[str, str]] = {
    sagellm_protocol.ErrorCode: {
        "INVALID_ARGUMENT": "invalid_argument",
        "RESOURCE_EXHAUSTED": "resource_exhausted",
        "UNAVAILABLE": "unavailable",
        "DEADLINE_EXCEEDED": "deadline_exceeded",
        "NOT_IMPLEMENTED": "not_implemented",
    },
    sagellm_protocol.KVDType: {"FP16": "fp16", "BF16": "bf16", "FP8": "fp8", "INT8": "int8"},
    sagellm_protocol.KVLayout: {"BSHD": "bshd", "BHSD": "bhsd"},
    sagellm_protocol.KVEvictReason: {
        "MEMORY_PRESSURE": "memory_pressure",
        "TTL_EXPIRED": "ttl_expired",
        "EXPLICIT_FREE": "explicit_free",
    },
}


@pytest.mark.parametrize("enum", list(ENUMS))
def test_enum_members_and_values(enum: type[Enum]) -> None:
    assert {member.name: member.value for member in enum} == ENUMS[enum]
    assert issubclass(enum, str)


def _modules_loaded_by(statement: str) -> set[str]:
    import json
    import subprocess
    import sys

    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_importing_the_package_stays_cheap() -> None:
    loaded = _modules_loaded_by("import sagellm_protocol")
    for heavy in (
        "sagellm_protocol.cli",
        "sagellm_protocol.schema",
        "sagellm_protocol.compat",
        "sagellm_protocol.openai_compat",
        "sagellm_protocol.metrics",
        "sagellm_protocol.testing",
        "sagellm_protocol.http",
        "sagellm_protocol.asgi",
        "sagellm_protocol.engine",
        "asyncio",
        "argparse",
        "hypothesis",
    ):
        assert heavy not in loaded, heavy


def test_the_http_app_needs_no_web_framework() -> None:
    loaded = _modules_loaded_by("import sagellm_protocol.asgi")
    for framework in ("uvicorn", "starlette", "fastapi", "httpx", "httpx2", "anyio", "h11"):
        assert framework not in loaded, framework


def test_the_testing_kit_does_not_need_hypothesis() -> None:
    loaded = _modules_loaded_by(
        "import sagellm_protocol.testing as kit; kit.MockEngine(); kit.example"
    )
    assert "hypothesis" not in loaded
    assert "sagellm_protocol.testing.strategies" not in loaded
