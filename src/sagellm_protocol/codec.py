"""Wire codec: ``decode`` JSON (bytes, str or a mapping) into a validated message, ``encode``
a message into compact UTF-8 JSON.

Both sit on the serving hot path. A ``Decoder`` is built once per message type (a model class
or the ``StreamEvent`` union) and holds that type's compiled pydantic-core validator, called
straight on the raw bytes (no ``json.loads`` first); ``decode(T, data)`` keeps one per type,
and a caller may hold its own, msgspec style::

    events = Decoder(StreamEvent)
    for body in bodies:
        handle(events.decode(body))

Every failure is a ``ProtocolError`` whose ``errors`` list each problem with its field path;
no pydantic, JSON or Unicode exception escapes.

Unknown fields
--------------
``unknown="forbid"`` (the default) rejects them, like model construction does.
``unknown="ignore"`` is for a receiver whose peer speaks a newer 0.1.x (it announces its
version in the ``X-SageLLM-Protocol-Version`` header, ``PROTOCOL_VERSION_HEADER``): unknown
fields are dropped, and when the caller passes a list as ``ignored``, the path of every
dropped field is appended to it, so nothing vanishes unseen (at most
``limits.MAX_REPORTED_ERRORS`` paths; beyond them, one last entry ``"and N more"``)::

    dropped: list[str] = []
    request = decode(Request, body, unknown="ignore", ignored=dropped)
    if dropped:
        log.info("fields from a newer peer ignored: %s", dropped)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeAlias, TypeVar, overload

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, SchemaValidator, core_schema

from ._fields import ExactFloat, check_json_metadata
from ._pydantic import (
    runs_check,
    serializer_of,
    validator_of,
    validator_variant,
)
from .errors import Error, ProtocolError, field_error
from .limits import MAX_DETAILED_SIZE, MAX_MESSAGE_SIZE, MAX_REPORTED_ERRORS
from .registry import TaggedUnion, tagged_union
from .types import StreamEvent

__all__ = [
    "PROTOCOL_VERSION_HEADER",
    "Decoder",
    "DuplicateKeys",
    "UnknownFields",
    "decode",
    "encode",
]

PROTOCOL_VERSION_HEADER = "X-SageLLM-Protocol-Version"
"""HTTP header in which a peer announces the contract version it speaks (e.g. ``0.1``)."""

UnknownFields = Literal["forbid", "ignore"]
"""What ``decode`` does with a field the message type does not have."""

DuplicateKeys = Literal["last", "reject"]
"""What ``decode`` does with a JSON object that has a key twice: keep the last value, as
pydantic-core does everywhere in the stack, or refuse the message."""

M = TypeVar("M", bound=BaseModel)
JsonInput: TypeAlias = bytes | bytearray | memoryview | str | Mapping[str, Any]


class Decoder(Generic[M]):
    """Decodes JSON into one message type: a model class, or a registered tagged union such as
    ``StreamEvent``. Build it once and reuse it; it is safe to share between threads.

    ``unknown``, ``max_size`` and ``duplicate_keys`` mean what they mean for ``decode`` and
    are fixed when the decoder is built.
    """

    __slots__ = (
        "_bounded",
        "_fast",
        "_fast_is_full",
        "_fast_limit",
        "_full",
        "_lenient",
        "_union",
        "duplicate_keys",
        "max_size",
        "type",
        "unknown",
    )

    @overload
    def __init__(
        self: Decoder[M],
        message_type: type[M],
        *,
        unknown: UnknownFields = "forbid",
        max_size: int = MAX_MESSAGE_SIZE,
        duplicate_keys: DuplicateKeys = "last",
    ) -> None: ...

    @overload
    def __init__(
        self: Decoder[StreamEvent],
        message_type: object,
        *,
        unknown: UnknownFields = "forbid",
        max_size: int = MAX_MESSAGE_SIZE,
        duplicate_keys: DuplicateKeys = "last",
    ) -> None: ...

    def __init__(
        self,
        message_type: Any,
        *,
        unknown: UnknownFields = "forbid",
        max_size: int = MAX_MESSAGE_SIZE,
        duplicate_keys: DuplicateKeys = "last",
    ) -> None:
        _check_options(unknown, duplicate_keys)
        if type(max_size) is not int or max_size < 0:
            raise ValueError(f"max_size must be an integer >= 0, not {max_size!r}")
        self.type: Any = message_type
        """The message type decoded: a model class or a union alias."""
        self.unknown: UnknownFields = unknown
        """What the decoder does with unknown fields: ``forbid`` or ``ignore``."""
        self.max_size: int = max_size
        """Largest JSON text accepted, in bytes."""
        self.duplicate_keys: DuplicateKeys = duplicate_keys
        """What the decoder does with a key that comes twice in one object."""
        self._union: TaggedUnion | None = tagged_union(message_type)
        self._full, self._fast, self._bounded = _validators(message_type, self._union)
        # Validators that drop unknown fields (for unknown="ignore"), built on first use:
        # [for texts up to MAX_DETAILED_SIZE, for longer texts].
        self._lenient: list[SchemaValidator | None] = [None, None]
        self._fast_is_full = self._fast is self._full.validate_json
        # Inputs the fast path may take: bytes within the size limit and MAX_DETAILED_SIZE,
        # and only when nothing needs the text itself (the duplicate-key check reads it).
        limit = min(max_size, MAX_DETAILED_SIZE)
        self._fast_limit = limit if duplicate_keys == "last" else -1

    def decode(self, data: JsonInput, ignored: list[str] | None = None) -> M:
        """Decode ``data`` (JSON bytes or str, or a parsed mapping) into a validated message.

        Raises ``ProtocolError`` for malformed JSON, a wrong type or a broken rule, listing
        the problems with their ``param`` paths (at most ``limits.MAX_REPORTED_ERRORS``; the
        rest are counted in ``more``). With ``unknown="ignore"``, the path of every dropped
        field is appended to ``ignored`` when it is a list (as capped).
        """
        if type(data) is bytes and len(data) <= self._fast_limit:
            try:
                return self._fast(data)  # type: ignore[no-any-return]
            except ValidationError as exc:
                if self._fast_is_full and self.unknown == "forbid":
                    raise ProtocolError.from_validation_error(exc, root=self.type) from None
        message: M = self._decode(data, self.unknown, ignored, self.max_size, self.duplicate_keys)
        return message

    def _decode(
        self,
        data: Any,
        unknown: str,
        ignored: list[str] | None,
        max_size: int,
        duplicate_keys: str,
    ) -> Any:
        """The full path: every option checked, every input kind, the errors worded."""
        _check_options(unknown, duplicate_keys)
        text = _json_text(data)
        if text is not None:
            _check_size(text, max_size)
            if duplicate_keys == "reject":
                _refuse_duplicate_keys(text)
        try:
            if text is not None:
                if len(text) <= MAX_DETAILED_SIZE:
                    return self._full.validate_json(text)
                return self._bounded.validate_json(text)
            return self._full.validate_python(data if type(data) is dict else dict(data))
        except ValidationError as exc:
            if unknown == "ignore":
                return self._decode_ignoring_unknown(data if text is None else text, exc, ignored)
            raise ProtocolError.from_validation_error(exc, root=self.type) from None
        except UnicodeError:
            raise ProtocolError.invalid("the message is not valid UTF-8 text") from None

    def _decode_ignoring_unknown(
        self, data: Any, exc: ValidationError, ignored: list[str] | None
    ) -> Any:
        """Validate ``data`` again with unknown fields dropped; ``exc`` is the refusal of the
        first validation, whose unknown fields are the ones ``ignored`` is told of."""
        bounded = isinstance(data, (bytes, str)) and len(data) > MAX_DETAILED_SIZE
        lenient = self._lenient[bounded]
        if lenient is None:
            schema = (
                self.type.__pydantic_core_schema__
                if self._union is None
                else _union_schema(self._union)
            )
            built = validator_variant(schema, fail_fast=bounded, extras_ignored=True)
            if built is None:  # pragma: no cover - pydantic-core builds the variants it checks
                raise TypeError(f"no validator that ignores unknown fields for {self!r}")
            lenient = self._lenient[bounded] = built
        try:
            if isinstance(data, (bytes, str)):
                message = lenient.validate_json(data)
            else:
                message = lenient.validate_python(data if type(data) is dict else dict(data))
        except ValidationError as others:
            # Unknown fields are not problems in this mode: these are the other problems.
            raise ProtocolError.from_validation_error(others, root=self.type) from None
        if ignored is not None:
            dropped = ProtocolError.from_validation_error(exc, root=self.type)
            ignored.extend(error.param or "" for error in dropped.errors)
            if dropped.more:
                ignored.append(f"and {dropped.more} more")
        return message

    def __repr__(self) -> str:
        name = self._union.name if self._union is not None else self.type.__name__
        return (
            f"Decoder({name}, unknown={self.unknown!r}, max_size={self.max_size}, "
            f"duplicate_keys={self.duplicate_keys!r})"
        )


# The decoders ``decode`` keeps, one per message type, by the type object's id (a union alias
# hashes slowly); each decoder holds its type, so an id is never reused while it is here.
_DECODERS: dict[int, Decoder[Any]] = {}


def decoder_for(message_type: Any) -> Decoder[Any]:
    """The decoder ``decode`` uses for ``message_type`` (with the default options), built on
    first use and kept."""
    decoder = _DECODERS.get(id(message_type))
    if decoder is None:
        decoder = _DECODERS[id(message_type)] = Decoder(message_type)
    return decoder


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


def decode(message_type: Any, data: JsonInput, **options: Any) -> Any:
    """Decode ``data`` into a validated ``message_type`` (a message class or ``StreamEvent``).

    ``data`` is JSON text (bytes or str) or an already parsed mapping. Raises
    ``ProtocolError`` for malformed JSON, a wrong type or a broken rule, listing every
    problem with its ``param`` path. Options (keywords): ``unknown`` and ``ignored`` (see
    the module docstring); ``max_size``: JSON text longer than this many bytes (default
    ``limits.MAX_MESSAGE_SIZE``, 16 MiB) is refused before it is parsed;
    ``duplicate_keys="reject"`` refuses an object with a key twice (each such key reported
    with its path, up to the cap), while the default keeps the last value, as pydantic-core
    does, so every component of the stack reads a message the same way (the check costs a
    second parse: use it at an edge that faces other JSON parsers).

    At most ``limits.MAX_REPORTED_ERRORS`` problems are listed (``ProtocolError.more`` counts
    the rest), and in a text longer than ``limits.MAX_DETAILED_SIZE`` a list stops at its
    first wrong item, so the work stays bounded whatever the input. The decoder for each type
    is built on first use and kept (``Decoder``).
    """
    # The options arrive as ``**options`` rather than as keyword parameters with defaults:
    # filling four defaults costs more than the common call, bytes and no option, needs.
    decoder = _DECODERS.get(id(message_type)) or decoder_for(message_type)
    if not options:
        if type(data) is bytes and len(data) <= MAX_DETAILED_SIZE:
            try:
                return decoder._fast(data)
            except ValidationError as exc:
                if decoder._fast_is_full:
                    raise ProtocolError.from_validation_error(exc, root=decoder.type) from None
        return decoder._decode(data, "forbid", None, MAX_MESSAGE_SIZE, "last")
    unexpected = options.keys() - _OPTIONS
    if unexpected:
        raise TypeError(f"decode() got an unexpected keyword argument {min(unexpected)!r}")
    unknown = options.get("unknown", "forbid")
    max_size = options.get("max_size", MAX_MESSAGE_SIZE)
    duplicate_keys = options.get("duplicate_keys", "last")
    if (
        type(data) is bytes
        and len(data) <= max_size
        and len(data) <= MAX_DETAILED_SIZE
        and duplicate_keys == "last"
        and unknown in {"forbid", "ignore"}
    ):
        try:
            return decoder._fast(data)
        except ValidationError as exc:
            if decoder._fast_is_full and unknown == "forbid":
                raise ProtocolError.from_validation_error(exc, root=decoder.type) from None
    return decoder._decode(data, unknown, options.get("ignored"), max_size, duplicate_keys)


_OPTIONS = frozenset({"unknown", "ignored", "max_size", "duplicate_keys"})


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON for ``message``; ``decode(type(message), encode(message)) == message``.

    Optional fields that are None (and default to None) are left out, so a peer on an older
    0.1.x never sees a new optional field that was not set; event and object tags and required
    fields are always written. Raises ``ProtocolError`` if a string holds a lone surrogate,
    which no UTF-8 JSON can carry.
    """
    try:
        return serializer_of(type(message)).to_json(message, exclude_none=True)
    except PydanticSerializationError:
        raise ProtocolError.invalid(
            "the message holds text that is not valid Unicode (a lone surrogate) "
            "and cannot be written as UTF-8 JSON"
        ) from None


