"""The ASGI app over real HTTP: a uvicorn on a loopback ephemeral port, real clients."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from sagellm_protocol import (
    PROTOCOL_VERSION,
    ModelInfo,
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
    decode,
    encode,
)
from sagellm_protocol.asgi import create_app
from sagellm_protocol.sse import SSEDecoder
from sagellm_protocol.streaming import StreamAssembler
from sagellm_protocol.testing import VOCABULARY, MockEngine

from .servers import http, raw_exchange, running

BODY_LIMIT = 65536
ENDLESS_TOKENS = 10_000  # at 10 ms each: far longer than any test waits


class Engine:
    """MockEngine's models, plus models that misbehave on purpose, and a record of closes."""

    def __init__(self) -> None:
        self.mock = MockEngine(seed=3)
        self.faulty = MockEngine(seed=3, fault="unavailable", fault_after_tokens=2)
        self.endless_closed = threading.Event()
        self.endless_yielded = 0

    def models(self) -> list[ModelInfo]:
        extra = ["faulty", "endless", "broken", "crash"]
        return [*self.mock.models(), *(ModelInfo(id=name, created=0) for name in extra)]

    def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        special = {
            "faulty": self.faulty.astream,
            "endless": self._endless,
            "broken": self._broken,
            "crash": self._crash,
        }
        return special.get(request.model, self.mock.astream)(request)

    async def _endless(self, request: Request) -> AsyncIterator[StreamEvent]:
        request_id, trace_id = request.request_id, request.trace_id
        try:
            yield StreamEventStart(request_id=request_id, trace_id=trace_id)
            for _ in range(ENDLESS_TOKENS):
                await asyncio.sleep(0.01)
                self.endless_yielded += 1
                yield delta(request_id, trace_id, " tok", [1])
        finally:
            self.endless_closed.set()

    async def _broken(self, request: Request) -> AsyncIterator[StreamEvent]:
        yield StreamEventStart(request_id=request.request_id, trace_id=request.trace_id)
        yield delta(request.request_id, request.trace_id, " ok", [1])
        yield delta("another", request.trace_id, "", [])

    async def _crash(self, request: Request) -> AsyncIterator[StreamEvent]:
        nothing: tuple[StreamEvent, ...] = ()
        for event in nothing:  # an async generator that fails before its first event
            yield event
        raise RuntimeError(f"crashed on {request.prompt}")


def delta(request_id: str, trace_id: str, chunk: str, tokens: list[int]) -> StreamEventDelta:
    return StreamEventDelta(
        request_id=request_id, trace_id=trace_id, chunk=chunk, chunk_tokens=tokens
    )


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="module")
def port(engine: Engine) -> Iterator[int]:
    with running(create_app(engine, max_body_size=BODY_LIMIT)) as bound:
        yield bound


@pytest.fixture(scope="module")
def client(port: int) -> Iterator[Any]:
    with http.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as session:
        yield session


@pytest.fixture(scope="module")
def oai(port: int) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)


def a_request(**overrides: Any) -> dict[str, Any]:
    fields = {
        "request_id": "req-1",
        "trace_id": "trace-1",
        "model": "mock-7b",
        "prompt": "Explain SSE.",
        "max_tokens": 12,
        "stream": False,
    }
    return {**fields, **overrides}


def json_body(reply: Any) -> Any:
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-sagellm-protocol-version"] == PROTOCOL_VERSION
    return reply.json()


def sse_events(data: bytes) -> list[StreamEvent]:
    decoder = SSEDecoder()
    events = decoder.feed(data)
    decoder.close()
    return events


CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me about streams."}]


# --- the real openai client ----------------------------------------------------------------------


