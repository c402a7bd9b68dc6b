"""The parameter tables: every parameter the installed ``openai`` client can send has a fate,
and each fate is what the adapters do."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from openai.resources.chat.completions import Completions as ChatCompletions
from openai.resources.completions import Completions as LegacyCompletions
from openai.types.chat import (
    ChatCompletionContentPartParam,
    ChatCompletionContentPartTextParam,
    ChatCompletionMessageParam,
)

from sagellm_protocol import ErrorCode, ProtocolError, Request
from sagellm_protocol.openai_compat import to_request
from sagellm_protocol.openai_completions import completion_to_request
from sagellm_protocol.openai_params import (
    CHAT_MESSAGE_FIELDS,
    CHAT_PARAMETERS,
    COMPLETION_PARAMETERS,
    EXTENSIONS,
    Parameter,
)
from sagellm_protocol.testing import MockEngine

# Arguments of create() that configure the HTTP call, not the request body.
TRANSPORT = frozenset({"self", "extra_headers", "extra_query", "extra_body", "timeout"})

CHAT_BODY: dict[str, Any] = {"model": "mock-7b", "messages": [{"role": "user", "content": "Hi"}]}
COMPLETION_BODY: dict[str, Any] = {"model": "mock-7b", "prompt": "Once"}

Adapter = Callable[[dict[str, Any]], Request]


def chat(body: dict[str, Any]) -> Request:
    """The Request for ``body``, with fixed ids (the client's trace_id when it gives one)."""
    return to_request(body, request_id="req-1", trace_id=body.get("trace_id") or "trace-1")


def legacy(body: dict[str, Any]) -> Request:
    """``chat`` for the legacy completions."""
    return completion_to_request(
        body, request_id="req-1", trace_id=body.get("trace_id") or "trace-1"
    )


def body_parameters(create: Callable[..., Any]) -> set[str]:
    return set(inspect.signature(create).parameters) - TRANSPORT


def problems(adapt: Adapter, body: dict[str, Any]) -> list[tuple[ErrorCode, str | None, str]]:
    with pytest.raises(ProtocolError) as caught:
        adapt(body)
    return [(error.code, error.param, error.message) for error in caught.value.errors]


# --- the tables cover the installed client -----------------------------------------------------


def test_every_chat_parameter_of_the_installed_client_has_a_fate() -> None:
    assert body_parameters(ChatCompletions.create) <= set(CHAT_PARAMETERS) - EXTENSIONS


def test_every_legacy_completion_parameter_of_the_installed_client_has_a_fate() -> None:
    assert body_parameters(LegacyCompletions.create) <= set(COMPLETION_PARAMETERS) - EXTENSIONS


def test_every_message_field_of_the_installed_client_has_a_fate() -> None:
    fields = {
        name
        for kind in typing.get_args(ChatCompletionMessageParam)
        for name in kind.__annotations__
    }
    fields |= {f"content[].{name}" for name in ChatCompletionContentPartTextParam.__annotations__}
    assert fields <= set(CHAT_MESSAGE_FIELDS)


def part_types() -> list[str]:
    found = []
    for kind in typing.get_args(ChatCompletionContentPartParam):
        (tag,) = typing.get_args(typing.get_type_hints(kind, include_extras=True)["type"])
        found.append(typing.get_args(tag)[0] if typing.get_args(tag) else tag)
    return found


@pytest.mark.parametrize("part_type", [kind for kind in part_types() if kind != "text"])
def test_every_content_part_type_but_text_is_refused_at_its_path(part_type: str) -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": part_type}]},
    ]
    rule = CHAT_MESSAGE_FIELDS["content[].type"].detail
    path = "messages[1].content[1].type"
    assert problems(chat, {**CHAT_BODY, "messages": messages}) == [
        (ErrorCode.INVALID_ARGUMENT, path, f"{path}: {rule}")
    ]


# --- each fate, parameter by parameter ---------------------------------------------------------