# --- building a decoder ----------------------------------------------------------------------


def _union_schema(union: TaggedUnion) -> Any:
    """The core schema of a tagged union (pydantic builds it once and caches the adapter)."""
    from pydantic import TypeAdapter  # noqa: PLC0415 - only when a union is first decoded

    return TypeAdapter(union.alias).core_schema


def _validators(
    message_type: Any, union: TaggedUnion | None
) -> tuple[SchemaValidator, Any, SchemaValidator]:
    """(the validator that gives verdicts and errors, the fast path's ``validate_json``, and
    the first with lists that stop at their first wrong item, for texts longer than
    ``MAX_DETAILED_SIZE``)."""
    if union is not None:
        from pydantic import TypeAdapter  # noqa: PLC0415 - only when a union is first decoded

        # pydantic-core finds the tag wherever the producer put it (first, last, escaped),
        # so the cost does not depend on how the JSON was written.
        adapter = TypeAdapter(union.alias)
        full = adapter.validator
        if not isinstance(full, SchemaValidator):  # pragma: no cover - a TypeAdapter is built
            raise TypeError(f"{union.name} has no compiled validator")
        schema = _union_schema(union)
        fast = validator_variant(schema, json_branch=_fast_json_branch)
        bounded = validator_variant(schema, fail_fast=True) or full
        return full, (full if fast is None else fast).validate_json, bounded
    if not (isinstance(message_type, type) and issubclass(message_type, BaseModel)):
        raise TypeError(f"decode() takes a message class or StreamEvent, not {message_type!r}")
    full = validator_of(message_type)
    fast = validator_variant(message_type.__pydantic_core_schema__, json_branch=_fast_json_branch)
    # The fast path takes texts up to MAX_DETAILED_SIZE bytes, which hold fewer metadata
    # values than MAX_METADATA_VALUES: pydantic-core alone may check their metadata. A longer
    # text gets the model's own check, which counts them.
    bounded = validator_variant(message_type.__pydantic_core_schema__, fail_fast=True) or full
    return full, (full if fast is None else fast).validate_json, bounded


