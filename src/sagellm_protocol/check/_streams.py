"""The stream checks: a native event stream and an OpenAI chunk sequence, read as they arrive.

Each checker is fed the stream's bytes with their arrival time, stops at the first broken rule
(``BrokenRuleError``) and keeps what the other probes and the latency mode need: the text, the
finish reason, the usage, and one arrival time per output token (a native delta's tokens
share its time; an OpenAI content delta counts as one token).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..codec import decode
from ..errors import ProtocolError
from ..openai_types import (
    ChatCompletionChoice,
    ChatCompletionResponse,
    ChatCompletionStreamChoice,
    ChatCompletionStreamDelta,
    ChatCompletionStreamResponse,
    ChatCompletionUsage,
    ChatMessage,
    OpenAIErrorResponse,
)
from ..sse import SSEDecoder
from ..streaming import StreamAssembler
from ..types import Response
from ._exchange import BrokenRuleError, printable
from ._frames import FrameError, FrameReader

__all__ = [
    "CHUNK_HAS_USAGE",
    "ChatStream",
    "NativeStream",
    "described",
    "usage_sum_broken",
    "validated",
    "without_openai_extras",
]

CHUNK_HAS_USAGE = "usage" in ChatCompletionStreamResponse.model_fields
"""Whether this package's chunk type carries a usage (then ``include_usage`` is asked for)."""

_M = TypeVar("_M", bound=BaseModel)
_PROBLEMS_SHOWN = 3
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")
_MAX_TEXT = 256  # longest system_fingerprint or service_tier let through, in characters
_MAX_CHOICES = 16  # choices eased per message (a probe asks for one)
_MAX_DETAILS = 16  # counts in a usage's *_tokens_details let through


def described(exc: ProtocolError) -> str:
    """The problems of ``exc``: the first few messages (field path and rule), then a count."""
    shown = [error.message for error in exc.errors[:_PROBLEMS_SHOWN]]
    if len(exc.errors) > _PROBLEMS_SHOWN:
        shown.append(f"and {len(exc.errors) - _PROBLEMS_SHOWN} more")
    return printable("; ".join(shown))


def usage_sum_broken(raw: Any) -> bool:
    """True when ``raw["usage"]`` holds three integers whose total is not the sum."""
    usage: Any = raw.get("usage") if isinstance(raw, dict) else None
    if not _is_usage(usage, exact=False):
        return False
    return bool(usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"])


def _is_usage(value: Any, *, exact: bool) -> bool:
    """True when ``value`` is an object with the three integer counts (and, when ``exact``,
    nothing else, each count >= 0)."""
    if not isinstance(value, dict):
        return False
    counts: list[Any] = [value.get(name) for name in _USAGE_COUNTS]
    if not all(type(count) is int for count in counts):
        return False
    return not exact or (len(value) == len(_USAGE_COUNTS) and all(c >= 0 for c in counts))


def _is_null(value: Any) -> bool:
    return value is None


def _is_text_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and 0 < len(value) <= _MAX_TEXT)


def _is_usage_or_null(value: Any) -> bool:
    return value is None or _is_usage(value, exact=True)


def _is_token_details(value: Any) -> bool:
    """An object of a few counts (``cached_tokens``, ``reasoning_tokens`` ...), each an
    integer >= 0 or null."""
    return (
        isinstance(value, dict)
        and len(value) <= _MAX_DETAILS
        and all(
            isinstance(key, str) and (count is None or (type(count) is int and count >= 0))
            for key, count in value.items()
        )
    )


def _is_no_annotations(value: Any) -> bool:
    return isinstance(value, list) and not value


# Keys OpenAI writes that an older version of this package's types may not have, with the
# values OpenAI writes (a logprobs, a refusal or a usage nobody asked for is null), per type.
_OPENAI_KEYS: dict[type[BaseModel], dict[str, Callable[[Any], bool]]] = {
    ChatCompletionResponse: {
        "system_fingerprint": _is_text_or_null,
        "service_tier": _is_text_or_null,
    },
    ChatCompletionChoice: {"logprobs": _is_null},
    ChatMessage: {"refusal": _is_null, "annotations": _is_no_annotations},
    ChatCompletionUsage: {
        "prompt_tokens_details": _is_token_details,
        "completion_tokens_details": _is_token_details,
    },
    ChatCompletionStreamResponse: {
        "system_fingerprint": _is_text_or_null,
        "service_tier": _is_text_or_null,
        "usage": _is_usage_or_null,
    },
    ChatCompletionStreamChoice: {"logprobs": _is_null},
    ChatCompletionStreamDelta: {"refusal": _is_null},
}
# Where the nested objects of those types are: (type, key of a list of choices, the type of
# each choice, the key of its message or delta, that one's type).
_OPENAI_NESTING: dict[type[BaseModel], tuple[type[BaseModel], str, type[BaseModel]]] = {
    ChatCompletionResponse: (ChatCompletionChoice, "message", ChatMessage),
    ChatCompletionStreamResponse: (ChatCompletionStreamChoice, "delta", ChatCompletionStreamDelta),
}


