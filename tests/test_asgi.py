"""The ASGI app called in-process: what needs no socket (lifespan, embeddings, 500s, limits)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sagellm_protocol import (
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
    ModelInfo,
    Request,
    StreamEvent,
)
from sagellm_protocol.asgi import Message, create_app
from sagellm_protocol.limits import MAX_MESSAGE_SIZE
from sagellm_protocol.testing import MockEngine


class Embedder:
    """An engine that embeds each input as [its length, 1.0]."""

    def models(self) -> list[ModelInfo]:
        return [ModelInfo(id="embed-1", created=0)]

    def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        return MockEngine().astream(request)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        texts = [request.input] if isinstance(request.input, str) else request.input
        return EmbeddingResponse(
            data=[
                EmbeddingData(embedding=[float(len(text)), 1.0], index=index)
                for index, text in enumerate(texts)
            ],
            model=request.model,
            usage=EmbeddingUsage(prompt_tokens=len(texts), total_tokens=len(texts)),
        )


def call(
    app: Any, scope: dict[str, Any], messages: list[Message]
) -> tuple[list[Message], list[Message]]:
    """Run ``app`` for one scope; (messages sent, messages left unread)."""
    sent: list[Message] = []
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)  # a client that stays: the app must not wait for it
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    return sent, pending


def post(
    path: str, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[dict[str, Any], list[Message]]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": headers or [(b"content-type", b"application/json")],
    }
    return scope, [{"type": "http.request", "body": body, "more_body": False}]


def reply_of(sent: list[Message]) -> tuple[int, dict[bytes, bytes], Any]:
    start, *bodies = sent
    body = b"".join(message.get("body", b"") for message in bodies)
    return start["status"], dict(start["headers"]), json.loads(body)


def test_embeddings_from_an_engine_that_embeds() -> None:
    sent, _ = call(
        create_app(Embedder()),
        *post("/v1/embeddings", b'{"model": "embed-1", "input": ["ab", "abc"]}'),
    )
    status, _, body = reply_of(sent)
    assert status == 200
    assert [item["embedding"] for item in body["data"]] == [[2.0, 1.0], [3.0, 1.0]]


def test_the_default_body_limit_is_the_message_size_limit() -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(MAX_MESSAGE_SIZE + 1).encode()),
    ]
    scope, messages = post("/v1/generate", b"", headers)
    sent, unread = call(create_app(MockEngine()), scope, messages)
    status, _, body = reply_of(sent)
    assert status == 413
    assert body["errors"][0]["message"].endswith(f"limit of {MAX_MESSAGE_SIZE} bytes")
    assert unread == messages  # refused before reading


def test_a_body_past_the_limit_is_refused_without_reading_the_rest() -> None:
    scope, _ = post("/v1/generate", b"")
    parts: list[Message] = [
        {"type": "http.request", "body": b"x" * 600, "more_body": True} for _ in range(5)
    ]
    sent, unread = call(create_app(MockEngine(), max_body_size=1000), scope, parts)
    assert reply_of(sent)[0] == 413
    assert len(unread) == 3


def test_a_client_that_leaves_while_sending_gets_no_reply() -> None:
    scope, _ = post("/v1/generate", b"")
    messages: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent, _ = call(create_app(MockEngine()), scope, messages)
    assert sent == []


def test_a_failure_of_the_app_itself_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagellm_protocol import asgi

    def broken(*args: object, **kwargs: object) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(asgi, "to_chat_completion", broken)
    body = json.dumps({"model": "mock-7b", "messages": [{"role": "user", "content": "Hi"}]})
    sent, _ = call(create_app(MockEngine()), *post("/v1/chat/completions", body.encode()))
    status, _, reply = reply_of(sent)
    assert status == 500
    assert reply["error"] == {
        "message": "the server failed to answer this request (an internal error)",
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_the_lifespan_protocol_is_answered() -> None:
    sent, _ = call(
        create_app(MockEngine()),
        {"type": "lifespan"},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_a_websocket_is_refused() -> None:
    sent, _ = call(
        create_app(MockEngine()),
        {"type": "websocket", "path": "/v1/generate", "headers": []},
        [{"type": "websocket.connect"}],
    )
    assert sent == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize("limit", [0, -1, 1.5])
def test_a_bad_body_limit_is_refused(limit: Any) -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        create_app(MockEngine(), max_body_size=limit)


class CleanupEngine:
    """Streams two tokens (reading stops at the end event) and records its async cleanup."""

    def __init__(self) -> None:
        self.cleaned_up = False

    def models(self) -> list[ModelInfo]:
        return MockEngine().models()

    async def astream(self, request: Request) -> AsyncIterator[StreamEvent]:
        try:
            async for event in MockEngine().astream(request.model_copy(update={"max_tokens": 2})):
                yield event
            yield event  # never read: the server stops at the end event
        finally:
            await asyncio.sleep(0)  # cleanup that awaits
            self.cleaned_up = True


def test_the_engine_stream_is_cleaned_up_before_the_reply_ends() -> None:
    # As uvicorn does: once the reply is complete, receive() reports a disconnect at once.
    engine = CleanupEngine()
    body = {"request_id": "r", "trace_id": "t", "model": "mock-7b", "prompt": "p"}
    scope, messages = post(
        "/v1/generate", json.dumps({**body, "max_tokens": 2, "stream": True}).encode()
    )
    complete = asyncio.Event()

    async def run() -> None:
        async def receive() -> Message:
            if messages:
                return messages.pop(0)
            await complete.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                complete.set()

        await create_app(engine)(scope, receive, send)

    asyncio.run(asyncio.wait_for(run(), timeout=30))
    assert engine.cleaned_up


def cancelled_after(app: Any, scope: dict[str, Any], messages: list[Message], frames: int) -> Any:
    """Run ``app`` and cancel it (as a server that stops does) once ``frames`` body messages
    were sent (0: as soon as it waits on the engine); (messages sent, whether the app's task
    ended cancelled)."""
    sent: list[Message] = []
    pending = list(messages)
    enough = asyncio.Event()

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if sum(m["type"] == "http.response.body" for m in sent) >= frames:
            enough.set()

    async def run() -> bool:
        task: asyncio.Future[None] = asyncio.ensure_future(app(scope, receive, send))
        if frames:
            await asyncio.wait_for(enough.wait(), timeout=30)
        else:
            await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.wait((task,), timeout=30)
        return task.cancelled()

    return sent, asyncio.run(run())


SLOW = {
    "request_id": "r",
    "trace_id": "t",
    "model": "mock-7b",
    "prompt": "p",
    "max_tokens": 50,
    "stream": False,
}


def test_a_request_the_server_cancels_before_answering_gets_a_503() -> None:
    app = create_app(MockEngine(token_interval_ms=50))
    sent, cancelled = cancelled_after(app, *post("/v1/generate", json.dumps(SLOW).encode()), 0)
    status, headers, reply = reply_of(sent)
    assert not cancelled  # the app answered and ended normally
    assert status == 503
    assert headers[b"x-sagellm-protocol-version"] == b"0.1"
    assert reply == {
        "errors": [{"code": "unavailable", "message": "the server is stopping", "retryable": True}]
    }


def test_a_stream_the_server_cancels_ends_with_an_openai_error_frame() -> None:
    app = create_app(MockEngine(token_interval_ms=50))
    body = {"model": "mock-7b", "messages": [{"role": "user", "content": "p"}], "stream": True}
    sent, cancelled = cancelled_after(
        app, *post("/v1/chat/completions", json.dumps(body).encode()), 3
    )
    assert not cancelled
    bodies = [message["body"] for message in sent[1:]]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    last = json.loads(bodies[-2].removeprefix(b"data: "))
    assert last["error"]["message"] == "the server is stopping"
    assert last["error"]["code"] == "unavailable"
    assert b"[DONE]" not in b"".join(bodies)


def test_a_streamed_completion_that_fails_before_any_frame_is_an_http_error() -> None:
    app = create_app(MockEngine(fault="resource_exhausted"))
    body = {"model": "mock-7b", "prompt": "p", "stream": True}
    sent, _ = call(app, *post("/v1/completions", json.dumps(body).encode()))
    status, headers, reply = reply_of(sent)
    assert status == 429
    assert headers[b"content-type"] == b"application/json"
    assert reply["error"]["code"] == "resource_exhausted"
