"""The contract's naming rules: field names are snake_case, and a field's name states its unit.

Used by the tooling, never at run time: ``scripts/check_field_names.py`` checks the names,
``scripts/gen_docs.py`` writes each field's unit into the protocol page, and the tests check
that every field description states the unit its name implies. ``import sagellm_protocol``
does not load this module.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from typing import Annotated, Any, NamedTuple, Union

from pydantic import BaseModel

__all__ = [
    "BYTES",
    "FIGURE",
    "MB",
    "MS",
    "RATIO",
    "SECONDS",
    "SNAKE_CASE",
    "TOKENS",
    "TOKENS_PER_S",
    "UNIX_SECONDS",
    "Unit",
    "bad_field_names",
    "unit_of",
]

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
"""A field name: lower-case words of letters and digits joined by single underscores."""


def bad_field_names(models: Iterable[type[BaseModel]]) -> list[str]:
    """``Type.field`` for every field name that is not snake_case."""
    return [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if not SNAKE_CASE.fullmatch(name)
    ]


class Unit(NamedTuple):
    """A unit, and the words a field description must contain to state it."""

    label: str
    """How the protocol page writes the unit (its unit column)."""
    phrase: str
    """The words the field's description must contain."""


MS = Unit("ms", "ms")
"""Milliseconds: durations (``*_ms``, ``itl_list``)."""
TOKENS_PER_S = Unit("tokens/s", "tokens/s")
"""Tokens per second: throughput (``*_tps``)."""
MB = Unit("MB", "MB")
"""Megabytes: memory (``*_mb``)."""
BYTES = Unit("bytes", "bytes")
"""Bytes: memory (``*_bytes``)."""
TOKENS = Unit("tokens", "tokens")
"""Tokens: token counts (``*_tokens``, ``*_tokens_total``, ``block_size``)."""
RATIO = Unit("ratio in [0, 1]", "[0, 1]")
"""A fraction: ``*_rate``."""
SECONDS = Unit("s", "seconds")
"""Seconds on the producer's clock: the ``Timestamps`` fields."""
UNIX_SECONDS = Unit("s (Unix time)", "Unix seconds")
"""Seconds since the Unix epoch: OpenAI ``created``."""
FIGURE = Unit("unit of the figure", "unit of the summarized figure")
"""The statistics of a ``Distribution``: the unit of the figure it summarizes."""

_TOKEN_COUNTS = ("block_size",)  # token counts whose name does not end in _tokens
_SUFFIXES = {"_tps": TOKENS_PER_S, "_mb": MB, "_bytes": BYTES, "_rate": RATIO}


def _is_list(annotation: Any) -> bool:
    """True for ``list[...]``, optional or annotated."""
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return len(members) == 1 and _is_list(members[0])
    if origin is Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin is list


def unit_of(model: type[BaseModel], name: str) -> Unit | None:
    """The unit of a field by the contract's naming conventions, or None if it has none.

    ``*_ms`` and ``itl_list`` milliseconds; ``*_tps`` tokens per second; ``*_mb`` MB;
    ``*_bytes`` bytes; ``*_rate`` a ratio in [0, 1]; token counts (``*_tokens`` and
    ``*_tokens_total`` that are not lists of token ids, ``block_size``) tokens; the
    ``Timestamps`` fields seconds; ``created`` Unix seconds; the statistics of a
    ``Distribution`` the unit of the summarized figure.
    """
    if model.__name__ == "Distribution":
        return None if name == "count" else FIGURE
    if model.__name__ == "Timestamps":
        return SECONDS
    if name.endswith("_ms") or name == "itl_list":
        return MS
    for suffix, unit in _SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    if name == "created":
        return UNIX_SECONDS
    is_count = name.endswith(("_tokens", "_tokens_total")) or name in _TOKEN_COUNTS
    if is_count and not _is_list(model.model_fields[name].annotation):
        return TOKENS
    return None
