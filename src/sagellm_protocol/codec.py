"""Wire codec: ``decode`` JSON (bytes, str or a mapping) into a validated message, ``encode``
a message into compact UTF-8 JSON.

Both sit on the serving hot path, so they call pydantic-core directly: each model's own
compiled validator and serializer (built once, at class creation), ``validate_json`` on the
raw bytes (no ``json.loads`` first). Every failure is a ``ProtocolError`` whose ``errors``
list each problem with its field path; no pydantic, JSON or Unicode exception escapes.

Unknown fields
--------------
``unknown="forbid"`` (the default) rejects them, like model construction does.
``unknown="ignore"`` is for a receiver whose peer speaks a newer 0.1.x (it announces its
version in the ``X-SageLLM-Protocol-Version`` header, ``PROTOCOL_VERSION_HEADER``): unknown
fields are dropped, and when the caller passes a list as ``ignored``, the path of every
dropped field is appended to it, so nothing vanishes unseen::

    dropped: list[str] = []
    request = decode(Request, body, unknown="ignore", ignored=dropped)
    if dropped:
        log.info("fields from a newer peer ignored: %s", dropped)
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, TypeVar, overload

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, SchemaValidator, from_json

from ._fields import with_core_metadata_checks
from .errors import ProtocolError, errors_from_details, field_error
from .limits import MAX_MESSAGE_SIZE
from .types import Request, StreamEvent, StreamEventDelta, StreamEventEnd, StreamEventStart

__all__ = ["PROTOCOL_VERSION_HEADER", "DuplicateKeys", "UnknownFields", "decode", "encode"]

PROTOCOL_VERSION_HEADER = "X-SageLLM-Protocol-Version"
"""HTTP header in which a peer announces the contract version it speaks (e.g. ``0.1``)."""

UnknownFields = Literal["forbid", "ignore"]
"""What ``decode`` does with a field the message type does not have."""

DuplicateKeys = Literal["last", "reject"]
"""What ``decode`` does with a JSON object that has a key twice: keep the last value, as
pydantic-core does everywhere in the stack, or refuse the message."""

M = TypeVar("M", bound=BaseModel)
JsonInput: TypeAlias = bytes | bytearray | memoryview | str | Mapping[str, Any]

# Only the top-level tag can match: inside a JSON string every quote is escaped, and no
# stream event has a free-form object field that could hold an "event" key.
_TAG = re.compile(rb'"event"\s*:\s*"(start|delta|end)"')
# The event classes by tag (the registry module would import every message type, the summary
# too, into every ``import sagellm_protocol``).
_EVENT_TYPES: dict[str, type[BaseModel]] = {
    model.model_fields["event"].default: model
    for model in (StreamEventStart, StreamEventDelta, StreamEventEnd)
}
_EVENT_BY_TAG: dict[bytes, type[BaseModel]] = {t.encode(): m for t, m in _EVENT_TYPES.items()}


# The second form takes the StreamEvent union, which is not a class.
@overload
def decode(  # type: ignore[overload-overlap]
    message_type: type[M],
    data: JsonInput,
    *,
    unknown: UnknownFields = "forbid",
    ignored: list[str] | None = None,
    max_size: int = MAX_MESSAGE_SIZE,
    duplicate_keys: DuplicateKeys = "last",
) -> M: ...


@overload
def decode(
    message_type: object,
    data: JsonInput,
    *,
    unknown: UnknownFields = "forbid",
    ignored: list[str] | None = None,
    max_size: int = MAX_MESSAGE_SIZE,
    duplicate_keys: DuplicateKeys = "last",
) -> StreamEvent: ...


def decode(
    message_type: Any,
    data: JsonInput,
    *,
    unknown: UnknownFields = "forbid",
    ignored: list[str] | None = None,
    max_size: int = MAX_MESSAGE_SIZE,
    duplicate_keys: DuplicateKeys = "last",
) -> Any:
    """Decode ``data`` into a validated ``message_type`` (a message class or ``StreamEvent``).

    ``data`` is JSON text (bytes or str) or an already parsed mapping. Raises
    ``ProtocolError`` for malformed JSON, a wrong type or a broken rule, listing every
    problem with its ``param`` path. ``unknown`` and ``ignored``: see the module docstring.

    JSON text longer than ``max_size`` bytes (default ``limits.MAX_MESSAGE_SIZE``, 16 MiB) is
    refused before it is parsed. ``duplicate_keys="reject"`` refuses an object with a key
    twice (every such key reported with its path); the default keeps the last value, as
    pydantic-core does, so every component of the stack reads a message the same way. The
    check costs a second parse: use it at an edge that faces other JSON parsers.
    """
    if (
        type(data) is bytes
        and 10 < len(data) <= max_size
        and duplicate_keys == "last"
        and unknown in ("forbid", "ignore")
    ):
        # The hot path (a request or a stream event arriving as bytes): one validator,
        # straight on the bytes. Whatever it refuses, the full path below decides again and
        # words the errors, so this path can only ever save time.
        if message_type is StreamEvent:
            validate = _EVENT_BY_INITIAL[data[10]]
        elif message_type is Request:
            validate = _request_from_json
        else:
            validate = None
        if validate is not None:
            try:
                return validate(data)
            except ValidationError:
                pass
    if unknown not in ("forbid", "ignore"):
        raise ValueError(f"unknown must be 'forbid' or 'ignore', not {unknown!r}")
    if type(data) is bytes:
        if len(data) > max_size:
            raise _too_large(max_size)
    elif not isinstance(data, Mapping):
        _check_size(data, max_size)
    if duplicate_keys != "last":
        if duplicate_keys != "reject":
            raise ValueError(f"duplicate_keys must be 'last' or 'reject', not {duplicate_keys!r}")
        if not isinstance(data, Mapping):
            _refuse_duplicate_keys(data)
    try:
        if message_type is StreamEvent:
            return _decode_event(data)
        return _validate(_validator(message_type), data)
    except ValidationError as exc:
        if unknown == "ignore":
            return _decode_ignoring_unknown(message_type, data, exc, ignored)
        raise ProtocolError.from_validation_error(exc, root=message_type) from None
    except UnicodeError:
        raise ProtocolError.invalid("the message is not valid UTF-8 text") from None


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON for ``message``; ``decode(type(message), encode(message)) == message``.

    Optional fields that are None (and default to None) are left out, so a peer on an older
    0.1.x never sees a new optional field that was not set; event and object tags and required
    fields are always written. Raises ``ProtocolError`` if a string holds a lone surrogate,
    which no UTF-8 JSON can carry.
    """
    try:
        return message.__pydantic_serializer__.to_json(message, exclude_none=True)
    except PydanticSerializationError:
        raise ProtocolError.invalid(
            "the message holds text that is not valid Unicode (a lone surrogate) "
            "and cannot be written as UTF-8 JSON"
        ) from None


