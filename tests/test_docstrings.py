"""Everything public is documented: every name in the ``__all__`` of every public module, every
public method, every attribute of a public class, and every field of every model, whose
description states its unit where the field's name implies one (field docstrings become
descriptions)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
import textwrap
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

import sagellm_protocol
from sagellm_protocol._naming import unit_of
from sagellm_protocol.registry import MESSAGE_TYPES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(sagellm_protocol.__file__).resolve().parent

REQUIRED_MODULES = [
    "sagellm_protocol",
    "sagellm_protocol.types",
    "sagellm_protocol.errors",
    "sagellm_protocol.timestamps",
    "sagellm_protocol.kv_hooks",
    "sagellm_protocol.openai_types",
    "sagellm_protocol.codec",
    "sagellm_protocol.sse",
    "sagellm_protocol.streaming",
    "sagellm_protocol.metrics",
    "sagellm_protocol.summary",
    "sagellm_protocol.schema",
    "sagellm_protocol.compat",
    "sagellm_protocol.openai_compat",
    "sagellm_protocol.openai_completions",
    "sagellm_protocol.http",
    "sagellm_protocol.engine",
    "sagellm_protocol.asgi",
    "sagellm_protocol.registry",
    "sagellm_protocol.cli",
    "sagellm_protocol.testing",
    "sagellm_protocol.testing.strategies",
]


def _public_modules() -> list[str]:
    """The package and every module whose dotted name has no part starting with ``_``."""
    found = [
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE)], "sagellm_protocol.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return ["sagellm_protocol", *sorted(found)]


PUBLIC_MODULES = _public_modules()


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _exported() -> list[tuple[str, str, Any]]:
    """(module, name, object) for every name in the ``__all__`` of every public module."""
    return [
        (module, name, getattr(_module(module), name))
        for module in PUBLIC_MODULES
        for name in _module(module).__all__
    ]


EXPORTED = _exported()


def _is_routine(obj: object) -> bool:
    return inspect.isfunction(obj) or inspect.isbuiltin(obj)


def _ours(obj: object) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("sagellm_protocol")


def test_the_known_public_modules_are_found() -> None:
    assert set(REQUIRED_MODULES) <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_module_has_a_docstring_and_all(module: str) -> None:
    assert inspect.getdoc(_module(module)), module
    assert _module(module).__all__, module


CLASSES_AND_FUNCTIONS = [
    (f"{module}.{name}", obj)
    for module, name, obj in EXPORTED
    if inspect.isclass(obj) or _is_routine(obj)
]


@pytest.mark.parametrize(
    ("name", "obj"), CLASSES_AND_FUNCTIONS, ids=[name for name, _ in CLASSES_AND_FUNCTIONS]
)
def test_public_class_or_function_has_its_own_docstring(name: str, obj: Any) -> None:
    own = vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__
    assert own, f"{name} has no docstring of its own"
    assert own.strip(), f"{name} has an empty docstring"


def _public_classes() -> list[type]:
    classes: list[type] = []
    for _, _, obj in EXPORTED:
        if inspect.isclass(obj) and _ours(obj) and obj not in classes:
            classes.append(obj)
    return classes


PUBLIC_CLASSES = _public_classes()


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties defined by ``cls`` itself (not inherited)."""
    for attribute, value in vars(cls).items():
        if attribute.startswith("_"):
            continue
        if isinstance(value, property):
            yield attribute, value.fget
        elif isinstance(value, (classmethod, staticmethod)):
            yield attribute, value.__func__
        elif inspect.isfunction(value):
            yield attribute, value


MEMBERS = [(cls, name, member) for cls in PUBLIC_CLASSES for name, member in _members(cls)]


@pytest.mark.parametrize(
    ("cls", "name", "member"), MEMBERS, ids=[f"{c.__name__}.{n}" for c, n, _ in MEMBERS]
)
def test_public_method_has_a_docstring(cls: type, name: str, member: Any) -> None:
    assert inspect.getdoc(member), f"{cls.__name__}.{name}"


def _documented_assignments(body: list[ast.stmt]) -> tuple[list[str], set[str]]:
    """Names assigned in ``body``, and those followed by a string (an attribute docstring)."""
    names: list[str] = []
    documented: set[str] = set()
    for statement, following in zip(body, [*body[1:], None], strict=True):
        target = None
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            target = statement.target.id
        elif isinstance(statement, ast.Assign):
            target = next((t.id for t in statement.targets if isinstance(t, ast.Name)), None)
        if target is None:
            continue
        names.append(target)
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            documented.add(target)
    return names, documented


