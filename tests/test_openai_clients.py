"""Today's OpenAI client against the served app over loopback: what it sends is mapped and
answered, what is refused comes back as the client's exception with our message and param,
and what the app writes has the keys of the client's own types."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import Completion, CompletionChoice
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageParam,
)
from openai.types.chat import chat_completion as whole_types
from openai.types.chat import chat_completion_chunk as chunk_types
from pydantic import BaseModel

from sagellm_protocol.asgi import create_app
from sagellm_protocol.testing import MockEngine

from .servers import http, running
from .test_openai_params import (
    CHAT_CARRIED,
    CHAT_MAPPED,
    CHAT_REFUSED,
    LEGACY_CARRIED,
    LEGACY_MAPPED,
    LEGACY_REFUSED,
    TRANSPORT,
)

MODEL = "mock-7b"
# What frameworks send today: a developer message, text parts, an assistant turn without
# content, then the question.
HISTORY: list[ChatCompletionMessageParam] = [
    {"role": "developer", "content": "Answer briefly."},
    {"role": "user", "content": [{"type": "text", "text": "Hi."}, {"type": "text", "text": "?"}]},
    {"role": "assistant", "content": None},
    {"role": "user", "content": "Tell me about streams."},
]
EXTENSIONS = {"trace_id"}  # keys of ours that OpenAI does not write


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with running(create_app(MockEngine())) as bound:
        yield bound


@pytest.fixture(scope="module")
def oai(port: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0, timeout=30
    )


@pytest.fixture(scope="module")
def raw(port: int) -> Iterator[Any]:
    with http.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as session:
        yield session


def chat_kwargs(**overrides: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": HISTORY,
        "max_completion_tokens": 20,
        "seed": 5,
        **overrides,
    }


# --- mapped parameters, streamed and not ----------------------------------------------------


def test_todays_chat_request_gets_an_answer(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(**chat_kwargs())
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert 0 < completion.usage.completion_tokens <= 20


def test_the_stream_with_include_usage_ends_with_the_usage_chunk(oai: openai.OpenAI) -> None:
    whole = oai.chat.completions.create(**chat_kwargs())
    chunks = list(
        oai.chat.completions.create(
            **chat_kwargs(stream=True, stream_options={"include_usage": True})
        )
    )
    *text_chunks, last = chunks
    assert (last.choices, last.usage) == ([], whole.usage)
    assert all(chunk.usage is None for chunk in text_chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in text_chunks)
    assert text == whole.choices[0].message.content


def test_a_stream_without_include_usage_has_no_usage_chunk(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(**chat_kwargs(stream=True)))
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)


def test_the_same_seed_gives_the_same_answer_and_other_seeds_others(oai: openai.OpenAI) -> None:
    answers = [
        oai.chat.completions.create(**chat_kwargs(seed=seed)).choices[0].message.content
        for seed in (1, 1, 2, 3, 4)
    ]
    assert answers[0] == answers[1]
    assert len(set(answers)) > 1


def test_max_completion_tokens_limits_the_answer(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(**chat_kwargs(max_completion_tokens=1))
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 1
    assert completion.choices[0].finish_reason == "length"


def test_values_that_ask_for_nothing_are_accepted(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        **chat_kwargs(
            n=1,
            logprobs=False,
            response_format={"type": "text"},
            tool_choice="none",
            parallel_tool_calls=False,
            store=False,
        )
    )
    assert completion.choices[0].message.content == (
        oai.chat.completions.create(**chat_kwargs()).choices[0].message.content
    )


def test_legacy_completions_streamed_with_usage_and_not(oai: openai.OpenAI) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "prompt": ["Once upon a time"], "seed": 3}
    whole = oai.completions.create(**kwargs)
    chunks = list(
        oai.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    )
    *text_chunks, last = chunks
    assert (last.choices, last.usage) == ([], whole.usage)
    assert "".join(chunk.choices[0].text for chunk in text_chunks) == whole.choices[0].text
    assert whole.choices[0].text == oai.completions.create(**kwargs).choices[0].text


def client_call(create: Any, body: dict[str, Any]) -> Any:
    """``create(**body)``, with the parameters the client does not know in ``extra_body``."""
    known = set(inspect.signature(create).parameters) - TRANSPORT
    extra = {name: value for name, value in body.items() if name not in known}
    answer = create(**{k: v for k, v in body.items() if k in known}, extra_body=extra or None)
    return list(answer) if body.get("stream") else [answer]


def given(samples: dict[str, Any]) -> list[Any]:
    return [pytest.param(name, value, id=name) for name, value in samples.items()]


MAPPED_AND_CARRIED = {
    **{name: value for name, (value, _, _) in CHAT_MAPPED.items() if name != "model"},
    **CHAT_CARRIED,
}
LEGACY_MAPPED_AND_CARRIED = {
    **{name: value for name, (value, _, _) in LEGACY_MAPPED.items() if name != "model"},
    **LEGACY_CARRIED,
}


@pytest.mark.parametrize(("name", "value"), given(MAPPED_AND_CARRIED))
def test_each_mapped_or_carried_chat_parameter_gets_an_answer(
    oai: openai.OpenAI, name: str, value: Any
) -> None:
    body = {"model": MODEL, "messages": HISTORY, name: value}
    answers = client_call(oai.chat.completions.create, body)
    text = "".join(
        (choice.delta.content or "") if body.get("stream") else (choice.message.content or "")
        for answer in answers
        for choice in answer.choices
    )
    assert text


@pytest.mark.parametrize(("name", "value"), given(LEGACY_MAPPED_AND_CARRIED))
def test_each_mapped_or_carried_legacy_parameter_gets_an_answer(
    oai: openai.OpenAI, name: str, value: Any
) -> None:
    body = {"model": MODEL, "prompt": "Once", name: value}
    answers = client_call(oai.completions.create, body)
    assert "".join(choice.text for answer in answers for choice in answer.choices)


@pytest.mark.parametrize(("name", "value"), given(CHAT_REFUSED))
def test_each_refused_chat_parameter_is_a_bad_request_naming_it(
    oai: openai.OpenAI, name: str, value: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client_call(oai.chat.completions.create, {"model": MODEL, "messages": HISTORY, name: value})
    assert (caught.value.code, caught.value.param) == ("invalid_argument", name)


@pytest.mark.parametrize(("name", "value"), given(LEGACY_REFUSED))
def test_each_refused_legacy_parameter_is_a_bad_request_naming_it(
    oai: openai.OpenAI, name: str, value: Any
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client_call(oai.completions.create, {"model": MODEL, "prompt": "Once", name: value})
    assert (caught.value.code, caught.value.param) == ("invalid_argument", name)


# --- refusals ------------------------------------------------------------------------------

IMAGE_PART: Any = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"messages": [*HISTORY[:3], {"role": "user", "content": [IMAGE_PART]}]},
        "messages[3].content[0].type",
        "must be text",
    ),
    ({"n": 2}, "n", "must be 1"),
    ({"logprobs": True}, "logprobs", "must be false"),
    (
        {"tools": [{"type": "function", "function": {"name": "lookup"}}]},
        "tools",
        "must be empty",
    ),
    ({"response_format": {"type": "json_object"}}, "response_format", "must be of type text"),
    ({"max_tokens": 5, "max_completion_tokens": 6}, "max_completion_tokens", "max_tokens"),
]


@pytest.mark.parametrize(("overrides", "param", "rule"), REFUSED, ids=[r[1] for r in REFUSED])
def test_a_refused_parameter_is_a_bad_request_naming_it(
    oai: openai.OpenAI, overrides: dict[str, Any], param: str, rule: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(**chat_kwargs(**overrides))
    error = caught.value
    assert (error.status_code, error.code, error.param) == (400, "invalid_argument", param)
    assert isinstance(error.body, dict)
    assert error.body["message"].startswith(f"{param}: ")
    assert rule in error.body["message"]


# --- the keys OpenAI writes --------------------------------------------------------------


def data_lines(reply: Any) -> list[dict[str, Any]]:
    lines = reply.text.split("\n\n")
    payloads = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    return [json.loads(payload) for payload in payloads[:-1]]


def keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def required(model: type[BaseModel]) -> set[str]:
    return {name for name, field in model.model_fields.items() if field.is_required()}


def assert_written_as_openai(data: dict[str, Any], model: type[BaseModel]) -> None:
    assert required(model) <= set(data) <= keys(model) | EXTENSIONS


def test_chat_chunks_have_the_keys_of_the_clients_chunk_type(raw: Any) -> None:
    body = {**chat_kwargs(stream=True, stream_options={"include_usage": True})}
    chunks = data_lines(raw.post("/v1/chat/completions", json=body))
    for chunk in chunks:
        assert_written_as_openai(chunk, ChatCompletionChunk)
        assert "usage" in chunk
        for choice in chunk["choices"]:
            assert set(choice) == keys(chunk_types.Choice)
            assert set(choice["delta"]) <= keys(chunk_types.ChoiceDelta)
    assert set(chunks[0]["choices"][0]["delta"]) == {"role", "content", "refusal"}
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks[:-2]] == [None] * (
        len(chunks) - 2
    )


def test_a_chat_completion_has_the_keys_of_the_clients_type(raw: Any) -> None:
    completion = raw.post("/v1/chat/completions", json=chat_kwargs()).json()
    assert_written_as_openai(completion, ChatCompletion)
    (choice,) = completion["choices"]
    assert set(choice) == keys(whole_types.Choice)
    assert_written_as_openai(choice["message"], ChatCompletionMessage)
    assert "refusal" in choice["message"]


def test_legacy_chunks_and_completions_have_the_keys_of_the_clients_types(raw: Any) -> None:
    body = {"model": MODEL, "prompt": "Once", "stream_options": {"include_usage": True}}
    chunks = data_lines(raw.post("/v1/completions", json={**body, "stream": True}))
    whole = raw.post("/v1/completions", json=body).json()
    for data in [*chunks, whole]:
        assert_written_as_openai(data, Completion)
        for choice in data["choices"]:
            assert set(choice) == keys(CompletionChoice)
    assert all("usage" in chunk for chunk in chunks)