# --- internals -------------------------------------------------------------------------------


def _too_large(max_size: int) -> ProtocolError:
    return ProtocolError.invalid(f"the message is larger than the size limit of {max_size} bytes")


def _check_size(data: Any, max_size: int) -> None:
    if isinstance(data, str):
        # A character is 1 to 4 bytes in UTF-8; count the bytes only when it can matter.
        if len(data) > max_size or (
            len(data) * 4 > max_size and len(data.encode("utf-8", "surrogatepass")) > max_size
        ):
            raise _too_large(max_size)
    elif isinstance(data, (bytearray, memoryview)) and len(data) > max_size:
        raise _too_large(max_size)


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers which of its keys came more than once."""

    duplicates: list[str]


def _collect_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    parsed = _Object()
    parsed.duplicates = []
    for key, value in pairs:
        if key in parsed and key not in parsed.duplicates:
            parsed.duplicates.append(key)
        parsed[key] = value
    return parsed


_DUPLICATE_RULE = "appears twice in one object (duplicate keys are refused)"


def _refuse_duplicate_keys(data: Any) -> None:
    """ProtocolError naming every key that comes twice in one object (by its path)."""
    import json  # noqa: PLC0415 - an opt-in check; ``import sagellm_protocol`` stays lighter

    text = bytes(data) if isinstance(data, (bytearray, memoryview)) else data
    try:
        parsed = json.loads(text, object_pairs_hook=_collect_pairs)
    except (ValueError, RecursionError):
        return  # not JSON this parser can read: validation reports what is wrong with it
    problems = []
    pending: list[tuple[Any, str]] = [(parsed, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, _Object):
            problems += [
                field_error(f"{path}.{key}" if path else key, _DUPLICATE_RULE)
                for key in value.duplicates
            ]
            children = [(item, f"{path}.{key}" if path else key) for key, item in value.items()]
        elif isinstance(value, list):
            children = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
        else:
            continue
        pending.extend(reversed(children))
    if problems:
        raise ProtocolError(problems)


def _fast_json_validator(model: type[BaseModel]) -> Any:
    """``validate_json`` of a validator for ``model`` whose metadata checks run in pydantic-core
    alone (see ``_fields.with_core_metadata_checks``), or None if ``model`` has no metadata."""
    schema = with_core_metadata_checks(model.__pydantic_core_schema__)
    if schema is None:
        return None
    # pydantic-core reuses a finished model's own validator for a schema that names the model;
    # mark the model unfinished while this one is built. This leans on pydantic internals, so a
    # failure leaves the model's own validator in place (slower, never wrong); a test asserts
    # that the fast validator is the one in use, so such a failure is noticed in CI.
    model.__pydantic_complete__ = False
    try:
        return SchemaValidator(schema, schema.get("config")).validate_json
    except Exception:  # any failure here must only cost speed
        return None
    finally:
        model.__pydantic_complete__ = True


# Request (the one message with metadata) checked with its metadata rules (finite floats,
# depth) in pydantic-core rather than in Python: the same verdict on what it accepts.
_request_from_json: Any = (
    _fast_json_validator(Request) or Request.__pydantic_validator__.validate_json
)

# The compact JSON that ``encode`` writes starts with the tag, ``{"event":"delta"``: the
# tag's first letter (byte 10) guesses the event class, whose validator checks the tag itself.
# A wrong guess costs time, never a wrong result: its error sends the input down the full path.
_EVENT_BY_INITIAL: tuple[Any, ...] = tuple(
    next(
        (
            model.__pydantic_validator__.validate_json
            for tag, model in _EVENT_TYPES.items()
            if ord(tag[0]) == byte
        ),
        None,
    )
    for byte in range(256)
)


def _validator(message_type: Any) -> Any:
    if isinstance(message_type, type) and issubclass(message_type, BaseModel):
        return message_type.__pydantic_validator__
    raise TypeError(f"decode() takes a message class or StreamEvent, not {message_type!r}")


def _validate(validator: Any, data: Any) -> Any:
    if isinstance(data, (bytes, bytearray, str)):
        return validator.validate_json(data)
    if isinstance(data, memoryview):
        return validator.validate_json(bytes(data))
    if isinstance(data, Mapping):
        return validator.validate_python(data if type(data) is dict else dict(data))
    raise TypeError(f"decode() takes bytes, str or a mapping, not {type(data).__name__}")


@functools.cache
def _union_validator() -> Any:
    from pydantic import TypeAdapter  # noqa: PLC0415 - rarely needed; kept out of the import

    return TypeAdapter(StreamEvent).validator


def _tagged_model(data: Any) -> type[BaseModel] | None:
    """The event model named by the input's ``event`` tag, found without parsing the JSON."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        match = _TAG.search(data)
    elif isinstance(data, str):
        match = _TAG.search(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, Mapping):
        tag = data.get("event")
        return _EVENT_TYPES.get(tag) if isinstance(tag, str) else None
    else:
        return None
    return None if match is None else _EVENT_BY_TAG[match[1]]


