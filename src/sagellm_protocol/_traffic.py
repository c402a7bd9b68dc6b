"""Reading recorded traffic for ``sagellm-protocol validate``: JSON, JSONL or SSE, with lines.

Each message is validated from its own text with ``decode``, exactly as a receiver would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydantic_core import from_json

from .codec import decode
from .errors import Error, ErrorCode, ProtocolError
from .registry import MESSAGE_TYPES, STREAM_EVENT, STREAM_EVENT_TYPES, TYPE_NAMES, message_type

__all__ = ["Finding", "Message", "check", "known_types", "read_messages"]

_SSE_FIELD = re.compile(r"(data|event|id|retry)\s*:|:")
_NON_EVENT_TYPES = [
    name for name, model in MESSAGE_TYPES.items() if model not in STREAM_EVENT_TYPES.values()
]


@dataclass(frozen=True)
class Message:
    """One message of the input: its text, the line it starts on, its SSE ``event:`` line."""

    line: int
    text: str
    event_line: str | None = None


@dataclass(frozen=True)
class Finding:
    """The verdict on one message: the type it was checked as (None if unknown) and problems."""

    message: Message
    type_name: str | None
    errors: list[Error] = field(default_factory=list)


def read_messages(text: str) -> list[Message]:
    """The messages of ``text``: an SSE stream, one JSON value (an array is a list of them), or
    JSON lines."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return []
    if _SSE_FIELD.match(first):
        return list(_sse_messages(text))
    start = len(text) - len(text.lstrip())
    whole = Message(_line_of(text, start), text.strip())
    try:
        value = from_json(text)  # pydantic-core's parser: bounded nesting, no recursion error
    except ValueError:
        lines = [
            Message(number, line.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
        return lines if len(lines) > 1 else [whole]
    if isinstance(value, list):
        try:
            return list(_array_messages(text))
        except (ValueError, RecursionError):  # an element too deep to locate: one message
            return [whole]
    return [whole]


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _array_messages(text: str) -> Iterator[Message]:
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return
        _, end = decoder.raw_decode(text, position)
        yield Message(_line_of(text, position), text[position:end])
        position = end


def _sse_messages(text: str) -> Iterator[Message]:
    """Frames of an SSE stream (LF, CRLF or CR line ends); ``data: [DONE]`` is not a message."""
    data: list[str] = []
    event_line: str | None = None
    start = 0
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line:
            if data and data != ["[DONE]"]:
                yield Message(start, "\n".join(data), event_line)
            data, event_line, start = [], None, 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        start = start or number
        if name == "data":
            data.append(value)
        elif name == "event":
            event_line = value
    if data and data != ["[DONE]"]:
        yield Message(start, "\n".join(data), event_line)


def check(message: Message, type_name: str | None = None) -> Finding:
    """Validate one message as ``type_name``, or as the type it is detected to be.

    Detection: a message with an ``event`` tag is a stream event; otherwise the one public
    message type it validates as. If none, the problems of the closest type (fewest errors,
    registry order breaking ties); if several, a problem naming them.
    """
    if type_name is not None:
        return Finding(message, type_name, _problems(type_name, message))
    try:
        parsed = from_json(message.text)
    except ValueError:
        return Finding(message, None, _problems(_NON_EVENT_TYPES[0], message))
    if isinstance(parsed, dict) and "event" in parsed:
        tag = parsed["event"]
        model = STREAM_EVENT_TYPES.get(tag) if isinstance(tag, str) else None
        shown = STREAM_EVENT if model is None else model.__name__
        return Finding(message, shown, _problems(STREAM_EVENT, message))
    results = [(name, _problems(name, message)) for name in _NON_EVENT_TYPES]
    valid = [name for name, errors in results if not errors]
    if len(valid) == 1:
        return Finding(message, valid[0])
    if len(valid) > 1:
        ambiguous = Error(
            code=ErrorCode.INVALID_ARGUMENT,
            message=(
                f"the message is valid as several types ({', '.join(valid)}); name one with --type"
            ),
        )
        return Finding(message, None, [ambiguous])
    closest, errors = min(results, key=lambda result: len(result[1]))
    return Finding(message, closest, errors)


def _problems(type_name: str, message: Message) -> list[Error]:
    try:
        decoded = decode(message_type(type_name), message.text)
    except ProtocolError as exc:
        return list(exc.errors)
    tag = getattr(decoded, "event", None)
    if message.event_line is not None and tag is not None and message.event_line != tag:
        return [
            Error(
                code=ErrorCode.INVALID_ARGUMENT,
                message=f"the event: line does not match the data's event tag ({tag})",
                param="event",
            )
        ]
    return []


def known_types() -> Sequence[str]:
    """The names ``--type`` accepts."""
    return TYPE_NAMES