@cache
def _module_level_docstrings() -> frozenset[str]:
    """Every module-level name of the package that has an attribute docstring."""
    documented: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        documented |= _documented_assignments(tree.body)[1]
    return frozenset(documented)


CONSTANTS = [
    (f"{module}.{name}", name)
    for module, name, obj in EXPORTED
    if not (inspect.isclass(obj) or _is_routine(obj))
]


@pytest.mark.parametrize(("where", "name"), CONSTANTS, ids=[where for where, _ in CONSTANTS])
def test_public_constant_or_alias_has_a_docstring(where: str, name: str) -> None:
    assert name in _module_level_docstrings(), f"{where}: no docstring under its assignment"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=[c.__name__ for c in PUBLIC_CLASSES])
def test_every_attribute_of_a_public_class_has_a_docstring(cls: type) -> None:
    """Model fields, dataclass and named-tuple fields, enum members."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(tree, ast.ClassDef)
    names, documented = _documented_assignments(tree.body)
    missing = [
        name
        for name in names
        if name not in documented and not name.startswith("_") and name != "model_config"
    ]
    assert missing == [], cls.__name__


# --- fields of the models ---------------------------------------------------------------------


def _models() -> list[type[BaseModel]]:
    """Every model of the public surface, and every model nested in one of their fields."""
    found: list[type[BaseModel]] = [*MESSAGE_TYPES.values()]
    found += [c for c in PUBLIC_CLASSES if issubclass(c, BaseModel) and c not in found]
    for model in found:  # grows while it is walked: nested models are appended
        for info in model.model_fields.values():
            for nested in _nested_models(info.annotation):
                if nested not in found:
                    found.append(nested)
    return found


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    # On Python 3.10 ``list[int]`` passes ``isinstance(..., type)``; rule generic aliases out.
    plain = isinstance(annotation, type) and typing.get_origin(annotation) is None
    if plain and issubclass(annotation, BaseModel):
        yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _nested_models(argument)
    for extra in getattr(annotation, "__metadata__", ()):
        yield from _nested_models(extra)


MODELS = _models()
FIELDS = [(model, name) for model in MODELS for name in model.model_fields]


def test_the_nested_distribution_is_covered() -> None:
    assert "Distribution" in {model.__name__ for model in MODELS}


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
def test_every_field_has_a_description(model: type[BaseModel], name: str) -> None:
    description = model.model_fields[name].description
    assert description
    assert description[0].isupper() or description[0].isdigit() or description[0] in "`(", (
        description
    )
    assert description.rstrip().endswith("."), description


WITH_UNIT = [(m, n) for m, n in FIELDS if unit_of(m, n) is not None]


@pytest.mark.parametrize(
    ("model", "name"), WITH_UNIT, ids=[f"{m.__name__}.{n}" for m, n in WITH_UNIT]
)
def test_field_description_states_the_unit(model: type[BaseModel], name: str) -> None:
    """By name: *_ms ms, *_tps tokens/s, *_mb MB, *_bytes bytes, *_rate [0, 1], token counts
    tokens, Timestamps seconds, created Unix seconds, Distribution statistics the figure's unit."""
    unit = unit_of(model, name)
    assert unit is not None
    description = model.model_fields[name].description or ""
    assert re.search(rf"(?<![\w/]){re.escape(unit.phrase)}(?![\w/])", description), (
        f"{model.__name__}.{name}: the description should say {unit.phrase!r}: {description}"
    )


@pytest.mark.parametrize(
    ("model", "name", "unit"),
    [
        ("Metrics", "ttft_ms", "ms"),
        ("Metrics", "itl_list", "ms"),
        ("Metrics", "throughput_tps", "tokens/s"),
        ("Metrics", "peak_mem_mb", "MB"),
        ("Metrics", "kv_used_bytes", "bytes"),
        ("Metrics", "error_rate", "ratio in [0, 1]"),
        ("Request", "max_tokens", "tokens"),
        ("KVAllocateParams", "block_size", "tokens"),
        ("MetricsSummary", "output_tokens_total", "tokens"),
        ("Timestamps", "queued_at", "s"),
        ("ModelInfo", "created", "s (Unix time)"),
        ("Distribution", "p99", "unit of the figure"),
        ("Response", "output_tokens", None),
        ("StreamEventDelta", "chunk_tokens", None),
        ("Metrics", "evict_count", None),
        ("Distribution", "count", None),
    ],
)
def test_unit_conventions(model: str, name: str, unit: str | None) -> None:
    by_name = {m.__name__: m for m in MODELS}
    found = unit_of(by_name[model], name)
    assert (found.label if found else None) == unit
