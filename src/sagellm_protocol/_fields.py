"""Named field types: every per-field rule of the contract, declared once.

Each alias is an ``Annotated`` type with pydantic constraints, so the rule lives in the
schema that pydantic-core executes (no Python code per value) and shows in the JSON Schema.
Scalars are strict per field: ``True`` is not an int, ``"128"`` is not an int, ``8.0`` is not
an int, numbers are not strings. An int is accepted where a float is expected, up to
±2**53 (``ExactFloat``). Float finiteness (no NaN, no ±Infinity) comes from the shared model config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, Strict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from .limits import MAX_IDENTIFIER_LENGTH, MAX_METADATA_DEPTH, MAX_METADATA_VALUES

__all__ = [
    "MAX_EXACT_INTEGER",
    "ExactFloat",
    "Flag",
    "Identifier",
    "Megabytes",
    "Metadata",
    "Millis",
    "NonNegativeInt",
    "PositiveCount",
    "Probability",
    "Seconds",
    "StrictFloat",
    "Text",
    "TokenCount",
    "TokenId",
    "TokenIds",
    "TokensPerSecond",
    "UnixSeconds",
    "check_json_metadata",
]


class InPython:
    """Annotated marker: checks for values built in Python that JSON parsing already makes.

    JSON text can only hold valid Unicode, ordered arrays and string values, so the decode
    path needs none of these checks and pays nothing for them (the schema is
    ``json_or_python``: JSON input gets the plain schema).

    * ``unicode``: refuse strings with lone surrogates (no UTF-8 text can carry them). A length
      constraint is what makes pydantic-core check this, so the Python branch gets
      ``min_length=0``.
    * ``check``: a function run before validation, e.g. to refuse a set where a list is due.
    """

    def __init__(self, *, unicode: bool = False, check: Callable[[Any], Any] | None = None) -> None:
        self.unicode = unicode
        self.check = check

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        python: core_schema.CoreSchema = schema
        if self.unicode:
            python = {**schema, "min_length": schema.get("min_length", 0)}
        if self.check is not None:
            python = core_schema.no_info_before_validator_function(self.check, python)
        return core_schema.json_or_python_schema(json_schema=schema, python_schema=python)


def _refuse_unordered(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        raise PydanticCustomError("rule_unordered", "must be a list (a set has no order)")
    return value


def _refuse_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        raise PydanticCustomError("rule_bytes", "must be a string, not bytes")
    return value


OrderedList = InPython(check=_refuse_unordered)
"""Marker for list fields: a set or frozenset is refused (its order is undefined)."""

NotBytes = InPython(check=_refuse_bytes)
"""Marker for enum fields: bytes are refused; the member or its exact string value is taken."""

MAX_EXACT_INTEGER = 2**53
"""Largest integer (in magnitude) a float field takes: every integer up to it is exactly a
float, and beyond it some are not."""

_INEXACT_RULE = "must be a number a float holds exactly (not an integer beyond ±2**53)"
_NOT_INTEGERS = (float, str, bool, type(None), list, dict)  # what JSON gives besides ints


def _refuse_inexact(value: Any) -> Any:
    integer = isinstance(value, int) and not isinstance(value, bool)
    if integer and not -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
        raise PydanticCustomError("rule_inexact_integer", _INEXACT_RULE)
    return value


class ExactFloat:
    """Annotated marker for a float field: an integer beyond ±2**53 is refused, with a message
    saying why, rather than rounded (or, depending on the pydantic version, refused as "not a
    number"), so every supported pydantic gives one verdict.

    JSON input is checked in pydantic-core (no Python call per value); Python input by a
    check run before the field's own validation. The JSON Schema is the float field's own.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        exact = core_schema.union_schema(
            [
                core_schema.is_instance_schema(_NOT_INTEGERS),
                core_schema.int_schema(strict=True, ge=-MAX_EXACT_INTEGER, le=MAX_EXACT_INTEGER),
            ],
            mode="left_to_right",
            custom_error_type="rule_inexact_integer",
            custom_error_message=_INEXACT_RULE,
        )
        return core_schema.json_or_python_schema(
            # The JSON value as Python (an int stays an int of any size), the integer check,
            # then the field's own validation.
            json_schema=core_schema.chain_schema([core_schema.any_schema(), exact, schema]),
            python_schema=core_schema.no_info_before_validator_function(_refuse_inexact, schema),
        )

    @staticmethod
    def fast_json_schema(json_schema: Any) -> core_schema.CoreSchema | None:
        """For a decode fast path: the float schema of an ``ExactFloat`` JSON branch, held
        strictly within ±2**53, or None when ``json_schema`` is not such a branch.

        It accepts a subset of what the branch accepts (a float beyond ±2**53 is refused, and
        left to the full check), at the cost of a plain float.
        """
        steps = json_schema.get("steps") if isinstance(json_schema, dict) else None
        if not (isinstance(steps, list) and len(steps) == 3):
            return None
        if steps[1].get("custom_error_type") != "rule_inexact_integer":
            return None
        # Strictly within: an integer beyond 2**53 becomes a float of at least 2**53.
        float_schema: dict[str, Any] = dict(steps[2])
        if "le" not in float_schema and "lt" not in float_schema:
            float_schema["lt"] = MAX_EXACT_INTEGER
        if "ge" not in float_schema and "gt" not in float_schema:
            float_schema["gt"] = -MAX_EXACT_INTEGER
        return float_schema

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        python_schema: Any = schema["python_schema"]
        return handler(python_schema["schema"])


Identifier = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)]
"""An identifier (request_id, trace_id, model, handle_id, device, ...): 1 to 256 characters."""

