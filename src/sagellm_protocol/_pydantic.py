"""Every use of pydantic's and CPython's internals, behind named functions.

No other module of the package touches a private or undocumented name of pydantic,
pydantic-core or CPython: they call the functions here. Each function says what it relies
on, and ``tests/test_pydantic_internals.py`` checks each of those assumptions, so that a
pydantic version where one stops holding fails the tests loudly instead of changing a verdict
quietly. The test matrix runs the suite on the lowest supported pydantic, the newest, and one
in between.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic_core import CoreSchema, SchemaSerializer, SchemaValidator, to_json

__all__ = [
    "ModelState",
    "field_values",
    "has_model_validators",
    "json_string_escaper",
    "mark_fields_set",
    "model_state",
    "names_tagged_union",
    "restore_model_state",
    "runs_check",
    "serializer_of",
    "validator_of",
    "validator_variant",
    "validator_with_json_check_replaced",
]

ModelState = tuple[dict[str, Any], set[str]]
"""A model instance's field values and the names of the fields set explicitly."""


# --- compiled validators and serializers ---------------------------------------------------


def validator_of(model: type[BaseModel]) -> SchemaValidator:
    """The compiled pydantic-core validator of ``model``.

    Relies on: pydantic keeps it in the class attribute ``__pydantic_validator__`` once the
    class is complete (the same object ``model_validate`` and ``model_validate_json`` use).
    """
    validator = model.__pydantic_validator__
    if not isinstance(validator, SchemaValidator):
        raise TypeError(f"{model.__name__} is not complete: it has no compiled validator")
    return validator


def serializer_of(model: type[BaseModel]) -> SchemaSerializer:
    """The compiled pydantic-core serializer of ``model``.

    Relies on: pydantic keeps it in the class attribute ``__pydantic_serializer__`` (the object
    ``model_dump_json`` calls).
    """
    return model.__pydantic_serializer__


@functools.cache
def has_model_validators(model: type[BaseModel]) -> bool:
    """Whether ``model`` (or a base) declares a ``@model_validator``, i.e. a rule across fields
    (answered once per class).

    Relies on: ``__pydantic_decorators__.model_validators``, the mapping where pydantic
    collects a class's model validators, inherited ones included.
    """
    return bool(model.__pydantic_decorators__.model_validators)


# --- instance state -------------------------------------------------------------------------


def model_state(instance: BaseModel) -> ModelState:
    """A copy of ``instance``'s field values and of the set of fields given explicitly.

    Relies on: pydantic keeps field values in the instance ``__dict__`` and the explicitly set
    names in ``__pydantic_fields_set__``; validated assignment writes into both.
    """
    return dict(instance.__dict__), set(instance.__pydantic_fields_set__)


def restore_model_state(instance: BaseModel, state: ModelState) -> None:
    """Put back a state taken by ``model_state`` (after an assignment a rule refused)."""
    values, fields_set = state
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", fields_set)


def field_values(instance: BaseModel) -> dict[str, Any]:
    """A shallow copy of ``instance``'s field values by name (no serialization, no copies of
    nested models). Relies on: the values live in the instance ``__dict__``."""
    return dict(instance.__dict__)


def mark_fields_set(instance: BaseModel, names: set[str]) -> None:
    """Make ``names`` the fields ``instance.model_fields_set`` reports.

    Relies on: ``model_fields_set`` reads ``__pydantic_fields_set__``.
    """
    object.__setattr__(instance, "__pydantic_fields_set__", names)


# --- a variant of a model's validator -------------------------------------------------------


