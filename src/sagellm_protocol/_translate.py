"""Pydantic's validation errors in the contract's words: one ``Error`` per problem, with the
offending field's path in ``param`` (``messages[0].content``) and a plain English rule that
never repeats the input value.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ._base import CONTRACT_RULE_PREFIXES
from .errors import Error, field_error
from .limits import MAX_REPORTED_ERRORS
from .registry import validated_type

__all__ = ["capped_errors", "errors_from_details", "errors_from_validation_error"]

_LOOKAHEAD = 4 * MAX_REPORTED_ERRORS
"""Pydantic problems converted at most: enough for the listed Errors, since a union reports
up to one problem per alternative for one field, and they are folded into one Error."""


def errors_from_validation_error(exc: ValidationError, root: Any = None) -> tuple[list[Error], int]:
    """The first problems of ``exc`` as ``Error``s, and how many more there were (see
    ``capped_errors``); ``root`` is the validated type (a model class or a registered union),
    by default the one ``exc.title`` names."""
    if root is None:
        root = validated_type(exc.title)
    count = exc.error_count()
    if count <= _LOOKAHEAD:
        return capped_errors(exc.errors(include_url=False, include_input=False), root)
    # Many problems: ``errors()`` would build a dict per problem; pydantic-core writes them
    # all as JSON in a fraction of that time, and only the first few are read back.
    details = _first_details(exc.json(include_url=False, include_input=False), _LOOKAHEAD)
    listed, more = capped_errors(details, root)
    return listed, more + count - len(details)


def _first_details(text: str, count: int) -> list[ErrorDetails]:
    """The first ``count`` problems of ``text``, a ``ValidationError.json()`` array."""
    decoder = json.JSONDecoder()
    details: list[ErrorDetails] = []
    position = text.index("[") + 1
    while len(details) < count:
        while text[position] in " \t\r\n,":
            position += 1
        if text[position] == "]":
            break
        value, position = decoder.raw_decode(text, position)
        value["loc"] = tuple(value["loc"])
        details.append(value)
    return details


def capped_errors(problems: Sequence[ErrorDetails], root: Any) -> tuple[list[Error], int]:
    """The Errors of the first problems (at most ``MAX_REPORTED_ERRORS``) and the count of the
    rest: only the first few problems are worded, so the work does not grow with the count.
    The problems beyond those worded are counted as pydantic reports them."""
    window = problems[:_LOOKAHEAD]
    converted = errors_from_details(window, root)
    listed = converted[:MAX_REPORTED_ERRORS]
    return listed, len(converted) - len(listed) + len(problems) - len(window)


def errors_from_details(problems: Iterable[ErrorDetails], root: Any) -> list[Error]:
    """One ``Error`` per pydantic problem, with union alternatives folded together.

    A union reports a problem per alternative. When one alternative got further into the
    value (into a list's items, say) its problems are the real ones, and the others' type
    mismatches at the union's own level are dropped; the remaining mismatches of one field
    are merged into one error ("must be a string, or must be a list").
    """
    located = []
    for details in problems:
        param, union_at = _param_from_loc(root, details)
        located.append((param, union_at, _describe(details)))
    deeper = {
        union_at for param, union_at, _ in located if union_at is not None and param != union_at
    }
    converted: list[Error] = []
    merged: dict[str | None, int] = {}
    for param, union_at, rule in located:
        shallow = union_at is not None and param == union_at
        if shallow and union_at in deeper:
            continue
        if shallow and param in merged:
            index = merged[param]
            converted[index] = converted[index].model_copy(
                update={"message": f"{converted[index].message}, or {rule}"}
            )
            continue
        if shallow:
            merged[param] = len(converted)
        converted.append(field_error(param, rule))
    return converted


# --- turning pydantic error details into paths and plain messages --------------------------

_RULES: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this message (unknown fields are rejected)",
    "no_such_attribute": "is not a field of this message",
    "int_type": "must be an integer (not a boolean, string or float)",
    "int_from_float": "must be an integer (not a float)",
    "int_parsing": "must be an integer (not a string)",
    "int_parsing_size": "must be an integer within the supported range",
    "float_type": "must be a number (not a boolean or string)",
    "float_parsing": "must be a number (not a string)",
    "finite_number": "must be a finite number (NaN and Infinity are not allowed)",
    "string_type": "must be a string",
    "string_unicode": "must be valid Unicode text",
    "string_sub_type": "must be a plain string",
    "bool_type": "must be a boolean (true or false)",
    "bool_parsing": "must be a boolean (true or false)",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be greater than or equal to {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be less than or equal to {le}",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} characters",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "json_invalid": "is not valid JSON ({error})",
    "json_type": "must be JSON text",
    "union_tag_invalid": "must be one of {expected_tags}",
    "union_tag_not_found": "is required (it tells which kind of message this is)",
    "recursion_loop": "is nested too deeply",
    "is_instance_of": "has the wrong type",
}
"""Plain-English rule per pydantic error type; placeholders come from the error context,
which holds limits and allowed values, never the input."""

_SAFE_CONTEXT_KEYS = frozenset(
    {"expected", "gt", "ge", "lt", "le", "min_length", "max_length", "error", "discriminator"}
)


def _describe(details: ErrorDetails) -> str:
    kind = details["type"]
    ctx = details.get("ctx") or {}
    if kind in _RULES:
        template = _RULES[kind]
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            return "must not be empty"
        if kind == "too_short" and ctx.get("min_length") == 1:
            return "must not be empty"
        values = {key: str(value) for key, value in ctx.items() if key in _SAFE_CONTEXT_KEYS}
        if kind == "union_tag_invalid":
            values["expected_tags"] = str(ctx.get("expected_tags", ""))
        try:
            return template.format(**values)
        except (KeyError, IndexError):
            return template.split("{", 1)[0].rstrip() or f"is invalid ({kind})"
    if kind.startswith(CONTRACT_RULE_PREFIXES):
        # The contract's own rules: their messages are written here and hold no input.
        return details["msg"]
    return f"is invalid ({kind})"


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``Optional`` wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _is_model(annotation: Any) -> bool:
    # On Python 3.10 ``list[int]`` passes ``isinstance(..., type)``; rule generic aliases out.
    return (
        isinstance(annotation, type)
        and typing.get_origin(annotation) is None
        and issubclass(annotation, BaseModel)
    )


def _is_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin is Union or origin is types.UnionType


def _union_branch(annotation: Any, label: str | int) -> Any:
    """The member of a union that a pydantic location label (a tag or a type label) names."""
    members = [_strip(arg) for arg in typing.get_args(annotation) if arg is not type(None)]
    for member in members:
        if _is_model(member):
            for info in member.model_fields.values():
                if typing.get_origin(info.annotation) is typing.Literal and typing.get_args(
                    info.annotation
                ) == (label,):
                    return member
    label_text = str(label)
    for member in members:
        origin = typing.get_origin(member)
        if origin is list and label_text.startswith("list"):
            return member
        if origin is dict and label_text.startswith("dict"):
            return member
    return None


def _child(annotation: Any, key: str | int) -> Any:
    if _is_model(annotation):
        info = annotation.model_fields.get(str(key))
        return None if info is None else info.annotation
    origin = typing.get_origin(annotation)
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin is dict:
        return typing.get_args(annotation)[1]
    return None


def _param_from_loc(root: Any, details: ErrorDetails) -> tuple[str | None, str | None]:
    """The field path of a problem (``messages[0].content``) with union labels dropped.

    Returns the path (None for the message as a whole) and, when the location crossed a
    union, the path at which it did (else None).
    """
    path = ""
    union_at: str | None = None
    current = root
    for element in details["loc"]:
        current = _strip(current)
        if _is_union(current):
            current = _union_branch(current, element)
            union_at = path
            continue
        if element == "[key]":  # pydantic's marker for an error in the dict key itself
            continue
        if isinstance(element, int) and typing.get_origin(current) is not dict:
            path += f"[{element}]"
        else:
            path += f".{element}" if path else str(element)
        current = _child(current, element)
    ctx = details.get("ctx") or {}
    extra = ctx.get("path")
    if isinstance(extra, str) and extra:
        path = path + extra if path else extra.lstrip(".")
    if details["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "")).strip("'")
        if tag:
            path = f"{path}.{tag}" if path else tag
    return (path or None), union_at
