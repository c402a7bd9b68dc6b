"""Reading recorded traffic for ``sagellm-protocol validate``: JSON, JSONL or SSE, with lines.

The input is read as a stream: JSON lines and SSE frames one at a time, a JSON array element
by element, so memory follows the largest message, not the file. A message (or a line) longer
than the size limit stops the reading (``InputError``): a source without line ends, such as
``/dev/zero``, is refused at the limit instead of being read whole.

Each message is validated from its own text with ``decode``, exactly as a receiver would,
as the type it is named (``--type``) or the type its fields fit best (``detect``): one parse
to read its keys, one decode.
"""

from __future__ import annotations

import codecs
import json
import re
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pydantic_core import from_json

from .codec import decode
from .errors import Error, ErrorCode, ProtocolError
from .limits import MAX_MESSAGE_SIZE
from .registry import MESSAGE_TYPES, STREAM_EVENT, STREAM_EVENT_TYPES, TYPE_NAMES, message_type
from .streaming import StreamAssembler

__all__ = [
    "Finding",
    "InputError",
    "Message",
    "StreamChecker",
    "check",
    "known_types",
    "read_messages",
]

_SSE_FIELD = re.compile(r"(data|event|id|retry)\s*:|:")
_SSE_LINE_END = re.compile(r"\r\n|\r|\n")
_CHUNK = 64 * 1024


class InputError(Exception):
    """The input cannot be read on (not UTF-8, or a message beyond the size limit)."""


@dataclass(frozen=True)
class Message:
    """One message of the input: its text, the line it starts on, its SSE ``event:`` line.

    ``unfinished`` marks an SSE frame the input ended inside (no blank line after it).
    """

    line: int
    text: str
    event_line: str | None = None
    unfinished: bool = False
    sse: bool = False


@dataclass(frozen=True)
class Finding:
    """The verdict on one message: the type it was checked as (None if unknown), the problems
    listed, and how many more there were."""

    message: Message
    type_name: str | None
    errors: list[Error] = field(default_factory=list)
    more: int = 0
    decoded: Any = None
    """The decoded message, when it is valid."""


# --- reading ---------------------------------------------------------------------------------


class _Lines:
    """The lines of a binary stream as text, each at most ``limit`` bytes, with numbers."""

    def __init__(self, stream: BinaryIO, name: str, limit: int) -> None:
        self._stream, self._name, self._limit = stream, name, limit
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(self._limit + 2)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw.rstrip(b"\r\n")) > self._limit:
            raise InputError(
                f"{self._name}: line {self.number} is longer than the size limit of "
                f"{self._limit} bytes (reading stopped)"
            )
        return _text(raw, self._name)

    def read(self, size: int) -> bytes:
        return self._stream.read(size)


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: is not UTF-8 text") from None


def read_messages(stream: BinaryIO, name: str, limit: int = MAX_MESSAGE_SIZE) -> Iterator[Message]:
    """The messages of ``stream``: an SSE stream, a JSON array of messages, JSON lines, or one
    JSON value (pretty-printed, say). The format is told from the first line that is not
    blank. ``InputError`` ends the reading."""
    lines = _Lines(stream, name, limit)
    first = ""
    for line in lines:
        if line.strip():
            first = line
            break
    if not first:
        return
    start = lines.number
    stripped = first.strip()
    if _SSE_FIELD.match(stripped):
        yield from _sse_messages(first, start, lines, limit)
    elif stripped.startswith("["):
        yield from _array_messages(first, start, lines, name, limit)
    elif _parses(stripped):
        yield Message(start, stripped)
        yield from _json_lines(lines)
    else:
        yield from _one_value(first, start, lines, name, limit)


def _parses(text: str) -> bool:
    try:
        from_json(text)
    except ValueError:
        return False
    return True


def _json_lines(lines: _Lines) -> Iterator[Message]:
    for line in lines:
        if line.strip():
            yield Message(lines.number, line.strip())


def _one_value(first: str, start: int, lines: _Lines, name: str, limit: int) -> Iterator[Message]:
    """A JSON value over several lines; if the whole is not JSON, each line is a message."""
    read = [(start, first)]
    size = len(first.encode("utf-8"))
    for line in lines:
        size += len(line.encode("utf-8"))
        if size > limit:
            raise InputError(
                f"{name}: the message starting on line {start} is longer than the size limit "
                f"of {limit} bytes (reading stopped)"
            )
        read.append((lines.number, line))
    whole = "".join(line for _, line in read)
    if _parses(whole) or len([line for _, line in read if line.strip()]) == 1:
        yield Message(start, whole.strip())
        return
    for number, line in read:
        if line.strip():
            yield Message(number, line.strip())


