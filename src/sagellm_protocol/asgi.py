"""``create_app(engine)``: the contract served over HTTP as a plain ASGI 3 application.

No web framework: any ASGI server runs it (``sagellm-protocol serve`` runs it on uvicorn).

=====================================  ===================================================
``POST /v1/generate``                  a ``Request`` -> a ``Response`` (JSON), or with
                                       ``stream: true`` the stream events as server-sent
                                       events (``event: start|delta|end``)
``POST /v1/chat/completions``          OpenAI chat completions, streamed or not
``POST /v1/completions``               OpenAI legacy text completions, streamed or not
``POST /v1/embeddings``                OpenAI embeddings (501 if the engine cannot embed)
``GET /v1/models``                     the engine's models
``GET /health``                        ``{"status": "ok"}``
=====================================  ===================================================

``/v1/generate`` and ``/health`` answer errors in the native envelope, every other path
(unknown ones included) in the OpenAI one (see ``sagellm_protocol.http``). Every request is
checked in this order: path (404), method (405), ``X-SageLLM-Protocol-Version`` (400),
``Content-Type`` (415), size (413, from ``Content-Length`` or while reading, without reading
the rest), the body (400), the model (404). Every reply carries the protocol version header.

Streams: an error before the first frame is an HTTP error reply; after it, the stream ends
in-band (native: an end event with ``finish_reason="error"``; OpenAI: an error frame) and
nothing follows. When the client disconnects, the engine's stream is closed at once. A
non-streamed native answer whose engine failed is the Response with the HTTP status of its
error code. An unexpected failure of the app itself is a 500 in the path's envelope, logged
to the ``sagellm_protocol`` logger; no reply holds a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

from pydantic import BaseModel

from ._aio import aclose, aiterate
from ._astream import Frames, StreamWriter, collect, failure_error, problem
from ._version import PROTOCOL_VERSION
from .codec import PROTOCOL_VERSION_HEADER, UnknownFields, decode
from .engine import EmbeddingEngine, Engine
from .errors import Error, ErrorCode, ProtocolError
from .http import (
    Envelope,
    HTTPReply,
    envelope_for_path,
    error_reply,
    ignored_fields_header,
    internal_error_reply,
    is_json_media_type,
    json_reply,
    method_not_allowed_reply,
    model_not_found_reply,
    negotiate_version,
    not_found_reply,
    payload_too_large_reply,
    response_reply,
    unsupported_media_type_reply,
)
from .limits import MAX_MESSAGE_SIZE
from .openai_compat import (
    _ChatFrames,
    include_usage,
    render_prompt,
    to_chat_completion,
    to_request,
)
from .openai_completions import (
    CompletionRequest,
    _CompletionFrames,
    completion_to_request,
    to_completion,
)
from .openai_types import ChatMessage, EmbeddingRequest, ModelListResponse
from .openai_wire import OpenAIChatRequest
from .sse import SSE_MEDIA_TYPE, _NativeFrames
from .streaming import StreamAssembler
from .types import Request, Response, StreamEvent

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "create_app"]

Scope: TypeAlias = MutableMapping[str, Any]
"""The ASGI connection scope."""
Message: TypeAlias = MutableMapping[str, Any]
"""An ASGI event message."""


class Receive(Protocol):
    """The ASGI ``receive`` callable: the next event from the client."""

    def __call__(self) -> Awaitable[Message]:
        """Await the next event (``http.request`` with body bytes, or ``http.disconnect``)."""
        ...


class Send(Protocol):
    """The ASGI ``send`` callable: an event to the client."""

    def __call__(self, message: Message, /) -> Awaitable[None]:
        """Send ``message`` (``http.response.start``, then ``http.response.body`` events)."""
        ...


class ASGIApp(Protocol):
    """An ASGI 3 application, as ``create_app`` returns it."""

    def __call__(self, scope: Scope, receive: Receive, send: Send, /) -> Awaitable[None]:
        """Answer one connection (``http``, ``lifespan`` or ``websocket`` scope)."""
        ...


_LOG = logging.getLogger("sagellm_protocol")
_M = TypeVar("_M", bound=BaseModel)
_VERSION_HEADER = PROTOCOL_VERSION_HEADER.lower().encode("latin-1")
_HEALTH = b'{"status":"ok"}'
_BODY = "http.response.body"
_STOPPING = ProtocolError(
    Error(code=ErrorCode.UNAVAILABLE, message="the server is stopping", retryable=True)
)
"""What a request still open when the server stops (cancels it) is answered with."""
_SSE_HEADERS = (
    ("Content-Type", SSE_MEDIA_TYPE),
    ("Cache-Control", "no-cache"),
    (PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION),
)


def create_app(
    engine: Engine,
    *,
    max_body_size: int = MAX_MESSAGE_SIZE,
    render: Callable[[Sequence[ChatMessage]], str] = render_prompt,
) -> ASGIApp:
    """A plain ASGI 3 application that serves ``engine`` (see the module docstring).

    ``max_body_size`` is the largest request body accepted, in bytes (16 MiB by default,
    ``limits.MAX_MESSAGE_SIZE``); ``render`` turns chat messages into the prompt
    (``openai_compat.render_prompt`` by default).
    """
    if type(max_body_size) is not int or max_body_size < 1:
        raise ValueError("max_body_size must be an integer >= 1")
    return _App(engine, max_body_size, render)


@dataclass
class _Exchange:
    """One HTTP request being answered."""

    receive: Receive
    send: Send
    envelope: Envelope
    unknown: UnknownFields = "forbid"
    body: bytes = b""
    ignored: list[str] = field(default_factory=list)
    started: bool = False
    left: bool = False
    """True once the client disconnected (its task is then cancelled: nothing is answered)."""

    def decode(self, message_type: type[_M]) -> _M:
        """The body as a ``message_type`` (``codec.decode``, unknown fields as negotiated)."""
        return decode(message_type, self.body, unknown=self.unknown, ignored=self.ignored)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """Headers every reply to this request carries beyond the standard ones."""
        found = ignored_fields_header(self.ignored)
        return () if found is None else (found,)

    async def reply(self, reply: HTTPReply) -> None:
        """Send a whole reply (status, headers with Content-Length, body)."""
        self.started = True
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in reply.headers
        ]
        headers.append((b"content-length", str(len(reply.body)).encode("ascii")))
        await self.send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await self.send({"type": "http.response.body", "body": reply.body, "more_body": False})

    async def fail(self, exc: Exception) -> None:
        """Reply with the error for ``exc``, raised by the engine before anything was sent."""
        if isinstance(exc, ProtocolError):
            await self.reply(error_reply(exc, envelope=self.envelope, headers=self.headers()))
            return
        _LOG.error("the engine failed", exc_info=exc)
        error = failure_error(exc)
        await self.reply(error_reply(error, envelope=self.envelope, headers=self.headers()))

    async def start_stream(self) -> None:
        """Send the head of a server-sent events reply."""
        self.started = True
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (*_SSE_HEADERS, *self.headers())
        ]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})

    async def stream(self, events: AsyncIterator[StreamEvent], frames: Frames) -> None:
        """Send ``events`` as server-sent events written by ``frames``.

        Until the first frame is sent, a failure (an end event with an error included) is an
        HTTP error reply; after it, the stream ends in-band, also when the server cancels the
        request because it is stopping. The engine's stream is closed however this ends (also
        when cancelled), and before the reply ends, so that nothing of it runs after the client
        was answered.
        """
        writer = StreamWriter(frames)
        source = aiterate(events)
        send = self.send
        started = self.started
        last: bytes | None = None
        early: Exception | None = None
        try:
            async for event in source:
                frame = writer.add(event)
                if frame is not None:
                    if not started:
                        if writer.error is not None:  # the first frame would be the error
                            early = ProtocolError(writer.error)
                            break
                        await self.start_stream()
                        started = True
                    await send({"type": _BODY, "body": frame, "more_body": True})
                if writer.finished:
                    break
            if early is None:
                last = writer.end()
        except Exception as exc:
            if started:
                last = writer.failure(exc)
            else:
                early = exc
        except asyncio.CancelledError:
            if not started or self.left:
                raise
            last = writer.failure(_STOPPING)  # the server is stopping: end the stream in-band
            _uncancel()
        finally:
            await aclose(source)
        if early is not None:
            await self.fail(problem(early))
            return
        if not started:
            await self.start_stream()
        if last is not None:
            await send({"type": _BODY, "body": last, "more_body": True})
        await send({"type": _BODY, "body": b"", "more_body": False})


class _App:
    """The application ``create_app`` returns."""

    def __init__(
        self,
        engine: Engine,
        max_body_size: int,
        render: Callable[[Sequence[ChatMessage]], str],
    ) -> None:
        self._engine = engine
        self._max_body_size = max_body_size
        self._render = render
        self._routes: dict[str, tuple[str, Callable[[_Exchange], Awaitable[None]]]] = {
            "/v1/generate": ("POST", self._generate),
            "/v1/chat/completions": ("POST", self._chat),
            "/v1/completions": ("POST", self._completions),
            "/v1/embeddings": ("POST", self._embeddings),
            "/v1/models": ("GET", self._models),
            "/health": ("GET", self._health),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":  # not served: refuse the handshake
            await receive()
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        exchange = _Exchange(receive, send, envelope_for_path(path))
        try:
            await self._route(scope, exchange, path)
        except Exception:  # a bug here must not reach the client as a traceback
            _LOG.exception("the app failed to answer a request")
            if not exchange.started:
                await exchange.reply(internal_error_reply(exchange.envelope))
        except asyncio.CancelledError:
            # The server cancelled the request: it is stopping. A stream has ended itself
            # in-band; anything else not yet answered gets a 503. The cancel is then done with.
            if not exchange.started:
                await exchange.reply(
                    error_reply(_STOPPING, envelope=exchange.envelope, headers=exchange.headers())
                )
            _uncancel()

    async def _route(self, scope: Scope, exchange: _Exchange, path: str) -> None:
        route = self._routes.get(path)
        if route is None:
            await exchange.reply(not_found_reply(exchange.envelope))
            return
        method, handler = route
        if scope["method"] != method:
            await exchange.reply(method_not_allowed_reply([method], exchange.envelope))
            return
        headers = _headers(scope)
        try:
            exchange.unknown = negotiate_version(headers.get(_VERSION_HEADER))
        except ProtocolError as exc:
            await exchange.reply(error_reply(exc, envelope=exchange.envelope))
            return
        if method == "GET":
            await handler(exchange)
            return
        if not is_json_media_type(headers.get(b"content-type")):
            await exchange.reply(unsupported_media_type_reply(exchange.envelope))
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body_size:
            await exchange.reply(payload_too_large_reply(self._max_body_size, exchange.envelope))
            return
        try:
            body = await _read_body(exchange.receive, self._max_body_size)
        except _BodyTooLargeError:
            await exchange.reply(payload_too_large_reply(self._max_body_size, exchange.envelope))
            return
        if body is None:
            return  # the client went away
        exchange.body = body
        await _until_disconnect(exchange, handler(exchange))

    async def _serves(self, exchange: _Exchange, model: str) -> bool:
        """True if the engine serves ``model``; else the 404 (or the engine's failure) is sent."""
        try:
            served = any(info.id == model for info in self._engine.models())
        except Exception as exc:
            await exchange.fail(exc)
            return False
        if not served:
            await exchange.reply(
                model_not_found_reply(exchange.envelope, headers=exchange.headers())
            )
        return served

    async def _answer(
        self,
        exchange: _Exchange,
        request: Request,
        frames: Callable[[], Frames],
        answer: Callable[[StreamAssembler], HTTPReply],
    ) -> None:
        """Run ``request`` on the engine; stream its ``frames``, or send its whole ``answer``."""
        if not await self._serves(exchange, request.model):
            return
        try:
            events = self._engine.astream(request)
            if request.stream:
                await exchange.stream(events, frames())
                return
            assembler = await collect(events)
        except Exception as exc:
            if exchange.started:
                raise
            await exchange.fail(exc)
            return
        await exchange.reply(answer(assembler))

    def _openai_answer(
        self, exchange: _Exchange, body: Callable[[Response, int], BaseModel]
    ) -> Callable[[StreamAssembler], HTTPReply]:
        """The whole OpenAI answer: ``body(response, prompt_tokens)``, or the error reply."""

        def answer(assembler: StreamAssembler) -> HTTPReply:
            response = assembler.response()
            if response.error is not None:
                return error_reply(response.error, envelope="openai", headers=exchange.headers())
            return json_reply(
                body(response, assembler.prompt_tokens or 0), headers=exchange.headers()
            )

        return answer

    async def _generate(self, exchange: _Exchange) -> None:
        try:
            request = exchange.decode(Request)
        except ProtocolError as exc:
            await exchange.reply(error_reply(exc, envelope="native", headers=exchange.headers()))
            return
        await self._answer(
            exchange,
            request,
            _NativeFrames,
            lambda assembler: response_reply(assembler.response(), headers=exchange.headers()),
        )

    async def _chat(self, exchange: _Exchange) -> None:
        await self._openai(
            exchange,
            lambda call: to_request(call.decode(OpenAIChatRequest), render=self._render),
            lambda model, usage: _ChatFrames(model, None, None, usage),
            to_chat_completion,
        )

    async def _completions(self, exchange: _Exchange) -> None:
        await self._openai(
            exchange,
            lambda call: completion_to_request(call.decode(CompletionRequest)),
            lambda model, usage: _CompletionFrames(model, None, None, usage),
            to_completion,
        )

    async def _openai(
        self,
        exchange: _Exchange,
        adapt: Callable[[_Exchange], Request],
        frames: Callable[[str, bool], Frames],
        whole: Callable[..., BaseModel],
    ) -> None:
        """An OpenAI text endpoint: ``adapt`` the body to a Request; stream its ``frames(model,
        include_usage)``, or answer ``whole(response, model=..., prompt_tokens=...)``."""
        try:
            request = adapt(exchange)
        except ProtocolError as exc:
            await exchange.reply(error_reply(exc, envelope="openai", headers=exchange.headers()))
            return
        model = request.model
        await self._answer(
            exchange,
            request,
            lambda: frames(model, include_usage(request)),
            self._openai_answer(
                exchange,
                lambda response, prompt_tokens: whole(
                    response, model=model, prompt_tokens=prompt_tokens
                ),
            ),
        )

    async def _embeddings(self, exchange: _Exchange) -> None:
        try:
            request = exchange.decode(EmbeddingRequest)
        except ProtocolError as exc:
            await exchange.reply(error_reply(exc, envelope="openai", headers=exchange.headers()))
            return
        if not await self._serves(exchange, request.model):
            return
        engine = self._engine
        if not isinstance(engine, EmbeddingEngine):
            error = Error(
                code=ErrorCode.NOT_IMPLEMENTED,
                message="embeddings: this engine does not compute embeddings",
            )
            await exchange.reply(error_reply(error, envelope="openai", headers=exchange.headers()))
            return
        try:
            embeddings = await engine.embed(request)
        except Exception as exc:
            await exchange.fail(exc)
            return
        await exchange.reply(json_reply(embeddings, headers=exchange.headers()))

    async def _models(self, exchange: _Exchange) -> None:
        try:
            models = list(self._engine.models())
        except Exception as exc:
            await exchange.fail(exc)
            return
        await exchange.reply(json_reply(ModelListResponse(data=models)))

    async def _health(self, exchange: _Exchange) -> None:
        await exchange.reply(json_reply(_HEALTH))


def _headers(scope: Scope) -> dict[bytes, str]:
    """The request headers by lower-case name; a repeated header's values joined by ", "."""
    found: dict[bytes, str] = {}
    for name, value in scope.get("headers", ()):
        text = value.decode("latin-1")
        found[name] = f"{found[name]}, {text}" if name in found else text
    return found


class _BodyTooLargeError(Exception):
    """The request body passed the size limit while it was read."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None if the client disconnected; ``_BodyTooLargeError`` as soon as it
    passes ``limit`` bytes (the rest is not read)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if len(body) + len(chunk) > limit:
            raise _BodyTooLargeError
        body += chunk
        if not message.get("more_body", False):
            return bytes(body)


async def _until_disconnect(exchange: _Exchange, work: Awaitable[None]) -> None:
    """Run ``work`` in this task; cancel it (so the engine's stream is closed) as soon as the
    client disconnects, and then return normally."""
    task = asyncio.current_task()
    assert task is not None  # an ASGI app runs in a task
    receive = exchange.receive

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not done:
            exchange.left = True
            task.cancel()

    done = False
    watcher = asyncio.ensure_future(watch())
    try:
        await work
    except asyncio.CancelledError:
        if not exchange.left:
            raise
        _uncancel()
    finally:
        done = True
        watcher.cancel()


def _uncancel() -> None:
    """Mark the current task's cancel as handled (Python 3.11+; before, there is no count)."""
    task = asyncio.current_task()
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
