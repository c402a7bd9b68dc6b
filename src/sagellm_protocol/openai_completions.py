"""The legacy OpenAI text completions API (``POST /v1/completions``): its shapes and adapters.

* ``CompletionRequest``: the request body; ``prompt`` is a string or a list of one string.
* ``completion_to_request``: a ``CompletionRequest`` -> a ``Request``, as ``to_request`` does
  for chat, each parameter as ``openai_params.COMPLETION_PARAMETERS`` says: the prompt is
  used as it is, ``max_tokens`` defaults to 16 as in OpenAI, and what asks for something a
  Request cannot give (``n`` > 1, ``echo: true``, a ``suffix``, ``best_of`` > 1,
  ``logprobs``) is refused naming the parameter.
* ``to_completion``: a ``Response`` -> a ``text_completion`` object (``CompletionResponse``).
* ``astream_to_completion_sse``: stream events -> ``text_completion`` chunks as server-sent
  events, ending with ``data: [DONE]`` (with ``include_usage``, a usage chunk before it), with
  in-band errors.

These shapes are adapters at the edge, not contract messages: they are not in the schema
bundle. Not imported by ``import sagellm_protocol``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    model_serializer,
    model_validator,
)

from ._aio import AnyIterable
from ._astream import TextFrame, write_stream
from ._base import ProtocolModel
from ._fields import (
    ExactFloat,
    Flag,
    Identifier,
    NonNegativeInt,
    OrderedList,
    PositiveCount,
    Text,
    UnixSeconds,
)
from .codec import JsonInput, decode
from .errors import ProtocolError
from .openai_compat import (
    OPENAI_METADATA_KEY,
    _carried_parameters,
    _completion_id,
    _new_id,
    _OpenAIFrames,
)
from .openai_params import COMPLETION_PARAMETERS
from .openai_types import ChatCompletionUsage, _with_set_nulls
from .openai_wire import StreamOptions, refuse_unless_no_op, without_nulls
from .types import (
    Request,
    Response,
    StreamEvent,
    StreamEventDelta,
    StreamEventEnd,
    StreamEventStart,
)

__all__ = [
    "DEFAULT_COMPLETION_MAX_TOKENS",
    "CompletionChoice",
    "CompletionFinishReason",
    "CompletionRequest",
    "CompletionResponse",
    "astream_to_completion_sse",
    "completion_to_request",
    "to_completion",
]

DEFAULT_COMPLETION_MAX_TOKENS = 16
"""``Request.max_tokens`` when a completion request gives none (OpenAI's default for this API)."""

CompletionFinishReason: TypeAlias = Literal["stop", "length", "content_filter"]
"""Why a text completion choice ended."""


def _now() -> int:
    return int(time.time())


def _refused(name: str) -> Any:
    return refuse_unless_no_op(COMPLETION_PARAMETERS[name])


_TokenIdText = Annotated[str, Strict(), Field(pattern=r"^[0-9]{1,10}$")]
_Bias = Annotated[float, Strict(), Field(ge=-100, le=100)]


class CompletionRequest(ProtocolModel):
    """Body of ``POST /v1/completions`` (the legacy text completions API).

    Every parameter's fate is in ``openai_params.COMPLETION_PARAMETERS``; a null parameter is
    read as not given.
    """

    model: Identifier
    """Name of the model to run."""
    prompt: Text | Annotated[list[Text], Field(min_length=1, max_length=1), OrderedList]
    """The prompt: a string, or a list holding one string (token-id prompts are refused)."""
    max_tokens: PositiveCount | None = None
    """Most output tokens to generate, in tokens; > 0; 16 when not given."""
    temperature: Annotated[float, Strict(), Field(ge=0, le=2), ExactFloat()] = 1.0
    """Sampling temperature, unitless, in [0, 2]; 0 means greedy decoding."""
    top_p: Annotated[float, Strict(), Field(gt=0, le=1), ExactFloat()] | None = None
    """Nucleus sampling probability mass, in (0, 1]."""
    n: Annotated[int, Strict(), Field(ge=1, le=128), _refused("n")] = 1
    """Number of choices to generate, 1 to 128 (only 1 can be served)."""
    stream: Flag = False
    """True to receive ``text_completion`` chunks as server-sent events."""
    stop: Text | Annotated[list[Text], OrderedList] | None = None
    """A stop string or a list of them; generation ends before the first one produced."""
    presence_penalty: Annotated[float, Strict(), Field(ge=-2, le=2), ExactFloat()] = 0.0
    """Penalty for tokens already present, unitless, in [-2, 2]."""
    frequency_penalty: Annotated[float, Strict(), Field(ge=-2, le=2), ExactFloat()] = 0.0
    """Penalty proportional to token frequency so far, unitless, in [-2, 2]."""
    echo: Annotated[Flag, _refused("echo")] = False
    """True to return the prompt before the completion (only false can be served)."""
    suffix: Annotated[Text | None, _refused("suffix")] = None
    """Text that comes after the completion (only null can be served)."""
    best_of: Annotated[int, Strict(), Field(ge=1, le=20), _refused("best_of")] = 1
    """Candidates generated server-side, 1 to 20 (only 1 can be served)."""
    user: Text | None = None
    """End-user identifier given by the client, for abuse monitoring."""
    trace_id: Identifier | None = None
    """Trace identifier for end-to-end correlation (a sageLLM extension)."""
    seed: Annotated[int, Strict()] | None = None
    """Seed of the sampling: the same seed and request give the same output."""
    logit_bias: dict[_TokenIdText, _Bias] | None = None
    """Bias added to the logit of each token id (a decimal string), in [-100, 100]."""
    logprobs: Annotated[Any, _refused("logprobs")] = None
    """Log probabilities of the most likely tokens: only null can be served."""
    stream_options: StreamOptions | None = None
    """Options of a streamed answer (``include_usage``)."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_not_given(cls, data: Any) -> Any:
        return without_nulls(data, frozenset({"model", "prompt"}))


class CompletionChoice(ProtocolModel):
    """One generated text of a completion, or its increment in a streamed chunk."""

    text: Text
    """The generated text (in a chunk: the increment)."""
    index: NonNegativeInt
    """Position of this choice, from 0."""
    finish_reason: CompletionFinishReason | None = None
    """Why generation ended: stop, length or content_filter; null until the last chunk."""
    logprobs: None = None
    """Log probabilities of the text: always null, none are returned."""

    @model_serializer(mode="wrap")
    def _keep_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # OpenAI writes "finish_reason": null until it is known, and "logprobs": null; so do we.
        data: dict[str, Any] = handler(self)
        if info.exclude_none and "finish_reason" not in data:
            data["finish_reason"] = None
        return _with_set_nulls(self, data, info, ("logprobs",))


class CompletionResponse(ProtocolModel):
    """A ``text_completion`` object: a whole completion, or one streamed chunk of it."""

    id: Identifier
    """Identifier of the completion; the same in every chunk of a stream."""
    object: Literal["text_completion"] = "text_completion"
    """Object tag: always ``text_completion``."""
    created: UnixSeconds = Field(default_factory=_now)
    """Creation time, in Unix seconds; defaults to now."""
    model: Identifier
    """Name of the model that answered."""
    choices: Annotated[list[CompletionChoice], OrderedList]
    """The generated texts (in a chunk: their increments; none in the usage chunk)."""
    usage: ChatCompletionUsage | None = None
    """Token accounting: in a whole completion, and with ``include_usage`` in a stream's last
    chunk (null in the chunks before it)."""
    trace_id: Identifier | None = None
    """Trace identifier for end-to-end correlation (a sageLLM extension)."""
    system_fingerprint: Text | None = None
    """The backend configuration that answered, as the server names it."""

    @model_serializer(mode="wrap")
    def _keep_set_null(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # With include_usage, OpenAI writes "usage": null in every chunk but the last.
        return _with_set_nulls(self, handler(self), info, ("usage",))


# Parameters that Request has no field for; carried in metadata["openai"] when given.
_CARRIED = tuple(
    name for name, parameter in COMPLETION_PARAMETERS.items() if parameter.fate == "carried"
)


def completion_to_request(
    completion_request: CompletionRequest | JsonInput,
    *,
    request_id: str | None = None,
    trace_id: str | None = None,
    default_max_tokens: int = DEFAULT_COMPLETION_MAX_TOKENS,
) -> Request:
    """The ``Request`` for a text completion request (a model, or its JSON body).

    ``prompt`` is the Request's prompt as it is; ``max_tokens`` defaults to
    ``default_max_tokens`` (16); ``model``, ``stream``, ``top_p`` and ``temperature`` map as in
    ``to_request`` (a temperature of 0 travels in ``metadata["openai"]``), and the carried
    parameters (``stop``, ``presence_penalty``, ``frequency_penalty``, ``user``, ``seed``,
    ``logit_bias``, ``stream_options``) travel there when given. ``n``, ``best_of`` (1),
    ``echo`` (false), ``suffix`` and ``logprobs`` (null) are accepted at those values only.

    Raises ``ProtocolError`` (``invalid_argument``) naming every parameter that is invalid or
    asks for what a Request cannot give.
    """
    completion = (
        completion_request
        if isinstance(completion_request, CompletionRequest)
        else decode(CompletionRequest, completion_request)
    )
    carried, temperature = _carried_parameters(completion, _CARRIED)
    if completion.stream_options is not None and "stream_options" in carried:
        carried["stream_options"] = completion.stream_options.model_dump(exclude_none=True)
    prompt = completion.prompt if isinstance(completion.prompt, str) else completion.prompt[0]
    try:
        return Request(
            request_id=request_id if request_id is not None else _new_id("req-"),
            trace_id=trace_id if trace_id is not None else completion.trace_id or _new_id("trace-"),
            model=completion.model,
            prompt=prompt,
            max_tokens=(
                completion.max_tokens if completion.max_tokens is not None else default_max_tokens
            ),
            stream=completion.stream,
            temperature=temperature,
            top_p=completion.top_p,
            metadata={OPENAI_METADATA_KEY: carried} if carried else None,
        )
    except ValidationError as exc:  # e.g. given ids that break a rule
        raise ProtocolError.from_validation_error(exc, root=Request) from None


def _finish(response_finish: str) -> CompletionFinishReason:
    return "length" if response_finish == "length" else "stop"


def to_completion(
    response: Response,
    *,
    model: str,
    prompt_tokens: int = 0,
    id: str | None = None,
    created: int | None = None,
) -> CompletionResponse:
    """The ``text_completion`` object for a finished ``Response``.

    One choice with ``output_text``, finish_reason ``stop`` or ``length``; usage as in
    ``to_chat_completion``; ``logprobs`` written as null, as OpenAI writes it. ``id`` defaults
    to ``cmpl-<request_id>``, ``created`` to now. A Response with an error raises
    ``ProtocolError`` carrying that Error.
    """
    if response.error is not None:
        raise ProtocolError(response.error)
    completion_tokens = len(response.output_tokens)
    return CompletionResponse(
        id=id if id is not None else _completion_id(response.request_id, "cmpl-"),
        created=created if created is not None else _now(),
        model=model,
        choices=[
            CompletionChoice(
                text=response.output_text,
                index=0,
                finish_reason=_finish(response.finish_reason),
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


class _CompletionFrames(_OpenAIFrames):
    """The ``text_completion`` chunk frames of one stream (text through a ``TextFrame``)."""

    __slots__ = ("_text",)

    def __init__(
        self, model: str, id: str | None, created: int | None, include_usage: bool = False
    ) -> None:
        super().__init__(model, id, created, include_usage)
        self._text: TextFrame | None = None

    def _chunk(self, text: str, finish: CompletionFinishReason | None = None) -> CompletionResponse:
        choice = CompletionChoice(text=text, index=0, finish_reason=finish, logprobs=None)
        if self._include_usage:  # "usage": null in every chunk but the usage chunk
            return CompletionResponse(
                id=self._id, created=self._created, model=self._model, choices=[choice], usage=None
            )
        return CompletionResponse(
            id=self._id, created=self._created, model=self._model, choices=[choice]
        )

    def event(self, event: StreamEvent) -> bytes | None:
        if type(event) is StreamEventDelta:
            if not event.chunk or self._text is None:
                return None
            return self._text(event.chunk)
        if isinstance(event, StreamEventStart):
            self._started(event, "cmpl-")
            self._text = TextFrame(self._chunk, b"data: ", b"\n\n")
            return None
        if isinstance(event, StreamEventEnd):
            if event.error is not None:
                return self.error(event.error)
            last = self._chunk("", _finish(event.finish_reason))
            return self._ending(last, CompletionResponse, event)
        raise TypeError(f"not a stream event: {type(event).__name__}")


def astream_to_completion_sse(
    events: AnyIterable[StreamEvent],
    *,
    model: str,
    id: str | None = None,
    created: int | None = None,
    include_usage: bool = False,
) -> AsyncIterator[bytes]:
    """``text_completion`` chunks as server-sent events for a stream of events, then
    ``data: [DONE]``.

    Each delta with text gives a chunk with that text (``finish_reason`` and ``logprobs``
    null), the end event a chunk with empty text and the finish_reason (``stop`` or
    ``length``). With ``include_usage``, every chunk carries ``usage: null`` and a last chunk
    before ``[DONE]`` has empty ``choices`` and the usage. Errors in-band and the closing of
    the source as in ``openai_compat.astream_to_openai_sse``. ``id`` defaults to
    ``cmpl-<request_id>``.
    """
    return write_stream(events, _CompletionFrames(model, id, created, include_usage))