def test_openai_client_chat_answer_with_usage(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="mock-7b", messages=CHAT, max_tokens=10)
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert completion.usage is not None
    prompt = "user: Tell me about streams.\nassistant:"
    assert completion.usage.prompt_tokens == len(prompt) // 4  # what MockEngine counts
    words = [word for word in VOCABULARY if word and choice.message.content.startswith(word)]
    assert words  # text from the mock vocabulary
    assert completion.usage.completion_tokens <= 10
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_openai_client_stream_assembles_to_the_same_answer(oai: openai.OpenAI) -> None:
    whole = oai.chat.completions.create(model="mock-7b", messages=CHAT, max_tokens=10)
    chunks = list(
        oai.chat.completions.create(model="mock-7b", messages=CHAT, max_tokens=10, stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert len({chunk.id for chunk in chunks}) == 1


def test_async_openai_client_streamed_and_not(port: int) -> None:
    async def run() -> tuple[str, str]:
        async with openai.AsyncOpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0
        ) as client:
            whole = await client.chat.completions.create(model="mock-7b", messages=CHAT)
            stream = await client.chat.completions.create(
                model="mock-7b", messages=CHAT, stream=True
            )
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
            return whole.choices[0].message.content or "", text

    whole, streamed = asyncio.run(asyncio.wait_for(run(), timeout=60))
    assert whole
    assert streamed == whole


def test_openai_client_legacy_completions(oai: openai.OpenAI) -> None:
    whole = oai.completions.create(model="mock-7b", prompt="Once upon a time")
    assert whole.object == "text_completion"
    assert whole.usage is not None
    assert whole.usage.completion_tokens <= 16  # OpenAI's default max_tokens
    listed = oai.completions.create(model="mock-7b", prompt=["Once upon a time"])
    assert listed.choices[0].text == whole.choices[0].text
    chunks = list(oai.completions.create(model="mock-7b", prompt="Once upon a time", stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks) == whole.choices[0].text
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason


def test_openai_client_lists_the_models(oai: openai.OpenAI) -> None:
    ids = [model.id for model in oai.models.list().data]
    assert ids == ["mock-7b", "faulty", "endless", "broken", "crash"]


def test_openai_client_raises_not_found_for_an_unknown_model(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        oai.chat.completions.create(model="no-such-model", messages=CHAT)
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"


def test_openai_client_raises_bad_request_naming_the_parameter(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="mock-7b", messages=CHAT, temperature=3)
    assert caught.value.param == "temperature"
    assert caught.value.code == "invalid_argument"


def test_embeddings_are_not_implemented_in_the_openai_shape(client: Any) -> None:
    reply = client.post("/v1/embeddings", json={"model": "mock-7b", "input": "x"})
    assert reply.status_code == 501
    assert json_body(reply) == {
        "error": {
            "message": "embeddings: this engine does not compute embeddings",
            "type": "not_implemented_error",
            "param": None,
            "code": "not_implemented",
        }
    }


def test_a_failure_mid_stream_reaches_the_openai_client(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(model="faulty", messages=CHAT, stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert caught.value.message == "mock engine: the backend is unavailable"


# --- the native endpoint -------------------------------------------------------------------------


def test_native_answer_round_trips_through_decode(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request())
    assert reply.status_code == 200
    response = decode(Response, reply.content)
    assert response.request_id == "req-1"
    assert response == MockEngine(seed=3).generate(decode(Request, json.dumps(a_request())))
    assert json_body(reply)["finish_reason"] in ("stop", "length")


def test_native_stream_round_trips_through_the_sse_decoder_and_assembler(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request(stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/event-stream"
    assert reply.headers["x-sagellm-protocol-version"] == PROTOCOL_VERSION
    assembler = StreamAssembler()
    for event in sse_events(reply.content):
        assembler.add(event)
    whole = decode(Response, client.post("/v1/generate", json=a_request()).content)
    assert assembler.response() == whole


def test_a_failed_native_answer_is_the_response_with_its_status(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request(model="faulty"))
    assert reply.status_code == 503
    response = decode(Response, reply.content)
    assert response.finish_reason == "error"
    assert response.error is not None
    assert response.error.code.value == "unavailable"
    assert len(response.output_tokens) == 2


def test_a_native_stream_that_fails_ends_with_an_error_end_event(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request(model="faulty", stream=True))
    events = sse_events(reply.content)
    assert [type(event) for event in events] == [StreamEventStart] + [StreamEventDelta] * 2 + [
        StreamEventEnd
    ]
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.finish_reason == "error"


def test_an_engine_that_breaks_the_grammar_ends_the_stream_in_band(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request(model="broken", stream=True))
    events = sse_events(reply.content)
    end = events[-1]
    assert isinstance(end, StreamEventEnd)
    assert end.error is not None
    assert end.error.code.value == "unavailable"
    assert "request_id must be the same in every event" in end.error.message
    assert end.output_text == " ok"


@pytest.mark.parametrize("path", ["/v1/generate", "/v1/chat/completions"])
@pytest.mark.parametrize("stream", [False, True])
def test_an_engine_that_crashes_before_its_start_is_a_503(
    client: Any, path: str, stream: bool
) -> None:
    body = (
        a_request(model="crash", stream=stream)
        if path == "/v1/generate"
        else {"model": "crash", "messages": CHAT, "stream": stream}
    )
    reply = client.post(path, json=body)
    assert reply.status_code == 503
    text = reply.text
    assert "the engine failed while generating" in text
    assert "crashed on" not in text
    assert "Traceback" not in text


# --- error paths, with exact status and body -----------------------------------------------------


def native_error(message: str, param: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": "invalid_argument", "message": message}
    if param is not None:
        error["param"] = param
    return {"errors": [error]}


def openai_error(message: str, param: str | None = None, code: str | None = None) -> Any:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


NOT_FOUND = "there is no endpoint at this path"


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/generate/", "/v2/chat/completions", "/../etc"])
def test_an_unknown_path_is_a_404_in_the_openai_envelope(client: Any, path: str) -> None:
    reply = client.get(path)
    assert (reply.status_code, json_body(reply)) == (404, openai_error(NOT_FOUND))


@pytest.mark.parametrize(
    ("method", "path", "allow", "expected_envelope"),
    [
        ("GET", "/v1/generate", "POST", "native"),
        ("PUT", "/health", "GET", "native"),
        ("GET", "/v1/chat/completions", "POST", "openai"),
        ("POST", "/v1/models", "GET", "openai"),
        ("DELETE", "/v1/completions", "POST", "openai"),
    ],
)
def test_a_wrong_method_is_a_405_with_allow(
    client: Any, method: str, path: str, allow: str, expected_envelope: str
) -> None:
    reply = client.request(method, path)
    message = f"this endpoint does not take this method (it takes {allow})"
    expected = native_error(message) if expected_envelope == "native" else openai_error(message)
    assert (reply.status_code, json_body(reply)) == (405, expected)
    assert reply.headers["allow"] == allow


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_a_415(client: Any, content_type: str) -> None:
    reply = client.post(
        "/v1/generate", content=json.dumps(a_request()), headers={"content-type": content_type}
    )
    message = "the request body must be JSON (Content-Type: application/json)"
    assert (reply.status_code, json_body(reply)) == (415, native_error(message))


def test_a_body_declared_too_large_is_refused_before_it_is_sent(port: int) -> None:
    status, head, body = raw_exchange(
        port,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {BODY_LIMIT + 1}\r\nConnection: close\r\n\r\n".encode(),
    )
    message = f"the request body is larger than the limit of {BODY_LIMIT} bytes"
    assert (status, json.loads(body)) == (413, openai_error(message))
    assert f"x-sagellm-protocol-version: {PROTOCOL_VERSION}".encode() in head.lower()


def test_a_body_found_too_large_while_reading_is_refused_without_reading_the_rest(
    port: int,
) -> None:
    chunk = b"x" * 4096
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/generate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        deadline = time.monotonic() + 10
        # Send at most 64 times the limit; stop as soon as the reply is there.
        while sent < 64 * BODY_LIMIT and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0)
            if readable:
                break
            try:
                connection.sendall(frame)
            except OSError:  # the server closed its side after replying
                break
            sent += len(chunk)
        reply = bytearray()
        while time.monotonic() < deadline and len(reply) < 65536:
            data = connection.recv(65536)
            if not data:
                break
            reply += data
            if b"\r\n\r\n" in reply and reply.endswith(b"}"):
                break
    head, _, body = bytes(reply).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    message = f"the request body is larger than the limit of {BODY_LIMIT} bytes"
    assert json.loads(body) == native_error(message)
    assert sent < 64 * BODY_LIMIT


def test_three_problems_are_one_native_reply_naming_all_three(client: Any) -> None:
    body = {**a_request(max_tokens=0, temperature=5), "priority": 1}
    reply = client.post("/v1/generate", json=body)
    unknown = "is not a field of this message (unknown fields are rejected)"
    problems = [
        ("max_tokens", "must be greater than 0"),
        ("temperature", "must be less than or equal to 2.0"),
        ("priority", unknown),
    ]
    expected = [
        {"code": "invalid_argument", "message": f"{param}: {rule}", "param": param}
        for param, rule in problems
    ]
    assert (reply.status_code, json_body(reply)) == (400, {"errors": expected})


def test_three_problems_are_one_openai_reply_naming_all_three(client: Any) -> None:
    body = {"model": "mock-7b", "messages": CHAT, "max_tokens": 0, "top_p": 2, "tools": [{}]}
    reply = client.post("/v1/chat/completions", json=body)
    assert reply.status_code == 400
    error = json_body(reply)["error"]
    assert error["message"].startswith("3 problems: ")
    assert all(name in error["message"] for name in ("max_tokens", "top_p", "tools"))
    assert (error["param"], error["type"], error["code"]) == (
        "max_tokens",
        "invalid_request_error",
        "invalid_argument",
    )


def test_an_unknown_model_is_a_404_naming_the_model(client: Any) -> None:
    message = "model: no model of this name is served here (GET /v1/models lists them)"
    native = client.post("/v1/generate", json=a_request(model="nope"))
    assert (native.status_code, json_body(native)) == (404, native_error(message, "model"))
    legacy = client.post("/v1/completions", json={"model": "nope", "prompt": "x"})
    assert (legacy.status_code, json_body(legacy)) == (
        404,
        openai_error(message, "model", "model_not_found"),
    )


def test_the_body_is_checked_before_the_model(client: Any) -> None:
    reply = client.post("/v1/generate", json=a_request(model="nope", max_tokens=0))
    assert reply.status_code == 400


def test_an_invalid_json_body_is_a_400(client: Any) -> None:
    reply = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert json_body(reply)["error"]["message"].startswith("the message is not valid JSON")


# --- version negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/generate", "/v1/chat/completions", "/v1/models", "/health"])
def test_another_version_is_refused_naming_the_header(client: Any, path: str) -> None:
    method = "GET" if path in ("/v1/models", "/health") else "POST"
    reply = client.request(method, path, headers={"X-SageLLM-Protocol-Version": "0.2"})
    assert reply.status_code == 400
    found = json_body(reply)
    error = found["errors"][0] if "errors" in found else found["error"]
    assert error["param"] == "X-SageLLM-Protocol-Version"


def test_a_newer_peer_has_its_new_fields_ignored_and_reported(client: Any) -> None:
    body = {**a_request(), "priority": 3, "metadata": {"k": "v"}}
    headers = {"X-SageLLM-Protocol-Version": "0.1.4"}
    reply = client.post("/v1/generate", json=body, headers=headers)
    assert reply.status_code == 200
    assert reply.headers["x-sagellm-ignored-fields"] == "priority"
    same_version = client.post(
        "/v1/generate", json=body, headers={"X-SageLLM-Protocol-Version": "0.1"}
    )
    assert same_version.status_code == 400
    assert "x-sagellm-ignored-fields" not in same_version.headers


def test_health(client: Any) -> None:
    reply = client.get("/health")
    assert (reply.status_code, json_body(reply)) == (200, {"status": "ok"})


# --- no traceback, no body that is not JSON ------------------------------------------------------

ODD_BODIES = [
    b"",
    b"null",
    b"[]",
    b"\xff\xfe\x00",
    b"[" * 5000 + b"]" * 5000,
    b'{"model": "mock-7b", "messages": "hi"}',
    json.dumps({"model": "mock-7b", "prompt": ["a"], "n": 3}).encode(),
]


@pytest.mark.parametrize(
    "path", ["/v1/generate", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/x"]
)
@pytest.mark.parametrize("body", ODD_BODIES, ids=range(len(ODD_BODIES)))
def test_odd_input_gets_a_json_error_never_a_traceback(client: Any, path: str, body: bytes) -> None:
    reply = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= reply.status_code < 500
    assert "Traceback" not in reply.text
    json_body(reply)


# --- disconnects and concurrency -----------------------------------------------------------------


def test_a_client_that_leaves_after_3_tokens_closes_the_engine_stream(
    port: int, engine: Engine
) -> None:
    payload = json.dumps(a_request(model="endless", stream=True)).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/generate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"event: delta") < 3 and time.monotonic() < deadline:
            data = connection.recv(65536)
            if not data:
                break
            received += data
        assert received.count(b"event: delta") >= 3
        assert not engine.endless_closed.is_set()
    left_at = time.monotonic()
    assert engine.endless_closed.wait(timeout=1.0)  # the engine saw its stream closed
    assert time.monotonic() - left_at <= 1.0
    assert engine.endless_yielded < 200  # far from the 10,000 tokens it would have made


CONCURRENT = 200


def test_200_concurrent_streams_complete_and_equal_the_whole_answers(port: int) -> None:
    async def native(client: Any, index: int) -> tuple[Response, Response]:
        body = a_request(
            request_id=f"req-{index}", prompt=f"prompt {index}", max_tokens=6, stream=True
        )
        reply = await client.post("/v1/generate", json=body)
        assembler = StreamAssembler()
        for event in sse_events(reply.content):
            assembler.add(event)
        whole = await client.post("/v1/generate", json={**body, "stream": False})
        return assembler.response(), decode(Response, whole.content)

    async def chat(client: Any, index: int) -> tuple[str, str]:
        body = {
            "model": "mock-7b",
            "messages": [{"role": "user", "content": f"q {index}"}],
            "max_tokens": 6,
        }
        streamed = await client.post("/v1/chat/completions", json={**body, "stream": True})
        text = ""
        for line in streamed.content.split(b"\n\n"):
            if line.startswith(b"data: {"):
                text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        whole = await client.post("/v1/chat/completions", json=body)
        return text, whole.json()["choices"][0]["message"]["content"]

    async def run() -> list[Any]:
        limits = http.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
        async with http.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
        ) as client:
            jobs = [
                native(client, index) if index % 2 else chat(client, index)
                for index in range(CONCURRENT)
            ]
            return await asyncio.gather(*jobs)

    results = asyncio.run(asyncio.wait_for(run(), timeout=120))
    assert len(results) == CONCURRENT
    for streamed, whole in results:
        assert streamed == whole
    assert len({str(whole) for _, whole in results}) > CONCURRENT // 2  # different prompts
    assert encode(results[1][1])  # a real Response
