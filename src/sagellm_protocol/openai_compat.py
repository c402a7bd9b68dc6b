"""Adapters between the OpenAI API shapes (outside a gateway) and Protocol v0.1 (inside).

* ``to_request``: a chat completion request -> a ``Request``. Parameters the request model
  does not know (``tools``, ``seed``, ``response_format`` ...) are rejected, as OpenAI does;
  what ``Request`` has no field for travels in ``metadata["openai"]``; what cannot be honoured
  (``n > 1``) is rejected. Nothing the client asked for is lost or silently changed.
* ``to_chat_completion``: a ``Response`` -> a ``chat.completion`` body.
* ``stream_to_openai_sse``: stream events -> ``chat.completion.chunk`` server-sent events,
  ending with ``data: [DONE]``.
* ``to_openai_error``: an ``Error`` -> (HTTP status, OpenAI error body).

Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .codec import JsonInput, decode, encode
from .errors import Error, ErrorCode, ProtocolError
from .limits import MAX_IDENTIFIER_LENGTH
from .openai_types import (
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionStreamChoice,
    ChatCompletionStreamDelta,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatFinishReason,
    ChatMessage,
    OpenAIError,
    OpenAIErrorResponse,
)
from .sse import DONE_FRAME
from .streaming import StreamAssembler
from .types import (
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "OPENAI_ERROR_TYPES",
    "OPENAI_METADATA_KEY",
    "render_prompt",
    "stream_to_openai_sse",
    "to_chat_completion",
    "to_openai_error",
    "to_request",
]

DEFAULT_MAX_TOKENS = 1024
"""``Request.max_tokens`` when the chat request gives none (``Request`` requires one)."""

OPENAI_METADATA_KEY = "openai"
"""Key of ``Request.metadata`` under which chat parameters without a Request field travel."""

OPENAI_ERROR_TYPES: Mapping[ErrorCode, str] = {
    ErrorCode.INVALID_ARGUMENT: "invalid_request_error",
    ErrorCode.RESOURCE_EXHAUSTED: "rate_limit_error",
    ErrorCode.UNAVAILABLE: "server_error",
    ErrorCode.DEADLINE_EXCEEDED: "timeout_error",
    ErrorCode.NOT_IMPLEMENTED: "not_implemented_error",
}
"""The OpenAI error ``type`` for each error code (the HTTP status comes from ErrorCode)."""

# Chat parameters that Request has no field for; carried in metadata["openai"] when the
# client gave them.
_CARRIED = ("stop", "presence_penalty", "frequency_penalty", "user", "session_id")


def render_prompt(messages: Sequence[ChatMessage]) -> str:
    """The default prompt: one line per message, then an open assistant turn.

    Each message becomes ``<role>: <content>``, or ``<role> (<name>): <content>`` when it has a
    name; lines are joined with a newline and the prompt ends with ``assistant:``. Pass your
    own ``render`` to ``to_request`` to use a model's chat template instead.
    """
    lines = [
        f"{message.role} ({message.name}): {message.content}"
        if message.name is not None
        else f"{message.role}: {message.content}"
        for message in messages
    ]
    return "\n".join([*lines, "assistant:"])


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def to_request(
    chat_request: ChatCompletionRequest | JsonInput,
    *,
    request_id: str | None = None,
    trace_id: str | None = None,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    render: Callable[[Sequence[ChatMessage]], str] = render_prompt,
) -> Request:
    """The ``Request`` for a chat completion request (a model, or its JSON body).

    * ``request_id``: generated (``req-<hex>``) when not given; ``trace_id``: taken from the
      chat request when it has one, else generated (``trace-<hex>``) when not given.
    * ``prompt``: ``render(messages)`` (default ``render_prompt``, which keeps roles and names).
    * ``max_tokens``, ``stream``, ``top_p``, ``model`` map to the Request fields of the same
      name (``max_tokens`` defaults to ``default_max_tokens``); ``temperature`` too, except 0
      (greedy decoding, outside Request's (0, 2]), which is carried as
      ``metadata["openai"]["temperature"] = 0`` with ``Request.temperature`` left None.
    * ``stop``, ``presence_penalty``, ``frequency_penalty``, ``user`` and ``session_id``, when
      the client gave them, are carried in ``metadata["openai"]`` under their OpenAI names; so
      are the message ``names`` (one entry per message, None where unnamed) when any is given.

    Raises ``ProtocolError`` (``invalid_argument``): for a body with a parameter the chat
    request model does not know (``tools``, ``seed`` ...), naming it; for ``n > 1`` (param
    ``n``), which a Request cannot honour; for any other invalid input.
    """
    chat = (
        chat_request
        if isinstance(chat_request, ChatCompletionRequest)
        else decode(ChatCompletionRequest, chat_request)
    )
    if chat.n != 1:
        raise ProtocolError.invalid(
            "n: only n = 1 is supported (a Request produces one completion)", param="n"
        )
    carried: dict[str, Any] = {
        name: getattr(chat, name) for name in _CARRIED if name in chat.model_fields_set
    }
    temperature: float | None = chat.temperature
    if chat.temperature == 0:
        carried["temperature"] = 0
        temperature = None
    if any(message.name is not None for message in chat.messages):
        carried["names"] = [message.name for message in chat.messages]
    metadata = {OPENAI_METADATA_KEY: carried} if carried else None
    try:
        return Request(
            request_id=request_id if request_id is not None else _new_id("req-"),
            trace_id=trace_id if trace_id is not None else chat.trace_id or _new_id("trace-"),
            model=chat.model,
            prompt=render(chat.messages),
            max_tokens=chat.max_tokens if chat.max_tokens is not None else default_max_tokens,
            stream=chat.stream,
            temperature=temperature,
            top_p=chat.top_p,
            metadata=metadata,
        )
    except ValidationError as exc:  # e.g. given ids or a rendered prompt that break a rule
        raise ProtocolError.from_validation_error(exc, root=Request) from None


def _completion_id(request_id: str) -> str:
    candidate = f"chatcmpl-{request_id}"
    return candidate if len(candidate) <= MAX_IDENTIFIER_LENGTH else _new_id("chatcmpl-")


def to_chat_completion(
    response: Response,
    *,
    model: str,
    prompt_tokens: int = 0,
    id: str | None = None,
    created: int | None = None,
) -> ChatCompletionResponse:
    """The ``chat.completion`` body for a finished ``Response``.

    One choice: the assistant message with ``output_text``, finish_reason ``stop`` or
    ``length``. Usage: ``prompt_tokens`` as given (the engine knows it; 0 when unknown),
    ``completion_tokens = len(output_tokens)``. ``id`` defaults to ``chatcmpl-<request_id>``,
    ``created`` to now; ``trace_id`` is the Response's.

    A Response whose finish_reason is ``error`` is not a completion: raises ``ProtocolError``
    carrying the Response's ``Error``; turn it into an error body with ``to_openai_error``.
    """
    if response.error is not None:
        raise ProtocolError(response.error)
    completion_tokens = len(response.output_tokens)
    return ChatCompletionResponse(
        id=id if id is not None else _completion_id(response.request_id),
        created=created if created is not None else int(time.time()),
        model=model,
        choices=[
            ChatCompletionChoice(
                index=0,
                message=ChatMessage(role="assistant", content=response.output_text),
                finish_reason="length" if response.finish_reason == "length" else "stop",
            )
        ],
        usage=ChatCompletionUsage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
        trace_id=response.trace_id,
    )


def to_openai_error(error: Error) -> tuple[int, OpenAIErrorResponse]:
    """(HTTP status, OpenAI error body) for ``error``.

    The status comes from ``ErrorCode.http_status``, the ``type`` from ``OPENAI_ERROR_TYPES``;
    ``message`` and ``param`` are the Error's, ``code`` is the ErrorCode value.
    """
    body = OpenAIErrorResponse(
        error=OpenAIError(
            message=error.message,
            type=OPENAI_ERROR_TYPES[error.code],
            param=error.param,
            code=error.code.value,
        )
    )
    return error.code.http_status, body


def _frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def stream_to_openai_sse(
    events: Iterable[StreamEvent],
    *,
    model: str,
    id: str | None = None,
    created: int | None = None,
) -> Iterator[bytes]:
    """OpenAI ``chat.completion.chunk`` server-sent events for a stream of events.

    The start event gives a chunk with the assistant role (and empty content), each delta
    with text a chunk with that text, the end event a chunk with the finish_reason (``stop``
    or ``length``); then ``data: [DONE]``. An end event with an error gives an OpenAI error
    frame (``data: {"error": {...}}``, what the openai client raises from) instead of the
    finishing chunk. The stream is checked against the stream grammar as it goes
    (``ProtocolError`` on a violation). ``id`` defaults to ``chatcmpl-<request_id>``.
    """
    assembler = StreamAssembler()
    stamp = created if created is not None else int(time.time())
    completion_id = id or ""
    for event in events:
        assembler.add(event)  # the grammar guarantees the start event comes first
        if isinstance(event, StreamEventStart):
            completion_id = completion_id or _completion_id(event.request_id)
            delta = ChatCompletionStreamDelta(role="assistant", content="")
            yield _frame(encode(_chunk(completion_id, stamp, model, delta, None)))
        elif isinstance(event, StreamEventDelta):
            if event.chunk:
                delta = ChatCompletionStreamDelta(content=event.chunk)
                yield _frame(encode(_chunk(completion_id, stamp, model, delta, None)))
        elif isinstance(event, StreamEventEnd):
            if event.error is not None:
                yield _frame(encode(to_openai_error(event.error)[1]))
            else:
                finish: ChatFinishReason = "length" if event.finish_reason == "length" else "stop"
                delta = ChatCompletionStreamDelta()
                yield _frame(encode(_chunk(completion_id, stamp, model, delta, finish)))
    assembler.response()  # the stream must have ended: ProtocolError otherwise
    yield DONE_FRAME


def _chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: ChatCompletionStreamDelta,
    finish: ChatFinishReason | None,
) -> ChatCompletionStreamResponse:
    return ChatCompletionStreamResponse(
        id=completion_id,
        created=created,
        model=model,
        choices=[ChatCompletionStreamChoice(index=0, delta=delta, finish_reason=finish)],
    )