# A value of each parameter and what it becomes (mapped), or a value that asks for something
# (refused). A parameter missing here fails test_every_parameter_has_a_sample.
CHAT_MAPPED: dict[str, tuple[Any, Callable[[Request], Any], Any]] = {
    "messages": (
        [{"role": "user", "content": "Yo"}],
        lambda r: r.prompt,
        "user: Yo\nassistant:",
    ),
    "model": ("llama-3", lambda r: r.model, "llama-3"),
    "max_completion_tokens": (7, lambda r: r.max_tokens, 7),
    "max_tokens": (9, lambda r: r.max_tokens, 9),
    "stream": (True, lambda r: r.stream, True),
    "temperature": (0.5, lambda r: r.temperature, 0.5),
    "top_p": (0.25, lambda r: r.top_p, 0.25),
    "trace_id": ("trace-from-client", lambda r: r.trace_id, "trace-from-client"),
}
CHAT_CARRIED: dict[str, Any] = {
    "frequency_penalty": 0.5,
    "logit_bias": {"42": -100.0},
    "metadata": {"team": "search"},
    "presence_penalty": -0.5,
    "prompt_cache_key": "prefix-1",
    "prompt_cache_options": {"mode": "auto"},
    "prompt_cache_retention": "24h",
    "safety_identifier": "user-1",
    "seed": 7,
    "service_tier": "flex",
    "stop": ["\n\n"],
    "stream_options": {"include_usage": True},
    "user": "user-1",
    "session_id": "session-1",
}
CHAT_NO_OP: dict[str, list[Any]] = {"parallel_tool_calls": [True, False]}
CHAT_REFUSED: dict[str, Any] = {
    "audio": {"voice": "alloy", "format": "wav"},
    "function_call": {"name": "lookup"},
    "functions": [{"name": "lookup"}],
    "logprobs": True,
    "modalities": ["text", "audio"],
    "moderation": {"model": "omni"},
    "n": 2,
    "prediction": {"type": "content", "content": "draft"},
    "reasoning_effort": "high",
    "response_format": {"type": "json_object"},
    "store": True,
    "tool_choice": "required",
    "tools": [{"type": "function", "function": {"name": "lookup"}}],
    "top_logprobs": 3,
    "verbosity": "low",
    "web_search_options": {},
}

LEGACY_MAPPED: dict[str, tuple[Any, Callable[[Request], Any], Any]] = {
    "model": ("llama-3", lambda r: r.model, "llama-3"),
    "prompt": (["Twice"], lambda r: r.prompt, "Twice"),
    "max_tokens": (9, lambda r: r.max_tokens, 9),
    "stream": (True, lambda r: r.stream, True),
    "temperature": (0.5, lambda r: r.temperature, 0.5),
    "top_p": (0.25, lambda r: r.top_p, 0.25),
    "trace_id": ("trace-from-client", lambda r: r.trace_id, "trace-from-client"),
}
LEGACY_CARRIED: dict[str, Any] = {
    "frequency_penalty": 0.5,
    "logit_bias": {"42": -100.0},
    "presence_penalty": -0.5,
    "seed": 7,
    "stop": ["\n\n"],
    "stream_options": {"include_usage": True},
    "user": "user-1",
}
LEGACY_NO_OP: dict[str, list[Any]] = {}
LEGACY_REFUSED: dict[str, Any] = {
    "best_of": 2,
    "echo": True,
    "logprobs": 3,
    "n": 2,
    "suffix": " the end",
}

TABLES: list[tuple[str, Mapping[str, Parameter], list[Mapping[str, Any]]]] = [
    ("chat", CHAT_PARAMETERS, [CHAT_MAPPED, CHAT_CARRIED, CHAT_NO_OP, CHAT_REFUSED]),
    (
        "legacy",
        COMPLETION_PARAMETERS,
        [LEGACY_MAPPED, LEGACY_CARRIED, LEGACY_NO_OP, LEGACY_REFUSED],
    ),
]
FATES = ("mapped", "carried", "no-op", "refused")