def validator_with_json_check_replaced(
    model: type[BaseModel],
    check: Callable[..., Any],
    replacement: CoreSchema,
) -> SchemaValidator | None:
    """A validator for ``model`` whose JSON input is checked by ``replacement`` wherever the
    model's own validator runs the after-validator ``check`` on JSON input; None when the
    model's schema has no such place, or when pydantic-core refuses to build the variant.

    The variant returns instances of ``model`` itself. Relies on:

    * ``__pydantic_core_schema__`` is the model's core schema as a plain tree of dicts and
      lists, where a field annotated with a marker that builds
      ``json_or_python_schema(json_schema=...)`` whose JSON branch ends by calling ``check``
      (an after-validator, or a chain ending in a function validator) appears as a
      ``json-or-python`` node whose ``json_schema`` ``runs_check`` recognises;
    * pydantic-core builds a ``model`` schema naming a class whose ``__pydantic_complete__``
      is true by reusing that class's own compiled validator (and so would ignore the
      rewritten schema): the flag is cleared while the variant is built.
    """
    found = False

    def replaced(node: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal found
        if node.get("type") == "json-or-python" and runs_check(node.get("json_schema"), check):
            found = True
            return {**node, "json_schema": replacement}
        return None

    schema = _rewritten(model.__pydantic_core_schema__, replaced)
    if not found:
        return None
    return _built(schema, [model])


def runs_check(schema: Any, check: Callable[..., Any]) -> bool:
    """True if the core schema ``schema`` ends by calling ``check``: a function validator of
    ``check`` (``{"function": {"function": check}}``), or a ``chain`` whose last step is one.

    Relies on: pydantic-core's core schemas being plain dicts with these keys.
    """
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "chain":
        steps = schema.get("steps")
        return isinstance(steps, list) and bool(steps) and runs_check(steps[-1], check)
    function = schema.get("function")
    return isinstance(function, dict) and function.get("function") is check


def validator_variant(
    schema: CoreSchema,
    *,
    fail_fast: bool = False,
    extras_ignored: bool = False,
    json_branch: Callable[[Any], Any] | None = None,
) -> SchemaValidator | None:
    """A validator for the core ``schema`` (a model's, or a union's) in which, with
    ``fail_fast``, every list stops at its first wrong item (the same verdicts, at most one
    error per list), and, with ``extras_ignored``, every model drops unknown fields instead of
    refusing them. With ``json_branch``, the ``json_schema`` of every ``json-or-python`` node
    is replaced by what ``json_branch`` returns for it (None: kept); when it replaces none,
    the variant is None. None also when pydantic-core refuses to build it.

    Relies on: what ``validator_with_json_check_replaced`` relies on, for every model class the
    schema names (each is rebuilt from the rewritten schema, not reused); on the ``fail_fast``
    key of a ``list`` schema (pydantic-core 2.20, pydantic 2.8); and on a model's ``extra``
    setting being the ``extra_fields_behavior`` of the ``config`` in its ``model`` node.
    """
    models: list[type[BaseModel]] = []
    branches = 0

    def replaced(node: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal branches
        kind = node.get("type")
        if kind == "model" and isinstance(node.get("cls"), type):
            models.append(node["cls"])
        changes: dict[str, Any] = {}
        if json_branch is not None and kind == "json-or-python":
            branch = json_branch(node.get("json_schema"))
            if branch is not None:
                branches += 1
                return {**node, "json_schema": branch}
        if fail_fast and kind == "list":
            changes["fail_fast"] = True
        config = node.get("config")
        if extras_ignored and isinstance(config, dict) and "extra_fields_behavior" in config:
            changes["config"] = {**config, "extra_fields_behavior": "ignore"}
        if not changes:
            return None
        inside = {key: _rewritten(value, replaced) for key, value in node.items()}
        return {**inside, **changes}

    rewritten = _rewritten(schema, replaced)
    if json_branch is not None and not branches:
        return None
    return _built(rewritten, models)


def _rewritten(node: Any, replaced: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Any:
    """A copy of the core schema tree ``node`` with each dict ``replaced`` gives a
    replacement for (None: keep it, and rewrite inside it) replaced."""
    if isinstance(node, list):
        return [_rewritten(item, replaced) for item in node]
    if not isinstance(node, dict):
        return node
    replacement = replaced(node)
    if replacement is not None:
        return replacement
    return {key: _rewritten(value, replaced) for key, value in node.items()}


def _built(schema: Any, models: list[type[BaseModel]]) -> SchemaValidator | None:
    """The validator of ``schema``, with ``models`` rebuilt from it rather than reused."""
    complete = [model for model in models if model.__dict__.get("__pydantic_complete__")]
    for model in complete:
        model.__pydantic_complete__ = False
    try:
        return SchemaValidator(schema, schema.get("config"))
    except Exception:  # any failure here may only cost speed: the caller keeps the model's own
        return None
    finally:
        for model in complete:
            model.__pydantic_complete__ = True


# --- error titles ---------------------------------------------------------------------------


def names_tagged_union(title: str, member_names: tuple[str, ...]) -> bool:
    """Whether ``title``, a ``ValidationError.title``, is that of a discriminated union of
    models with these class names.

    Relies on: pydantic-core titles such errors ``tagged-union[...]``, listing each member by
    its class name, possibly wrapped (``function-after[_check(), StreamEventEnd]`` for a
    member with a model validator).
    """
    return title.startswith("tagged-union[") and all(name in title for name in member_names)


# --- JSON strings ---------------------------------------------------------------------------


def _pydantic_string(text: str) -> str:
    try:
        return to_json(text).decode("utf-8")
    except Exception:  # a lone surrogate: left for the final UTF-8 encoding to refuse
        return text


_PROBE = "".join(map(chr, range(0x80))) + "\x7f\x80\xff\u2028\u2029\ufeff\U0001f642"


def json_string_escaper() -> Callable[[str], str]:
    """A function writing a str as a JSON string literal exactly as pydantic-core does
    (non-ASCII kept, control characters escaped, quotes included).

    Relies on: CPython's C accelerator ``_json`` and its ``encode_basestring`` (the escaper
    behind ``json.dumps(..., ensure_ascii=False)``), which maps every code point as
    pydantic-core's ``to_json`` does. A probe compares the two at import; if they differ, or
    the accelerator is missing, pydantic-core's own (slower) writer is used. A lone surrogate
    passes through unchanged; the final UTF-8 encoding refuses it.
    """
    try:
        from _json import encode_basestring  # noqa: PLC0415 - not the json package
    except ImportError:  # pragma: no cover - an interpreter without the C accelerator
        return _pydantic_string
    escaper: Callable[[str], str] = encode_basestring
    same = escaper(_PROBE).encode("utf-8") == to_json(_PROBE)
    return escaper if same else _pydantic_string