def _fast_json_branch(json_schema: Any) -> Any:
    """The fast path's JSON check in place of a field's own, where pydantic-core alone can do
    it: metadata (``_core_checked_json_metadata``) and exact floats
    (``ExactFloat.fast_json_schema``); None elsewhere. Each accepts a subset of what the field
    accepts; what it refuses goes to the full validator."""
    if runs_check(json_schema, check_json_metadata):
        return _core_checked_json_metadata()
    return ExactFloat.fast_json_schema(json_schema)


CORE_CHECKED_LEVELS = 4
"""Levels of containers inside metadata values that the fast path checks in pydantic-core;
deeper metadata fails the fast path, and the model's own validator decides."""


def _core_checked_json_metadata() -> core_schema.CoreSchema:
    """JSON metadata checked in pydantic-core alone (no Python walk): each value a string, an
    integer, a finite float, a boolean or null, or a container of such values, at most
    ``CORE_CHECKED_LEVELS`` deep.

    It accepts a subset of what ``check_json_metadata`` accepts (never deeper than
    ``MAX_METADATA_DEPTH``, never a non-finite float) and yields equal values of equal types:
    strict scalars tried in order keep 1, 1.0 and true apart, as parsing does. What it
    refuses goes to the model's own validator for the verdict and the errors.
    """
    scalars: list[core_schema.CoreSchema | tuple[core_schema.CoreSchema, str]] = [
        core_schema.str_schema(strict=True),
        core_schema.int_schema(strict=True),
        core_schema.float_schema(strict=True, allow_inf_nan=False),
        core_schema.bool_schema(strict=True),
        core_schema.none_schema(),
    ]
    value = core_schema.union_schema(scalars, mode="left_to_right")
    for _ in range(CORE_CHECKED_LEVELS):
        value = core_schema.union_schema(
            [
                *scalars,
                core_schema.dict_schema(core_schema.str_schema(strict=True), value, strict=True),
                core_schema.list_schema(value, strict=True),
            ],
            mode="left_to_right",
        )
    return core_schema.dict_schema(core_schema.str_schema(strict=True), value)