def _drop_keys(message_type: type[BaseModel], data: Any) -> bool:
    """Drop from the object ``data`` the OpenAI keys ``message_type`` does not have, when
    they hold what OpenAI writes there; True when one was dropped."""
    if not isinstance(data, dict):
        return False
    dropped = False
    for name, allowed in _OPENAI_KEYS.get(message_type, {}).items():
        if name not in message_type.model_fields and name in data and allowed(data[name]):
            del data[name]
            dropped = True
    return dropped


def without_openai_extras(message_type: type[BaseModel], raw: Any) -> bool:
    """Drop from ``raw`` (parsed JSON of a ``message_type``) the keys OpenAI itself writes
    that this package's type lacks (``system_fingerprint``, ``service_tier``, a null
    ``logprobs`` or ``refusal``, empty ``annotations``, the usage's ``*_tokens_details``, a
    chunk's ``usage``), so that a server answering as OpenAI
    does is not failed for it; True when one was dropped. Every other key stays, and is
    judged strictly."""
    nesting = _OPENAI_NESTING.get(message_type)
    if nesting is None or not isinstance(raw, dict):
        return False
    choice_type, inner_key, inner_type = nesting
    dropped = _drop_keys(ChatCompletionUsage, raw.get("usage"))  # first: a chunk's usage
    dropped = _drop_keys(message_type, raw) | dropped  # is let through with three counts only
    choices = raw.get("choices")
    for choice in choices[:_MAX_CHOICES] if isinstance(choices, list) else ():
        dropped = _drop_keys(choice_type, choice) | dropped
        if isinstance(choice, dict):
            dropped = _drop_keys(inner_type, choice.get(inner_key)) | dropped
    return dropped


def validated(message_type: type[_M], data: bytes | str) -> _M:
    """``data`` decoded strictly as ``message_type``, except for two things: the keys OpenAI
    writes that the type lacks (``without_openai_extras``) are let through, and the usage
    sum is left out (a total that is not the sum is the usage probe's finding, so it fails
    that probe alone). ``ProtocolError`` for every other problem."""
    try:
        return decode(message_type, data)
    except ProtocolError as exc:
        raw = _parsed(data)
        eased = without_openai_extras(message_type, raw)
        if usage_sum_broken(raw):
            usage = raw["usage"]
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            eased = True
        if not eased:
            raise
        try:
            again = json.dumps(raw)
        except (ValueError, RecursionError):
            raise exc from None
    return decode(message_type, again)