@pytest.mark.parametrize(("table", "parameters", "samples"), TABLES, ids=[t[0] for t in TABLES])
def test_every_parameter_has_a_sample_of_its_fate(
    table: str, parameters: Mapping[str, Parameter], samples: list[Mapping[str, Any]]
) -> None:
    for fate, sampled in zip(FATES, samples, strict=True):
        assert set(sampled) == {name for name, p in parameters.items() if p.fate == fate}, fate


def cases(chat_samples: Mapping[str, Any], legacy_samples: Mapping[str, Any]) -> list[Any]:
    return [
        pytest.param(chat, CHAT_BODY, name, value, id=f"chat-{name}")
        for name, value in chat_samples.items()
    ] + [
        pytest.param(legacy, COMPLETION_BODY, name, value, id=f"legacy-{name}")
        for name, value in legacy_samples.items()
    ]


@pytest.mark.parametrize(("adapt", "body", "name", "sample"), cases(CHAT_MAPPED, LEGACY_MAPPED))
def test_a_mapped_parameter_sets_its_request_field(
    adapt: Adapter, body: dict[str, Any], name: str, sample: tuple[Any, Any, Any]
) -> None:
    value, read, expected = sample
    assert read(adapt(body)) != expected
    assert read(adapt({**body, name: value})) == expected


@pytest.mark.parametrize(("adapt", "body", "name", "value"), cases(CHAT_CARRIED, LEGACY_CARRIED))
def test_a_carried_parameter_travels_in_metadata_under_its_name(
    adapt: Adapter, body: dict[str, Any], name: str, value: Any
) -> None:
    request = adapt({**body, name: value})
    assert request.metadata == {"openai": {name: value}}


def no_op_cases() -> list[Any]:
    found = []
    for adapt, body, table, no_ops in (
        (chat, CHAT_BODY, CHAT_PARAMETERS, CHAT_NO_OP),
        (legacy, COMPLETION_BODY, COMPLETION_PARAMETERS, LEGACY_NO_OP),
    ):
        tag = "chat" if adapt is chat else "legacy"
        for name, values in no_ops.items():
            found += [pytest.param(adapt, body, name, v, id=f"{tag}-{name}-{v}") for v in values]
        for name, parameter in table.items():
            for value in (None, *parameter.no_op_values):
                if parameter.fate == "refused" or value is None:
                    found.append(pytest.param(adapt, body, name, value, id=f"{tag}-{name}-{value}"))
    return found


@pytest.mark.parametrize(("adapt", "body", "name", "value"), no_op_cases())
def test_a_value_that_asks_for_nothing_is_accepted_and_dropped(
    adapt: Adapter, body: dict[str, Any], name: str, value: Any
) -> None:
    if name in ("model", "messages", "prompt"):  # required: null is not "not given"
        assert problems(adapt, {**body, name: value})[0][1] == name
        return
    assert adapt({**body, name: value}) == adapt(body)


@pytest.mark.parametrize(("adapt", "body", "name", "value"), cases(CHAT_REFUSED, LEGACY_REFUSED))
def test_a_refused_parameter_is_invalid_argument_naming_it(
    adapt: Adapter, body: dict[str, Any], name: str, value: Any
) -> None:
    table = CHAT_PARAMETERS if adapt is chat else COMPLETION_PARAMETERS
    assert problems(adapt, {**body, name: value}) == [
        (ErrorCode.INVALID_ARGUMENT, name, f"{name}: {table[name].detail}")
    ]


# --- message fields -------------------------------------------------------------------------

MESSAGE_REFUSED: dict[str, tuple[str, Any]] = {
    "refusal": ("assistant", "I cannot."),
    "tool_calls": ("assistant", [{"id": "call-1", "type": "function"}]),
    "function_call": ("assistant", {"name": "lookup", "arguments": "{}"}),
    "tool_call_id": ("tool", "call-1"),
    "audio": ("assistant", {"id": "audio-1"}),
}


