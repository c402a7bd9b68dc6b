"""The legacy text completions adapter: request mapping, refusals by name, the response shape."""

from __future__ import annotations

from typing import Any

import pytest

from sagellm_protocol import Error, ErrorCode, ProtocolError, Response
from sagellm_protocol.openai_completions import (
    DEFAULT_COMPLETION_MAX_TOKENS,
    CompletionRequest,
    completion_to_request,
    to_completion,
)
from sagellm_protocol.testing import example

BODY = {"model": "m", "prompt": "Say hi"}


def test_a_minimal_body_maps_with_openais_default_of_16_tokens() -> None:
    request = completion_to_request(BODY, request_id="r-1", trace_id="t-1")
    assert (request.model, request.prompt, request.max_tokens, request.stream) == (
        "m",
        "Say hi",
        DEFAULT_COMPLETION_MAX_TOKENS,
        False,
    )
    assert DEFAULT_COMPLETION_MAX_TOKENS == 16
    assert (request.request_id, request.trace_id, request.metadata) == ("r-1", "t-1", None)


def test_a_prompt_may_be_a_list_of_one_string() -> None:
    assert completion_to_request({**BODY, "prompt": ["Say hi"]}).prompt == "Say hi"


@pytest.mark.parametrize(
    ("prompt", "param"),
    [(["a", "b"], "prompt"), ([], "prompt"), ([1, 2, 3], "prompt"), ([[1, 2]], "prompt[0]")],
    ids=["two prompts", "none", "token ids", "token id lists"],
)
def test_other_prompts_are_refused_naming_the_prompt(prompt: Any, param: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        completion_to_request({**BODY, "prompt": prompt})
    assert [error.param for error in caught.value.errors] == [param]


def test_parameters_are_mapped_or_carried() -> None:
    request = completion_to_request(
        {
            **BODY,
            "max_tokens": 5,
            "stream": True,
            "temperature": 0,
            "top_p": 0.5,
            "stop": ["\n"],
            "presence_penalty": 0.5,
            "user": "u-1",
            "trace_id": "t-9",
        }
    )
    assert (request.max_tokens, request.stream, request.temperature, request.top_p) == (
        5,
        True,
        None,
        0.5,
    )
    assert request.trace_id == "t-9"
    assert request.metadata == {
        "openai": {"stop": ["\n"], "presence_penalty": 0.5, "user": "u-1", "temperature": 0}
    }


@pytest.mark.parametrize(
    "noop", [{"echo": False}, {"suffix": None}, {"best_of": 1}, {"n": 1}], ids=str
)
def test_values_that_ask_for_nothing_are_accepted(noop: dict[str, Any]) -> None:
    assert completion_to_request({**BODY, **noop}).metadata is None


def test_what_a_request_cannot_give_is_refused_naming_every_parameter() -> None:
    with pytest.raises(ProtocolError) as caught:
        completion_to_request({**BODY, "n": 2, "best_of": 3, "echo": True, "suffix": "!"})
    assert [(e.code, e.param) for e in caught.value.errors] == [
        (ErrorCode.INVALID_ARGUMENT, "n"),
        (ErrorCode.INVALID_ARGUMENT, "echo"),
        (ErrorCode.INVALID_ARGUMENT, "suffix"),
        (ErrorCode.INVALID_ARGUMENT, "best_of"),
    ]


def test_an_unknown_parameter_is_refused_naming_it() -> None:
    with pytest.raises(ProtocolError) as caught:
        completion_to_request({**BODY, "functions": []})
    assert [e.param for e in caught.value.errors] == ["functions"]


def test_a_response_becomes_a_text_completion() -> None:
    response = example(
        Response, output_text="Hi there", output_tokens=[1, 2], finish_reason="length"
    )
    completion = to_completion(response, model="m", prompt_tokens=3, created=5)
    assert completion.model_dump(exclude_none=True) == {
        "id": "cmpl-req-001",
        "object": "text_completion",
        "created": 5,
        "model": "m",
        "choices": [{"text": "Hi there", "index": 0, "finish_reason": "length", "logprobs": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "trace_id": "trace-001",
    }
    assert CompletionRequest.model_validate(BODY).prompt == "Say hi"


def test_an_error_response_is_not_a_completion() -> None:
    error = Error(code=ErrorCode.UNAVAILABLE, message="down")
    with pytest.raises(ProtocolError) as caught:
        to_completion(example(Response, finish_reason="error", error=error), model="m")
    assert caught.value.errors == [error]