# --- the full path -----------------------------------------------------------------------------


def _check_options(unknown: str, duplicate_keys: str) -> None:
    if unknown not in ("forbid", "ignore"):
        raise ValueError(f"unknown must be 'forbid' or 'ignore', not {unknown!r}")
    if duplicate_keys not in ("last", "reject"):
        raise ValueError(f"duplicate_keys must be 'last' or 'reject', not {duplicate_keys!r}")


def _json_text(data: Any) -> bytes | str | None:
    """``data`` as JSON text for pydantic-core (bytes or str), or None for a mapping.

    A subclass of bytes or str becomes the plain value it holds, and any bytes-like input the
    bytes of its buffer, so the size limit counts bytes whatever ``__len__`` or the item size
    says.
    """
    kind = type(data)
    if kind is bytes or kind is str:
        return data  # type: ignore[no-any-return]
    if isinstance(data, str):
        return str.__str__(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).tobytes()
    if isinstance(data, Mapping):
        return None
    raise TypeError(f"decode() takes bytes, str or a mapping, not {type(data).__name__}")


def _too_large(max_size: int) -> ProtocolError:
    return ProtocolError.invalid(f"the message is larger than the size limit of {max_size} bytes")


def _check_size(text: bytes | str, max_size: int) -> None:
    if isinstance(text, bytes):
        if len(text) > max_size:
            raise _too_large(max_size)
    # A character is 1 to 4 bytes in UTF-8; count the bytes only when it can matter.
    elif len(text) > max_size or (
        len(text) * 4 > max_size and len(text.encode("utf-8", "surrogatepass")) > max_size
    ):
        raise _too_large(max_size)


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers which of its keys came more than once."""

    duplicates: list[str]


class _Collector:
    """The ``object_pairs_hook`` of the duplicate-key check: builds ``_Object``s and counts
    the duplicated keys of all of them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, pairs: list[tuple[str, Any]]) -> _Object:
        parsed = _Object(pairs)
        parsed.duplicates = []
        if len(parsed) < len(pairs):  # some key came twice: list each once, in input order
            seen: set[str] = set()
            reported: set[str] = set()
            for key, _ in pairs:
                if key in seen and key not in reported:
                    reported.add(key)
                    parsed.duplicates.append(key)
                seen.add(key)
            self.count += len(parsed.duplicates)
        return parsed