def _array_messages(
    first: str, start: int, lines: _Lines, name: str, limit: int
) -> Iterator[Message]:
    """The elements of a JSON array, read element by element (each parse starts where the
    last ended, so the time is linear in the input)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buffer = first[first.index("[") + 1 :]
    line = start  # the line of buffer[counted]
    counted = position = 0
    ended = False

    def more(pending: int) -> bool:
        nonlocal buffer, position, counted, ended, line
        if ended:
            return False
        # Read at least as much as is pending, so a long element is scanned O(1) times.
        raw = lines.read(max(_CHUNK, pending))
        try:
            text = utf8.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise InputError(f"{name}: is not UTF-8 text") from None
        ended = not raw
        line += buffer.count("\n", counted, position)
        buffer = buffer[position:] + text
        counted = position = 0
        return True

    while True:
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position < len(buffer) or not more(0):
                break
        if position >= len(buffer) or buffer[position] == "]":
            return
        line += buffer.count("\n", counted, position)
        counted = position
        try:
            _, end = decoder.raw_decode(buffer, position)
            if end == len(buffer) and not ended:  # a number may go on in the next chunk
                raise ValueError
        except (ValueError, RecursionError):
            pending = len(buffer) - position
            if pending > limit:
                raise InputError(
                    f"{name}: the message starting on line {line} is longer than the size "
                    f"limit of {limit} bytes (reading stopped)"
                ) from None
            if more(pending):
                continue
            # Not JSON (or nested beyond the parser) up to the end: one message, the last.
            yield Message(line, buffer[position:].strip())
            return
        if end - position > limit:
            raise InputError(
                f"{name}: the message starting on line {line} is longer than the size limit "
                f"of {limit} bytes (reading stopped)"
            )
        yield Message(line, buffer[position:end])
        position = end


def _sse_messages(first: str, start: int, lines: _Lines, limit: int) -> Iterator[Message]:
    """Frames of an SSE stream (LF, CRLF or CR line ends); ``data: [DONE]`` is not a message.
    A frame the input ends inside is a message marked ``unfinished``."""
    data: list[str] = []
    size = 0
    event_line: str | None = None
    frame_start = 0
    pending = False

    def numbered() -> Iterator[tuple[int, str]]:
        for number, text in [(start, first), *((lines.number, text) for text in lines)]:
            for part in _SSE_LINE_END.split(text.rstrip("\r\n")) if text.strip("\r\n") else [""]:
                yield number, part

    for number, line in numbered():
        if not line:
            if data and data != ["[DONE]"]:
                yield Message(frame_start, "\n".join(data), event_line, sse=True)
            data, size, event_line, frame_start, pending = [], 0, None, 0, False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        frame_start = frame_start or number
        pending = True
        size += len(line)
        if size > limit:
            raise InputError(
                f"the frame starting on line {frame_start} is longer than the size limit of "
                f"{limit} bytes (reading stopped)"
            )
        if name == "data":
            data.append(value)
        elif name == "event":
            event_line = value
    if pending:
        yield Message(frame_start, "\n".join(data), event_line, unfinished=True, sse=True)


# --- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """What a message type's fields look like: names, required names, tag values."""

    name: str
    fields: frozenset[str]
    required: frozenset[str]
    tags: dict[str, tuple[Any, ...]]


def _shape(name: str) -> _Shape:
    model = MESSAGE_TYPES[name]
    tags = {}
    for field_name, info in model.model_fields.items():
        # A field with one allowed value tags the type (``object: "chat.completion"``).
        if typing.get_origin(info.annotation) is typing.Literal:
            values = typing.get_args(info.annotation)
            if len(values) == 1:
                tags[field_name] = values
    return _Shape(
        name,
        frozenset(model.model_fields),
        frozenset(key for key, info in model.model_fields.items() if info.is_required()),
        tags,
    )


# A type without required fields (ChatCompletionStreamDelta) fits any object with one of its
# field names, so it is never detected, only named with --type.
_SHAPES = [
    shape
    for name, model in MESSAGE_TYPES.items()
    if model not in STREAM_EVENT_TYPES.values() and (shape := _shape(name)).required
]


def detect(parsed: dict[str, Any]) -> list[str]:
    """The message types whose fields ``parsed`` fits best, best first (ties in registry
    order); empty when it shares no field with any type. Types without a required field
    are left out: any object with one of their field names would fit them.

    A type is out when a tag field it fixes (``object: "chat.completion"``) has another value.
    The others are ranked by the keys that are not their fields plus their required fields
    that are missing (fewer first), then by how many of their required fields are there (more
    first, so that the more specific of two types wins).
    """
    keys = parsed.keys()
    ranked = []
    for order, shape in enumerate(_SHAPES):
        if any(key in keys and parsed[key] not in values for key, values in shape.tags.items()):
            continue
        matched = len(keys & shape.fields)
        if not matched:
            continue
        distance = len(keys - shape.fields) + len(shape.required - keys)
        ranked.append(((distance, -len(shape.required & keys), order), shape.name))
    ranked.sort()
    return [name for key, name in ranked if key[:2] == ranked[0][0][:2]]


