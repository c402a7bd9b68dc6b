"""OpenAI compatibility: the adapters, proven against the real openai client (no network).

The openai client is a test dependency; without it the tests that drive it are skipped, and
the others run.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from sagellm_protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamResponse,
    EmbeddingData,
    EmbeddingResponse,
    EmbeddingUsage,
    Error,
    ErrorCode,
    ModelInfo,
    ModelListResponse,
    ProtocolError,
    Request,
    Response,
    decode,
    encode,
)
from sagellm_protocol.openai_compat import (
    DEFAULT_MAX_TOKENS,
    OPENAI_ERROR_TYPES,
    render_prompt,
    stream_to_openai_sse,
    to_chat_completion,
    to_openai_error,
    to_request,
)
from sagellm_protocol.sse import DONE_FRAME
from sagellm_protocol.streaming import split_response
from sagellm_protocol.testing import example, example_data

if TYPE_CHECKING:
    import openai

Handler = Callable[[Any], Any]


def _openai() -> Any:
    """The openai package, or a skip of the calling test when it is not installed."""
    return pytest.importorskip("openai")


def _http() -> Any:
    """The HTTP library of the openai client: newer releases use their own fork of httpx."""
    _openai()
    return importlib.import_module("httpx2" if importlib.util.find_spec("httpx2") else "httpx")


def client(handler: Handler) -> openai.OpenAI:
    """An openai client whose HTTP requests go to ``handler`` (no network, no retries)."""
    http = _http()
    transport = http.MockTransport(handler)
    return _openai().OpenAI(  # type: ignore[no-any-return]
        api_key="test-key",
        base_url="http://gateway.test/v1",
        http_client=http.Client(transport=transport),
        max_retries=0,
    )


def recorder(reply: Handler) -> tuple[list[dict[str, Any]], Handler]:
    """A handler that records every JSON body it receives and answers with ``reply``."""
    bodies: list[dict[str, Any]] = []

    def handle(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        return reply(request)

    return bodies, handle


def json_reply(status: int, body: bytes) -> Handler:
    return lambda request: _http().Response(
        status, content=body, headers={"content-type": "application/json"}
    )


def sse_reply(body: bytes) -> Handler:
    return lambda request: _http().Response(
        200, content=body, headers={"content-type": "text/event-stream"}
    )


TEXT = "你好，世界！流式输出 🙂👍🏽 done"  # noqa: RUF001 - Chinese punctuation on purpose


def a_response(text: str = TEXT) -> Response:
    return example(Response, output_text=text, output_tokens=list(range(12)))


# --- (a) what the client sends validates and adapts, with nothing lost ----------------------


def test_client_request_body_validates_and_adapts() -> None:
    bodies, handler = recorder(json_reply(200, encode(to_chat_completion(a_response(), model="m"))))
    client(handler).chat.completions.create(
        model="llama2-7b",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "name": "alice"},
        ],
        stop=["\n\n", "END"],
        temperature=0,
        user="user-42",
        max_tokens=64,
    )
    (body,) = bodies
    chat = decode(ChatCompletionRequest, body)
    request = to_request(body, request_id="req-1")
    assert (
        chat.model_dump(mode="json", exclude_unset=True) == body
    )  # nothing the client sent is lost
    assert request.model == "llama2-7b"
    assert request.max_tokens == 64
    assert request.stream is False
    assert request.temperature is None
    assert request.prompt == "system: Be brief.\nuser (alice): Hi\nassistant:"
    assert request.metadata == {
        "openai": {
            "stop": ["\n\n", "END"],
            "user": "user-42",
            "temperature": 0,
            "names": [None, "alice"],
        }
    }


def test_streamed_client_request_body_adapts() -> None:
    wire = b"".join(stream_to_openai_sse(split_response(a_response()), model="m"))
    bodies, handler = recorder(sse_reply(wire))
    stream = client(handler).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        temperature=0.5,
        top_p=0.9,
    )
    list(stream)
    request = to_request(bodies[0])
    assert (request.stream, request.temperature, request.top_p, request.metadata) == (
        True,
        0.5,
        0.9,
        None,
    )


def _carried(request: Request, name: str) -> Any:
    assert request.metadata is not None
    return request.metadata["openai"][name]


# Where each ChatCompletionRequest field goes in to_request: no field disappears.
FIELD_DESTINATIONS: dict[str, tuple[str, Any, Callable[[Request], Any]]] = {
    "model": ("Request.model", "m2", lambda r: r.model),
    "messages": ("Request.prompt", [{"role": "user", "content": "Q?"}], lambda r: r.prompt),
    "temperature": ("Request.temperature", 0.3, lambda r: r.temperature),
    "max_tokens": ("Request.max_tokens", 9, lambda r: r.max_tokens),
    "stream": ("Request.stream", True, lambda r: r.stream),
    "top_p": ("Request.top_p", 0.5, lambda r: r.top_p),
    "n": ("rejected unless 1 (see test_n_above_one_is_rejected)", 1, lambda r: 1),
    "stop": ('metadata["openai"]["stop"]', "###", lambda r: _carried(r, "stop")),
    "presence_penalty": (
        'metadata["openai"]["presence_penalty"]',
        0.5,
        lambda r: _carried(r, "presence_penalty"),
    ),
    "frequency_penalty": (
        'metadata["openai"]["frequency_penalty"]',
        -0.5,
        lambda r: _carried(r, "frequency_penalty"),
    ),
    "user": ('metadata["openai"]["user"]', "u-1", lambda r: _carried(r, "user")),
    "session_id": (
        'metadata["openai"]["session_id"]',
        "s-1",
        lambda r: _carried(r, "session_id"),
    ),
    "trace_id": ("Request.trace_id", "trace-9", lambda r: r.trace_id),
}


def test_every_chat_field_has_a_destination() -> None:
    assert set(FIELD_DESTINATIONS) == set(ChatCompletionRequest.model_fields)


@pytest.mark.parametrize("field", list(FIELD_DESTINATIONS))
def test_field_arrives_where_the_table_says(field: str) -> None:
    _where, value, read = FIELD_DESTINATIONS[field]
    request = to_request({**example_data(ChatCompletionRequest), field: value})
    expected = "user: Q?\nassistant:" if field == "messages" else value
    assert read(request) == expected


def test_temperature_zero_is_carried_not_dropped() -> None:
    request = to_request(example(ChatCompletionRequest, temperature=0.0))
    assert request.temperature is None
    assert request.metadata == {"openai": {"temperature": 0}}


def test_defaults_the_client_did_not_send_are_not_carried() -> None:
    request = to_request(example(ChatCompletionRequest))
    assert request.metadata is None
    assert request.temperature == 1.0  # OpenAI's default, passed on rather than left to the engine
    assert request.max_tokens == DEFAULT_MAX_TOKENS
    assert to_request(example(ChatCompletionRequest), default_max_tokens=7).max_tokens == 7


def test_ids_are_generated_or_taken() -> None:
    first = to_request(example(ChatCompletionRequest))
    second = to_request(example(ChatCompletionRequest))
    assert first.request_id != second.request_id
    assert first.request_id.startswith("req-")
    assert first.trace_id.startswith("trace-")
    taken = to_request(example(ChatCompletionRequest, trace_id="t-7"), request_id="r-7")
    assert (taken.request_id, taken.trace_id) == ("r-7", "t-7")
    assert (
        to_request(example(ChatCompletionRequest, trace_id="t-7"), trace_id="t-8").trace_id == "t-8"
    )


def test_render_is_replaceable() -> None:
    request = to_request(
        example(ChatCompletionRequest), render=lambda messages: messages[-1].content
    )
    assert request.prompt == "Hello!"


def test_default_render() -> None:
    chat = example(
        ChatCompletionRequest,
        messages=[
            {"role": "system", "content": "S"},
            {"role": "user", "content": "U", "name": "bob"},
        ],
    )
    assert render_prompt(chat.messages) == "system: S\nuser (bob): U\nassistant:"


@pytest.mark.parametrize(
    "parameter", ["tools", "best_of", "response_format", "logprobs", "tool_choice"]
)
def test_unmodelled_or_refused_parameter_is_rejected_naming_it(parameter: str) -> None:
    body = {**example_data(ChatCompletionRequest), parameter: 1}
    with pytest.raises(ProtocolError) as caught:
        to_request(body)
    assert [(e.code, e.param) for e in caught.value.errors] == [
        (ErrorCode.INVALID_ARGUMENT, parameter)
    ]


def test_n_above_one_is_rejected() -> None:
    with pytest.raises(ProtocolError) as caught:
        to_request(example(ChatCompletionRequest, n=2))
    assert [(e.code, e.param) for e in caught.value.errors] == [(ErrorCode.INVALID_ARGUMENT, "n")]


def test_a_request_that_does_not_fit_is_rejected() -> None:
    with pytest.raises(ProtocolError) as caught:
        to_request(example(ChatCompletionRequest), render=lambda messages: "\ud800")
    assert [e.param for e in caught.value.errors] == ["prompt"]
    with pytest.raises(ProtocolError) as caught:
        to_request(example(ChatCompletionRequest), request_id="")
    assert [e.param for e in caught.value.errors] == ["request_id"]


# --- (b) the client parses what we send ---------------------------------------------------------


def test_client_parses_a_completion() -> None:
    response = a_response()
    body = to_chat_completion(response, model="llama2-7b", prompt_tokens=5, created=1_700_000_000)
    completion = client(json_reply(200, encode(body))).chat.completions.create(
        model="llama2-7b", messages=[{"role": "user", "content": "Hi"}]
    )
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == (5, 12, 17)
    assert completion.id == "chatcmpl-req-001"


def test_completion_shapes() -> None:
    body = to_chat_completion(example(Response, finish_reason="length"), model="m")
    assert body.choices[0].finish_reason == "length"
    assert body.trace_id == "trace-001"
    assert decode(ChatCompletionResponse, encode(body)) == body


def test_an_error_response_is_not_a_completion() -> None:
    error = Error(code=ErrorCode.RESOURCE_EXHAUSTED, message="KV cache full", retryable=True)
    with pytest.raises(ProtocolError) as caught:
        to_chat_completion(example(Response, finish_reason="error", error=error), model="m")
    assert caught.value.errors == [error]


@pytest.mark.parametrize("tokens_per_delta", [1, 3])
def test_client_reassembles_our_stream(tokens_per_delta: int) -> None:
    events = split_response(a_response(), tokens_per_delta=tokens_per_delta)
    wire = b"".join(stream_to_openai_sse(events, model="m"))
    stream = client(sse_reply(wire)).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len({chunk.id for chunk in chunks}) == 1


def test_stream_frames_are_valid_chunks_and_end_with_done() -> None:
    frames = list(
        stream_to_openai_sse(split_response(a_response()), model="m", id="chatcmpl-x", created=5)
    )
    assert frames[-1] == DONE_FRAME
    for frame in frames[:-1]:
        assert frame.startswith(b"data: ")
        assert frame.endswith(b"\n\n")
        chunk = decode(ChatCompletionStreamResponse, frame[len(b"data: ") : -2])
        assert (chunk.id, chunk.created, chunk.model) == ("chatcmpl-x", 5, "m")


def test_a_broken_stream_is_refused() -> None:
    events = split_response(a_response())
    with pytest.raises(ProtocolError):
        list(stream_to_openai_sse(events[1:], model="m"))
    with pytest.raises(ProtocolError, match="no end event"):
        list(stream_to_openai_sse(events[:-1], model="m"))


def test_client_raises_on_an_error_frame() -> None:
    error = Error(code=ErrorCode.UNAVAILABLE, message="engine restarted", param=None)
    response = example(
        Response, output_text="Hi", output_tokens=[1], finish_reason="error", error=error
    )
    wire = b"".join(stream_to_openai_sse(split_response(response), model="m"))
    stream = client(sse_reply(wire)).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    with pytest.raises(_openai().APIError) as caught:
        list(stream)
    assert caught.value.message == "engine restarted"
    assert caught.value.code == "unavailable"


def test_client_parses_our_model_list() -> None:
    models = ModelListResponse(
        data=[ModelInfo(id="llama2-7b", created=1), ModelInfo(id="qwen-7b", created=2)]
    )
    page = client(json_reply(200, encode(models))).models.list()
    assert [model.id for model in page.data] == ["llama2-7b", "qwen-7b"]
    assert page.data[0].owned_by == "sagellm"


def test_client_accepts_float_embeddings_when_it_asked_for_base64() -> None:
    vectors = [[0.25, -0.5, 0.125], [1.0, 0.0, -1.0]]
    body = EmbeddingResponse(
        data=[EmbeddingData(embedding=v, index=i) for i, v in enumerate(vectors)],
        model="bge-small",
        usage=EmbeddingUsage(prompt_tokens=4, total_tokens=4),
    )
    bodies, handler = recorder(json_reply(200, encode(body)))
    result = client(handler).embeddings.create(model="bge-small", input=["a", "b"])
    assert bodies[0]["encoding_format"] == "base64"  # the client's default request
    assert [item.embedding for item in result.data] == vectors


# --- (c) errors: the client raises the class of our HTTP status with our fields ----------------

ERROR_CLASSES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_ARGUMENT: "BadRequestError",
    ErrorCode.RESOURCE_EXHAUSTED: "RateLimitError",
    ErrorCode.UNAVAILABLE: "InternalServerError",
    ErrorCode.DEADLINE_EXCEEDED: "InternalServerError",
    ErrorCode.NOT_IMPLEMENTED: "InternalServerError",
}
"""The openai exception class the client raises for each code's HTTP status."""


@pytest.mark.parametrize("code", list(ErrorCode))
def test_client_raises_the_matching_error(code: ErrorCode) -> None:
    error = Error(code=code, message=f"{code.value} happened", param="messages[0].content")
    status, body = to_openai_error(error)
    assert status == code.http_status
    assert body.error.type == OPENAI_ERROR_TYPES[code]
    error_class: type[openai.APIStatusError] = getattr(_openai(), ERROR_CLASSES[code])
    with pytest.raises(error_class) as caught:
        client(json_reply(status, encode(body))).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}]
        )
    assert caught.value.status_code == status
    assert f"{code.value} happened" in caught.value.message
    assert caught.value.param == "messages[0].content"
    assert caught.value.code == code.value
    assert caught.value.type == OPENAI_ERROR_TYPES[code]


def test_error_type_table_covers_every_code() -> None:
    assert set(OPENAI_ERROR_TYPES) == set(ErrorCode)