_DUPLICATE_RULE = "appears twice in one object (duplicate keys are refused)"


def _refuse_duplicate_keys(text: bytes | str) -> None:
    """ProtocolError naming the keys that come twice in one object (by their paths, the first
    ``MAX_REPORTED_ERRORS`` of them; the rest counted)."""
    import json  # noqa: PLC0415 - an opt-in check; ``import sagellm_protocol`` stays lighter

    collector = _Collector()
    try:
        parsed = json.loads(text, object_pairs_hook=collector)
    except (ValueError, RecursionError):
        return  # not JSON this parser can read: validation reports what is wrong with it
    if not collector.count:
        return
    problems: list[Error] = []
    pending: list[tuple[Any, str]] = [(parsed, "")]
    while pending and len(problems) < MAX_REPORTED_ERRORS:
        value, path = pending.pop()
        if isinstance(value, _Object):
            problems += [
                field_error(f"{path}.{key}" if path else key, _DUPLICATE_RULE)
                for key in value.duplicates[: MAX_REPORTED_ERRORS - len(problems)]
            ]
            children = [(item, f"{path}.{key}" if path else key) for key, item in value.items()]
        elif isinstance(value, list):
            children = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
        else:
            continue
        pending.extend(reversed(children))
    raise ProtocolError(problems, more=collector.count - len(problems))
