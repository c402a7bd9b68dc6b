"""Adapters between the OpenAI API shapes (outside a gateway) and Protocol v0.1 (inside).

* ``to_request``: a chat completion request -> a ``Request``. A request body is read as
  today's OpenAI clients write it (``openai_wire.OpenAIChatRequest``): each parameter is
  mapped onto a Request field, carried in ``metadata["openai"]``, accepted as a no-op or
  refused naming it, as ``openai_params.CHAT_PARAMETERS`` says; unknown parameters are
  rejected, as OpenAI does. Nothing the client asked for is lost or silently changed.
* ``to_chat_completion``: a ``Response`` -> a ``chat.completion`` body.
* ``stream_to_openai_sse``: stream events -> ``chat.completion.chunk`` server-sent events,
  ending with ``data: [DONE]`` (with ``include_usage``, a usage chunk before it);
  ``astream_to_openai_sse`` for an async server, with in-band errors.
* ``to_openai_error``: an ``Error`` or a ``ProtocolError`` -> (HTTP status, OpenAI error body).

Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from ._aio import AnyIterable
from ._astream import TextFrame, write_stream
from ._problems import summary_error
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
from .openai_wire import OpenAIChatRequest
from .sse import DONE_FRAME
from .streaming import StreamAssembler
from .types import (
    FinishReason,
    Metrics,
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
    "astream_to_openai_sse",
    "include_usage",
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


def _carried_parameters(
    message: ChatCompletionRequest | Any, names: Sequence[str]
) -> tuple[dict[str, Any], float | None]:
    """(what travels in ``metadata["openai"]``, ``Request.temperature``) for an OpenAI request.

    The parameters in ``names`` that the client gave are carried under their OpenAI names; a
    ``temperature`` of 0 (greedy decoding, outside Request's (0, 2]) is carried as 0 and gives
    ``Request.temperature`` None, any other temperature is the Request's.
    """
    carried: dict[str, Any] = {
        name: getattr(message, name) for name in names if name in message.model_fields_set
    }
    temperature: float | None = message.temperature
    if temperature == 0:
        carried["temperature"] = 0
        temperature = None
    return carried, temperature


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def to_request(
    chat_request: ChatCompletionRequest | OpenAIChatRequest | JsonInput,
    *,
    request_id: str | None = None,
    trace_id: str | None = None,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    render: Callable[[Sequence[ChatMessage]], str] = render_prompt,
) -> Request:
    """The ``Request`` for a chat completion request: a JSON body as OpenAI clients write it
    (or its ``OpenAIChatRequest``), or the contract's ``ChatCompletionRequest``.

    * ``request_id``: generated (``req-<hex>``) when not given; ``trace_id``: taken from the
      chat request when it has one, else generated (``trace-<hex>``) when not given.
    * ``prompt``: ``render(messages)`` (default ``render_prompt``, which keeps roles and
      names); ``developer`` messages are system messages, text parts are joined with
      newlines, an assistant's null content is empty.
    * ``max_tokens`` (or ``max_completion_tokens``), ``stream``, ``top_p``, ``model`` map to
      the Request fields (``max_tokens`` defaults to ``default_max_tokens``); ``temperature``
      too, except 0 (greedy decoding, outside Request's (0, 2]), which is carried as
      ``metadata["openai"]["temperature"] = 0`` with ``Request.temperature`` left None.
    * The carried parameters of ``openai_params.CHAT_PARAMETERS`` (``stop``, ``seed``,
      ``stream_options``, ``user`` ...), when the client gave them, travel in
      ``metadata["openai"]`` under their OpenAI names; so do the message ``names`` (one entry
      per message, None where unnamed) when any is given.

    Raises ``ProtocolError`` (``invalid_argument``) naming every problem: an unknown
    parameter, a refused one whose value asks for something a Request cannot give (``n`` > 1,
    ``tools``, an image part at ``messages[2].content[1].type`` ...), ``max_tokens`` and
    ``max_completion_tokens`` that differ, or any other invalid input.
    """
    extra: dict[str, Any] = {}
    if isinstance(chat_request, ChatCompletionRequest):
        chat = chat_request
        if chat.n != 1:
            raise ProtocolError.invalid(
                "n: only n = 1 is supported (a Request produces one completion)", param="n"
            )
    else:
        body = (
            chat_request
            if isinstance(chat_request, OpenAIChatRequest)
            else decode(OpenAIChatRequest, chat_request)
        )
        chat, extra = body.chat_request(), body.carried()
    carried, temperature = _carried_parameters(chat, _CARRIED)
    carried.update(extra)
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


def _completion_id(request_id: str, prefix: str = "chatcmpl-") -> str:
    candidate = f"{prefix}{request_id}"
    return candidate if len(candidate) <= MAX_IDENTIFIER_LENGTH else _new_id(prefix)


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
    ``created`` to now; ``trace_id`` is the Response's. The message's ``refusal`` and the
    choice's ``logprobs`` are written as null, as OpenAI writes them.

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
                message=ChatMessage(role="assistant", content=response.output_text, refusal=None),
                finish_reason="length" if response.finish_reason == "length" else "stop",
                logprobs=None,
            )
        ],
        usage=ChatCompletionUsage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
        trace_id=response.trace_id,
    )


def to_openai_error(error: Error | ProtocolError) -> tuple[int, OpenAIErrorResponse]:
    """(HTTP status, OpenAI error body) for ``error``, an ``Error`` or a ``ProtocolError``.

    The status comes from ``ErrorCode.http_status``, the ``type`` from ``OPENAI_ERROR_TYPES``;
    ``message`` and ``param`` are the Error's, ``code`` is the ErrorCode value. For a
    ProtocolError, the first problem gives the status, ``type``, ``code`` and ``param``, and
    the message names every problem (``"3 problems: ...; ...; ..."``, at most 20, then "and N
    more problems"), since an OpenAI error body holds one error.
    """
    if isinstance(error, ProtocolError):
        error = summary_error(error.errors, error.more)
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


def _finish(reason: FinishReason) -> ChatFinishReason:
    return "length" if reason == "length" else "stop"


class _OpenAIFrames:
    """What the OpenAI streams share: the completion's id, creation time and model, the usage
    chunk asked for with ``include_usage`` (the prompt tokens from the start event), the
    error frame (``data: {"error": {...}}``, what the openai client raises) and
    ``data: [DONE]``."""

    __slots__ = ("_created", "_id", "_include_usage", "_model", "_prompt_tokens")

    def __init__(
        self, model: str, id: str | None, created: int | None, include_usage: bool = False
    ) -> None:
        self._model = model
        self._id = id or ""
        self._created = created if created is not None else int(time.time())
        self._include_usage = include_usage
        self._prompt_tokens = 0

    def _started(self, event: StreamEventStart, prefix: str) -> None:
        self._id = self._id or _completion_id(event.request_id, prefix)
        self._prompt_tokens = event.prompt_tokens or 0

    def _usage(self, end: StreamEventEnd) -> ChatCompletionUsage:
        completion_tokens = len(end.output_tokens)
        return ChatCompletionUsage(
            prompt_tokens=self._prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=self._prompt_tokens + completion_tokens,
        )

    def _ending(
        self, last: BaseModel, usage_chunk: Callable[..., BaseModel], end: StreamEventEnd
    ) -> bytes:
        """The frame of the ``last`` chunk, then, with ``include_usage``, the usage chunk
        (``usage_chunk(id=..., created=..., model=..., choices=[], usage=...)``)."""
        frames = _frame(encode(last))
        if not self._include_usage:
            return frames
        usage = usage_chunk(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[],
            usage=self._usage(end),
        )
        return frames + _frame(encode(usage))

    @staticmethod
    def error(error: Error) -> bytes:
        """The OpenAI error frame for ``error``."""
        return _frame(encode(to_openai_error(error)[1]))

    def failure(self, error: Error, assembler: StreamAssembler, metrics: Metrics) -> bytes:
        del assembler, metrics  # an OpenAI error frame carries neither
        return self.error(error)

    def done(self) -> bytes:
        return DONE_FRAME


class _ChatFrames(_OpenAIFrames):
    """The ``chat.completion.chunk`` frames of one stream; the text deltas are written around
    a precomputed head and tail, without building a model per token."""

    __slots__ = ("_content",)

    def __init__(
        self, model: str, id: str | None, created: int | None, include_usage: bool = False
    ) -> None:
        super().__init__(model, id, created, include_usage)
        self._content: TextFrame | None = None

    def _chunk(
        self, delta: ChatCompletionStreamDelta, finish: ChatFinishReason | None = None
    ) -> ChatCompletionStreamResponse:
        choice = ChatCompletionStreamChoice(
            index=0, delta=delta, finish_reason=finish, logprobs=None
        )
        if self._include_usage:  # "usage": null in every chunk but the usage chunk
            return ChatCompletionStreamResponse(
                id=self._id, created=self._created, model=self._model, choices=[choice], usage=None
            )
        return ChatCompletionStreamResponse(
            id=self._id, created=self._created, model=self._model, choices=[choice]
        )

    def event(self, event: StreamEvent) -> bytes | None:
        if type(event) is StreamEventDelta:
            if not event.chunk:
                return None
            if self._content is None:  # pragma: no cover - the grammar puts the start first
                raise ProtocolError.invalid("a delta before the start event")
            return self._content(event.chunk)
        if isinstance(event, StreamEventStart):
            self._started(event, "chatcmpl-")
            self._content = TextFrame(
                lambda text: self._chunk(ChatCompletionStreamDelta(content=text)),
                b"data: ",
                b"\n\n",
            )
            first = ChatCompletionStreamDelta(role="assistant", content="", refusal=None)
            return _frame(encode(self._chunk(first)))
        if isinstance(event, StreamEventEnd) and event.error is not None:
            return self.error(event.error)
        if isinstance(event, StreamEventEnd):
            last = self._chunk(ChatCompletionStreamDelta(), _finish(event.finish_reason))
            return self._ending(last, ChatCompletionStreamResponse, event)
        raise TypeError(f"not a stream event: {type(event).__name__}")


def include_usage(request: Request) -> bool:
    """True if ``request`` carries ``stream_options.include_usage: true`` (in
    ``metadata["openai"]``): its OpenAI stream ends with a usage chunk."""
    carried = (request.metadata or {}).get(OPENAI_METADATA_KEY)
    options = carried.get("stream_options") if isinstance(carried, dict) else None
    return isinstance(options, dict) and options.get("include_usage") is True


def stream_to_openai_sse(
    events: Iterable[StreamEvent],
    *,
    model: str,
    id: str | None = None,
    created: int | None = None,
    include_usage: bool = False,
) -> Iterator[bytes]:
    """OpenAI ``chat.completion.chunk`` server-sent events for a stream of events.

    The start event gives a chunk with the assistant role (and empty content), each delta
    with text a chunk with that text, the end event a chunk with the finish_reason (``stop``
    or ``length``); then ``data: [DONE]``. An end event with an error gives an OpenAI error
    frame (``data: {"error": {...}}``, what the openai client raises from) instead of the
    finishing chunk. The stream is checked against the stream grammar as it goes
    (``ProtocolError`` on a violation). ``id`` defaults to ``chatcmpl-<request_id>``.

    As OpenAI writes them: every chunk choice carries ``finish_reason`` (null until the last
    chunk) and ``logprobs`` (null), the first delta ``refusal: null``. With ``include_usage``
    (the client's ``stream_options.include_usage``, see ``include_usage(request)``), every
    chunk carries ``usage: null`` and a last chunk before ``[DONE]`` has empty ``choices``
    and the usage (prompt tokens from the start event, completion tokens counted).
    """
    frames = _ChatFrames(model, id, created, include_usage)
    assembler = StreamAssembler()
    for event in events:
        assembler.add(event)  # the grammar guarantees the start event comes first
        frame = frames.event(event)
        if frame is not None:
            yield frame
    assembler.response()  # the stream must have ended: ProtocolError otherwise
    yield DONE_FRAME


def astream_to_openai_sse(
    events: AnyIterable[StreamEvent],
    *,
    model: str,
    id: str | None = None,
    created: int | None = None,
    include_usage: bool = False,
) -> AsyncIterator[bytes]:
    """``stream_to_openai_sse`` for a sync or an async iterable of events, for a server.

    The frames are the same. Reading stops at the end event; an end event with an error
    gives the OpenAI error frame and nothing after it. A stream that breaks the grammar, or
    whose source raises, after its start event ends with an OpenAI error frame (code
    ``unavailable`` for a broken grammar or an exception; the source's own errors for a
    ``ProtocolError``) and nothing after it. Before the start event nothing has been sent, and
    the problem is raised instead (a broken grammar as a ``ProtocolError``). The source is
    closed however the stream ends, also when the consumer stops early or is cancelled.
    """
    return write_stream(events, _ChatFrames(model, id, created, include_usage))