def test_every_refused_message_field_has_a_sample() -> None:
    refused = {name for name, p in CHAT_MESSAGE_FIELDS.items() if p.fate == "refused"}
    assert set(MESSAGE_REFUSED) == refused - {"content[].type"}


@pytest.mark.parametrize("field", MESSAGE_REFUSED)
def test_a_refused_message_field_is_refused_at_its_path(field: str) -> None:
    role, value = MESSAGE_REFUSED[field]
    messages = [{"role": "user", "content": "Hi"}, {"role": role, "content": "x", field: value}]
    path = f"messages[1].{field}"
    assert problems(chat, {**CHAT_BODY, "messages": messages}) == [
        (ErrorCode.INVALID_ARGUMENT, path, f"{path}: {CHAT_MESSAGE_FIELDS[field].detail}")
    ]


def test_an_empty_tool_call_list_and_null_fields_ask_for_nothing() -> None:
    plain = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "x"}]
    given = [
        plain[0],
        {**plain[1], "tool_calls": [], "refusal": None, "audio": None, "function_call": None},
    ]
    assert chat({**CHAT_BODY, "messages": given}) == chat({**CHAT_BODY, "messages": plain})


def test_a_developer_message_is_a_system_message() -> None:
    developer = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    request = chat({**CHAT_BODY, "messages": developer})
    assert request == chat({**CHAT_BODY, "messages": system})
    assert request.prompt == "system: Be brief.\nuser: Hi\nassistant:"


def test_text_parts_are_joined_with_newlines() -> None:
    parts = [
        {"type": "text", "text": "First."},
        {"type": "text", "text": "Second.", "prompt_cache_breakpoint": {"type": "ephemeral"}},
    ]
    request = chat({**CHAT_BODY, "messages": [{"role": "user", "content": parts}]})
    assert request.prompt == "user: First.\nSecond.\nassistant:"


def test_an_assistant_message_may_have_null_content() -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "Again"},
    ]
    assert chat({**CHAT_BODY, "messages": messages}).prompt == (
        "user: Hi\nassistant: \nuser: Again\nassistant:"
    )


@pytest.mark.parametrize("role", ["system", "developer", "user"])
def test_only_an_assistant_message_may_have_null_content(role: str) -> None:
    messages = [{"role": role, "content": None}]
    assert [p[:2] for p in problems(chat, {**CHAT_BODY, "messages": messages})] == [
        (ErrorCode.INVALID_ARGUMENT, "messages[0].content")
    ]


def test_max_tokens_and_max_completion_tokens_that_differ_are_refused_naming_both() -> None:
    [(code, param, message)] = problems(
        chat, {**CHAT_BODY, "max_tokens": 5, "max_completion_tokens": 6}
    )
    assert (code, param) == (ErrorCode.INVALID_ARGUMENT, "max_completion_tokens")
    assert "max_tokens" in message.removeprefix("max_completion_tokens")


def test_equal_max_tokens_and_max_completion_tokens_are_one_limit() -> None:
    assert chat({**CHAT_BODY, "max_tokens": 5, "max_completion_tokens": 5}).max_tokens == 5


# --- seed ---------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_output_whatever_the_request_ids() -> None:
    body = {**CHAT_BODY, "seed": 11, "max_tokens": 40}
    first, again = to_request(body), to_request(body)
    assert first.request_id != again.request_id
    engine = MockEngine()
    assert engine.generate(first).output_text == engine.generate(again).output_text


def test_other_seeds_give_other_outputs() -> None:
    engine = MockEngine()
    outputs = {
        engine.generate(to_request({**CHAT_BODY, "seed": seed, "max_tokens": 40})).output_text
        for seed in range(10)
    }
    assert len(outputs) > 1