def _parsed(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


class NativeStream:
    """Checks a native stream: ``sse.SSEDecoder`` (each frame a valid stream event, strictly)
    and ``streaming.StreamAssembler`` (the grammar), no ``[DONE]``, no error end, and the
    identifiers of the request sent."""

    def __init__(self, request_id: str, trace_id: str) -> None:
        self._request_id = request_id
        self._trace_id = trace_id
        self._decoder = SSEDecoder()
        self.assembler = StreamAssembler()
        """The events so far, checked against the grammar."""
        self.events = 0
        """Events read so far."""
        self.token_times: list[float] = []
        """Arrival time of each output token, in seconds on the client's clock."""
        self.ended_at: float | None = None
        """When the end event arrived."""

    def feed(self, piece: bytes, now: float) -> None:
        """Check the events ``piece`` completes."""
        try:
            events = self._decoder.feed(piece)
            for event in events:
                self.assembler.add(event)
                self.events += 1
                if event.event == "delta":
                    self.token_times.extend(now for _ in event.chunk_tokens)
        except ProtocolError as exc:
            raise BrokenRuleError(described(exc)) from None
        if self._decoder.done:
            raise BrokenRuleError("a native stream has no data: [DONE] terminator")
        start = self.assembler.start
        if start is not None and (start.request_id, start.trace_id) != (
            self._request_id,
            self._trace_id,
        ):
            raise BrokenRuleError("the start event gives another request_id or trace_id than sent")
        if self.assembler.finished and self.ended_at is None:
            self.ended_at = now
            response = self.assembler.response()
            if response.error is not None:
                raise BrokenRuleError(
                    f"the stream ended with an error ({response.error.code.value}) "
                    "although the request was valid"
                )

    def close(self, now: float) -> None:
        """The stream ended: it must have been complete."""
        del now
        try:
            self._decoder.close()
        except ProtocolError as exc:
            raise BrokenRuleError(described(exc)) from None
        if not self.assembler.finished:
            raise BrokenRuleError("the stream ended without an end event")

    def response(self) -> Response:
        """The Response the stream assembled to (once it ended)."""
        return self.assembler.response()


class ChatStream:
    """Checks an OpenAI ``chat.completion.chunk`` sequence: every chunk valid, strictly; one
    id; role ``assistant`` first; one choice (index 0) per chunk; exactly one
    ``finish_reason``, in the last chunk with choices; then at most a usage chunk (no choices);
    ``data: [DONE]`` last, nothing after it; no error frame."""

    def __init__(self) -> None:
        self._frames = FrameReader()
        self._id: str | None = None
        self.chunks = 0
        """Chunks read so far."""
        self.content: list[str] = []
        """The content of each delta, in order."""
        self.finish_reason: str | None = None
        """The finish_reason given (None until then)."""
        self.usage: Any = None
        """The usage chunk's ``usage``, as sent (JSON), or None."""
        self.done = False
        """True once ``data: [DONE]`` arrived."""
        self.token_times: list[float] = []
        """Arrival time of each content delta (one token each), in seconds."""
        self.ended_at: float | None = None
        """When ``data: [DONE]`` arrived."""

    def feed(self, piece: bytes, now: float) -> None:
        """Check the frames ``piece`` completes."""
        try:
            frames = self._frames.feed(piece)
        except FrameError as exc:
            raise BrokenRuleError(str(exc)) from None
        for number, data in frames:
            self._frame(f"frame {number}", data, now)

    def close(self, now: float) -> None:
        """The stream ended: it must have ended with ``data: [DONE]``."""
        del now
        try:
            self._frames.close()
        except FrameError as exc:
            raise BrokenRuleError(str(exc)) from None
        if not self.done:
            raise BrokenRuleError("the stream ended without data: [DONE]")

    def _frame(self, where: str, data: str, now: float) -> None:
        if self.done:
            raise BrokenRuleError(f"{where}: data after data: [DONE]")
        if data == "[DONE]":
            if self.finish_reason is None:
                raise BrokenRuleError(
                    f"{where}: data: [DONE] before any chunk with a finish_reason"
                )
            self.done, self.ended_at = True, now
            return
        try:
            chunk = validated(ChatCompletionStreamResponse, data)
        except ProtocolError as exc:
            try:
                error = decode(OpenAIErrorResponse, data).error
            except ProtocolError:
                raise BrokenRuleError(f"{where}: {described(exc)}") from None
            code = printable(error.code or error.type, 60)
            raise BrokenRuleError(f"{where}: an error frame ({code}) ended the stream") from None
        self.chunks += 1
        self._chunk(chunk, _parsed(data), where, now)

    def _chunk(self, chunk: ChatCompletionStreamResponse, raw: Any, where: str, now: float) -> None:
        if self._id is None:
            self._id = chunk.id
        elif chunk.id != self._id:
            raise BrokenRuleError(f"{where}: id: differs from the first chunk's")
        if self.usage is not None:
            raise BrokenRuleError(f"{where}: a chunk after the usage chunk (which comes last)")
        if not chunk.choices:
            if not isinstance(raw, dict) or raw.get("usage") is None or self.finish_reason is None:
                raise BrokenRuleError(
                    f"{where}: choices: is empty; only a usage chunk after the finish_reason "
                    "may have no choices"
                )
            self.usage = raw["usage"]
            return
        if len(chunk.choices) != 1 or chunk.choices[0].index != 0:
            raise BrokenRuleError(
                f"{where}: choices: must hold one choice, index 0 (n = 1 was asked)"
            )
        choice = chunk.choices[0]
        if self.finish_reason is not None:
            raise BrokenRuleError(
                f"{where}: a chunk with choices after the one with the finish_reason"
            )
        role = choice.delta.role
        if self.chunks == 1 and role != "assistant":
            raise BrokenRuleError(
                f"{where}: choices[0].delta.role: the first chunk gives the role assistant"
            )
        if self.chunks > 1 and role not in (None, "assistant"):
            raise BrokenRuleError(f"{where}: choices[0].delta.role: must be assistant (or absent)")
        if choice.delta.content:
            self.content.append(choice.delta.content)
            self.token_times.append(now)
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