Text = Annotated[str, Strict(), InPython(unicode=True)]
"""Free text; may be empty. Bytes, numbers and lone surrogates are not accepted."""

Flag = Annotated[bool, Strict()]
"""A boolean: only ``true``/``false``; ``1``, ``"yes"`` and ``"true"`` are refused."""

StrictFloat = Annotated[float, Strict(), ExactFloat()]
"""A finite float; an int is accepted and stored as float, a bool or a string is refused."""

NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
"""An integer >= 0 (an index, a count that is not a token count)."""

TokenId = Annotated[int, Strict(), Field(ge=0)]
"""A token id: an integer >= 0."""

TokenIds = Annotated[list[TokenId], OrderedList]
"""A list of token ids, in order."""

TokenCount = Annotated[int, Strict(), Field(ge=0)]
"""A number of tokens: an integer >= 0."""

PositiveCount = Annotated[int, Strict(), Field(gt=0)]
"""A count that must be positive: an integer > 0."""

Millis = Annotated[float, Strict(), Field(ge=0), ExactFloat()]
"""A duration in milliseconds: a finite float >= 0."""

Seconds = Annotated[float, Strict(), Field(ge=0), ExactFloat()]
"""An absolute time in seconds on the producer's clock: a finite float >= 0."""

TokensPerSecond = Annotated[float, Strict(), Field(ge=0), ExactFloat()]
"""A throughput in tokens per second: a finite float >= 0."""

Probability = Annotated[float, Strict(), Field(ge=0, le=1), ExactFloat()]
"""A ratio in [0, 1]."""

Megabytes = Annotated[int, Strict(), Field(ge=0)]
"""An amount of memory in MB: an integer >= 0."""

UnixSeconds = Annotated[int, Strict()]
"""A Unix time in whole seconds (OpenAI ``created``)."""


_SCALAR_TYPES = (int, type(None))  # subclasses too: bool, IntEnum


def _not_json(trail: tuple[str | int, ...], what: str) -> PydanticCustomError:
    return PydanticCustomError(
        "metadata_not_json",
        "must hold JSON values only (object with string keys, array, string, number, "
        "boolean, null); found {what}",
        {"path": _format_trail(trail), "what": what},
    )


def _format_trail(trail: tuple[str | int, ...]) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in trail)


