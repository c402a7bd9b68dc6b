"""Named field types: every per-field rule of the contract, declared once.

Each alias is an ``Annotated`` type with pydantic constraints, so the rule lives in the
schema that pydantic-core executes (no Python code per value) and shows in the JSON Schema.
Scalars are strict per field: ``True`` is not an int, ``"128"`` is not an int, ``8.0`` is not
an int, numbers are not strings. An int is accepted where a float is expected. Float
finiteness (no NaN, no ±Infinity) comes from the shared model config.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, Strict
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "MAX_METADATA_DEPTH",
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
    "TokensPerSecond",
    "UnixSeconds",
]

MAX_IDENTIFIER_LENGTH = 256
"""Longest identifier accepted, in characters (Unicode code points)."""

Identifier = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)]
"""An identifier (request_id, trace_id, model, handle_id, device, ...): 1 to 256 characters."""

Text = Annotated[str, Strict()]
"""Free text; may be empty. Bytes and numbers are not accepted."""

Flag = Annotated[bool, Strict()]
"""A boolean: only ``true``/``false``; ``1``, ``"yes"`` and ``"true"`` are refused."""

StrictFloat = Annotated[float, Strict()]
"""A finite float; an int is accepted and stored as float, a bool or a string is refused."""

NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
"""An integer >= 0 (an index, a count that is not a token count)."""

TokenId = Annotated[int, Strict(), Field(ge=0)]
"""A token id: an integer >= 0."""

TokenCount = Annotated[int, Strict(), Field(ge=0)]
"""A number of tokens: an integer >= 0."""

PositiveCount = Annotated[int, Strict(), Field(gt=0)]
"""A count that must be positive: an integer > 0."""

Millis = Annotated[float, Strict(), Field(ge=0)]
"""A duration in milliseconds: a finite float >= 0."""

Seconds = Annotated[float, Strict(), Field(ge=0)]
"""An absolute time in seconds on the producer's clock: a finite float >= 0."""

TokensPerSecond = Annotated[float, Strict(), Field(ge=0)]
"""A throughput in tokens per second: a finite float >= 0."""

Probability = Annotated[float, Strict(), Field(ge=0, le=1)]
"""A ratio in [0, 1]."""

Megabytes = Annotated[int, Strict(), Field(ge=0)]
"""An amount of memory in MB: an integer >= 0."""

UnixSeconds = Annotated[int, Strict()]
"""A Unix time in whole seconds (OpenAI ``created``)."""


MAX_METADATA_DEPTH = 32
"""Deepest nesting accepted in ``metadata``; the metadata object itself is depth 1."""

_SCALAR_TYPES = (str, int, type(None))  # bool is a subclass of int


def _not_json(trail: tuple[str | int, ...], what: str) -> PydanticCustomError:
    return PydanticCustomError(
        "metadata_not_json",
        "must hold JSON values only (object with string keys, array, string, number, "
        "boolean, null); found {what}",
        {"path": _format_trail(trail), "what": what},
    )


def _format_trail(trail: tuple[str | int, ...]) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in trail)


def _check_container(container: Any, depth: int, trail: tuple[str | int, ...]) -> None:
    """Walk one JSON container; raise at the first value that breaks a metadata rule."""
    is_dict = isinstance(container, dict)
    for key, value in container.items() if is_dict else enumerate(container):
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
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
            if isinstance(value, dict):
                for inner_key in value:
                    if not isinstance(inner_key, str):
                        raise _not_json((*trail, key), "a key that is not a string")
            _check_container(value, depth + 1, (*trail, key))
            continue
        if isinstance(value, _SCALAR_TYPES):
            continue
        raise _not_json((*trail, key), f"a value of type {kind.__name__}")


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    _check_container(value, 1, ())
    return value


Metadata = Annotated[dict[Annotated[str, Strict()], Any], AfterValidator(_check_metadata)]
"""Pass-through data: a JSON object whose values are JSON values (finite numbers only),
nested at most ``MAX_METADATA_DEPTH`` levels (the object itself is level 1)."""