def _decode_event(data: Any) -> Any:
    model = _tagged_model(data)
    if model is not None:
        try:
            return _validate(model.__pydantic_validator__, data)
        except ValidationError:
            pass  # the union gives the verdict and the errors (e.g. a duplicated tag)
    return _validate(_union_validator(), data)


def _decode_ignoring_unknown(
    message_type: Any, data: Any, exc: ValidationError, ignored: list[str] | None
) -> Any:
    problems = exc.errors(include_url=False, include_input=False)
    others = [problem for problem in problems if problem["type"] != "extra_forbidden"]
    if others:  # unknown fields are not problems in this mode; report only the rest
        raise ProtocolError(errors_from_details(others, message_type)) from None
    # The JSON is well formed (the only problems are unknown fields): drop them and validate.
    parsed = _python_copy(data)
    model = message_type if message_type is not StreamEvent else _EVENT_TYPES[parsed["event"]]
    try:
        return _validate(model.__pydantic_validator__, parsed)
    except ValidationError as unknown_fields:
        located = unknown_fields.errors(include_url=False, include_input=False)
        for problem in located:
            _drop(parsed, problem["loc"])
        message = _validate(model.__pydantic_validator__, parsed)
        if ignored is not None:
            paths = ProtocolError.from_validation_error(unknown_fields, root=model).errors
            ignored.extend(error.param or "" for error in paths)
        return message


def _python_copy(data: Any) -> Any:
    """A mutable Python copy of ``data``: JSON text parsed, a mapping deep-copied."""
    if isinstance(data, Mapping):
        return copy.deepcopy(dict(data))
    return from_json(bytes(data) if isinstance(data, memoryview) else data)


def _drop(parsed: Any, loc: tuple[str | int, ...]) -> None:
    target = parsed
    for key in loc[:-1]:
        target = target[key]
    del target[loc[-1]]