def _is_unicode(text: str) -> bool:
    """False for a string with a lone surrogate, which no UTF-8 JSON can carry."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_keys(container: dict[Any, Any], trail: tuple[str | int, ...], python: bool) -> None:
    for key in container:
        if not isinstance(key, str):
            raise _not_json(trail, "a key that is not a string")
        if python and not _is_unicode(key):
            raise _not_json(trail, "a key that is not valid Unicode")


def _check_container(
    container: Any, depth: int, trail: tuple[str | int, ...], python: bool, left: list[int]
) -> None:
    """Walk one JSON container; raise at the first value that breaks a metadata rule.

    ``python`` adds the checks JSON parsing already guarantees (string keys, valid Unicode).
    ``left[0]`` is how many more values the metadata may hold; each container's values are
    counted before they are walked.
    """
    left[0] -= len(container)
    if left[0] < 0:
        raise PydanticCustomError(
            "metadata_too_large",
            "must hold at most {max_values} values, counted at every level (metadata is "
            "context, not bulk data)",
            {"max_values": MAX_METADATA_VALUES},
        )
    is_dict = isinstance(container, dict)
    if is_dict and python:
        _check_keys(container, trail, python)
    for key, value in container.items() if is_dict else enumerate(container):
        kind = type(value)
        if kind is str:
            if python and not _is_unicode(value):
                raise _not_json((*trail, key), "text that is not valid Unicode")
            continue
        if kind is int or kind is bool or value is None:
            continue
        if kind is float or isinstance(value, float):
            if value - value != 0.0:  # true only for NaN and ±Infinity
                raise _not_json((*trail, key), "a non-finite float")
            continue
        if isinstance(value, (dict, list)):
            if depth >= MAX_METADATA_DEPTH:
                raise PydanticCustomError(
                    "metadata_too_deep",
                    "must not be nested more than {max_depth} levels deep",
                    {"path": _format_trail((*trail, key)), "max_depth": MAX_METADATA_DEPTH},
                )
            _check_container(value, depth + 1, (*trail, key), python, left)
            continue
        if isinstance(value, str):
            if python and not _is_unicode(value):
                raise _not_json((*trail, key), "text that is not valid Unicode")
            continue
        if isinstance(value, _SCALAR_TYPES):
            continue
        raise _not_json((*trail, key), "a value that is not one of these")


def check_json_metadata(value: dict[str, Any]) -> dict[str, Any]:
    try:
        _check_container(value, 1, (), python=False, left=[MAX_METADATA_VALUES])
    except PydanticCustomError as exc:
        # The error holds its input, this dict (see ``_MetadataRules``): empty it, and let the
        # walk's frames go with the traceback, so that the refused values are freed at once.
        value.clear()
        raise exc.with_traceback(None) from None
    return value


def _check_python_metadata(value: dict[str, Any]) -> dict[str, Any]:
    _check_container(value, 1, (), python=True, left=[MAX_METADATA_VALUES])
    return value


class _MetadataRules:
    """The metadata rules: depth, finite numbers, JSON values only (more of them in Python)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        return core_schema.json_or_python_schema(
            # A chain, not an after-validator: the input of a failing step is what the error
            # holds, and for this step it is the validated dict, which the check empties. An
            # after-validator's error holds the field's JSON input, which pydantic-core would
            # turn into Python objects a second time (2x the memory of huge metadata).
            json_schema=core_schema.chain_schema(
                [schema, core_schema.no_info_plain_validator_function(check_json_metadata)]
            ),
            python_schema=core_schema.no_info_after_validator_function(
                _check_python_metadata, schema
            ),
        )


Metadata = Annotated[dict[Annotated[str, Strict()], Any], _MetadataRules()]
"""Pass-through data: a JSON object whose values are JSON values (finite numbers only),
nested at most ``MAX_METADATA_DEPTH`` levels (the object itself is level 1), holding at most
``MAX_METADATA_VALUES`` values."""