def check(message: Message, type_name: str | None = None) -> Finding:
    """Validate one message as ``type_name``, or as the type it is detected to be.

    Detection: a message with an ``event`` tag is a stream event; otherwise the type its
    fields fit best (``detect``). When several fit equally well, the first that the message
    is valid as; if none, the first, with its problems.
    """
    if message.unfinished:
        return Finding(
            message,
            None,
            [_problem("the input ended inside this SSE frame (a frame ends with a blank line)")],
        )
    if type_name is not None:
        return _finding(message, type_name)
    try:
        parsed = from_json(message.text)
    except ValueError:
        return _finding(message, STREAM_EVENT if message.sse else "Request", shown=None)
    if not isinstance(parsed, dict):
        return Finding(message, None, [_problem("the message must be a JSON object")])
    if "event" in parsed or message.sse:
        tag = parsed.get("event")
        model = STREAM_EVENT_TYPES.get(tag) if isinstance(tag, str) else None
        return _finding(
            message, STREAM_EVENT, shown=STREAM_EVENT if model is None else model.__name__
        )
    candidates = detect(parsed)
    if not candidates:
        return Finding(
            message,
            None,
            [
                _problem(
                    "the message fits no message type (it has none of their fields); "
                    "name one with --type"
                )
            ],
        )
    findings = [_finding(message, name) for name in candidates]
    return next((finding for finding in findings if not finding.errors), findings[0])


def _problem(message: str, param: str | None = None) -> Error:
    return Error(code=ErrorCode.INVALID_ARGUMENT, message=message, param=param)


_UNSET: Any = object()


def _finding(message: Message, type_name: str, shown: str | None = _UNSET) -> Finding:
    shown_name = type_name if shown is _UNSET else shown
    try:
        decoded = decode(message_type(type_name), message.text)
    except ProtocolError as exc:
        return Finding(message, shown_name, list(exc.errors), exc.more)
    tag = getattr(decoded, "event", None)
    if shown is not _UNSET and shown is not None:
        shown_name = type(decoded).__name__
    if message.event_line is not None and tag is not None and message.event_line != tag:
        rule = f"the event: line does not match the data's event tag ({tag})"
        return Finding(message, shown_name, [_problem(rule, "event")])
    return Finding(message, shown_name, decoded=decoded)


MAX_OPEN_STREAMS = 10_000
"""Most streams ``StreamChecker`` follows at once (each holds a digest of its output, not the
output itself, so that memory does not grow with a stream's length)."""


class StreamChecker:
    """The stream grammar, per request_id, over the valid events of the input. A stream with
    an invalid event is not followed further (its grammar problems would only repeat that
    one)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[StreamAssembler, int]] = {}
        self._broken: set[str] = set()

    def invalid(self, message: Message) -> None:
        """Stop following the stream of ``message``, an event that is not valid."""
        try:
            parsed = from_json(message.text)
        except ValueError:
            return
        request_id = parsed.get("request_id") if isinstance(parsed, dict) else None
        if isinstance(request_id, str) and len(self._broken) < MAX_OPEN_STREAMS:
            self._broken.add(request_id)
            self._open.pop(request_id, None)

    def add(self, event: Any, line: int) -> Error | None:
        """The grammar problem ``event`` (on ``line``) makes, or None."""
        if event.request_id in self._broken:
            return None
        opened = self._open.get(event.request_id)
        if opened is None:
            if len(self._open) >= MAX_OPEN_STREAMS:
                return _problem(
                    f"starts a stream while {MAX_OPEN_STREAMS} others are unfinished "
                    "(too many to follow)"
                )
            opened = self._open[event.request_id] = (StreamAssembler(keep_output=False), line)
        assembler, _ = opened
        try:
            assembler.add(event)
        except ProtocolError as exc:
            error = exc.error
            if not assembler.started:
                del self._open[event.request_id]
            return error.model_copy(update={"message": f"stream grammar: {error.message}"})
        if assembler.finished:
            del self._open[event.request_id]
        return None

    def unfinished(self) -> list[int]:
        """The lines on which the streams without an end event start, in order."""
        return sorted(line for _, line in self._open.values())


def known_types() -> Sequence[str]:
    """The names ``--type`` accepts."""
    return TYPE_NAMES
