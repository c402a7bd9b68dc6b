"""The one base model every contract message derives from.

The configuration is the contract's general rules:

* unknown fields are rejected (``extra="forbid"``): a misspelt keyword is a bug, and dropping
  it silently loses data;
* floats are finite (``allow_inf_nan=False``): NaN and ±Infinity are refused everywhere;
* assignment is validated, and a rejected assignment leaves the model unchanged, also when a
  rule across fields rejects it (pydantic alone would keep the new value in that case);
* ``model_copy(update=...)`` validates the result instead of trusting the update;
* pydantic's own error text never shows the input (``hide_input_in_errors``);
* attribute docstrings become field descriptions (and so JSON Schema descriptions).

Scalars are strict per field (see ``_fields``), not model-wide, so that enum fields keep
accepting their string values.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import Self

__all__ = [
    "CONTRACT_RULE_PREFIXES",
    "INTEGER_RULE",
    "ProtocolModel",
    "check_ascending",
    "register_union",
    "registered_models",
    "rule_error",
    "union_for_title",
]

CONTRACT_RULE_PREFIXES = ("rule_", "metadata_")
"""Error types raised by the contract's own validators; their messages never hold input."""


def check_ascending(
    model: BaseModel, names: Sequence[str], kind: str, *, below: str = "less than"
) -> None:
    """Raise ``rule_<kind>`` at the first of ``names`` whose value is below the one before it.

    The message says which neighbour the field must not be ``below`` and states the whole
    order, e.g. ``must not be earlier than queued_at (queued_at <= scheduled_at <= ...)``.
    """
    for previous, name in itertools.pairwise(names):
        if getattr(model, name) < getattr(model, previous):
            order = " <= ".join(names)
            raise rule_error(kind, f"must not be {below} {previous} ({order})", name)


def rule_error(kind: str, message: str, field: str) -> PydanticCustomError:
    """The error for a broken rule across fields, reported at ``field`` (a field name).

    ``kind`` becomes the pydantic error type ``rule_<kind>``; ``message`` names the rule.
    """
    return PydanticCustomError(f"rule_{kind}", message, {"path": f".{field}"})


_REGISTRY: dict[str, type[ProtocolModel]] = {}


def registered_models() -> Mapping[str, type[ProtocolModel]]:
    """Every ``ProtocolModel`` subclass by class name (the first one defined under a name)."""
    return _REGISTRY


_UNIONS: list[tuple[tuple[str, ...], Any]] = []


def register_union(union: Any, members: tuple[type[BaseModel], ...]) -> None:
    """Make ``union`` (a type alias over ``members``) known to error conversion."""
    _UNIONS.append((tuple(member.__name__ for member in members), union))


def union_for_title(title: str) -> Any:
    """The registered union that a pydantic title such as ``tagged-union[A,B]`` names, or None."""
    for names, union in _UNIONS:
        if title.startswith("tagged-union[") and all(name in title for name in names):
            return union
    return None


INTEGER_RULE = (
    "Integer fields take JSON integers only: 8.0 is rejected, although JSON Schema's "
    "integer type would accept it."
)
"""The wire rule that every schema's description states because JSON Schema cannot."""


def _state_wire_rules(schema: dict[str, Any]) -> None:
    description = schema.get("description")
    schema["description"] = f"{description}\n\n{INTEGER_RULE}" if description else INTEGER_RULE


class ProtocolModel(BaseModel):
    """Base class of every Protocol v0.1 message: strict, closed, always valid."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_assignment=True,
        use_attribute_docstrings=True,
        hide_input_in_errors=True,
        json_schema_extra=_state_wire_rules,
    )

    _has_cross_field_rules: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._has_cross_field_rules = bool(cls.__pydantic_decorators__.model_validators)
        _REGISTRY.setdefault(cls.__name__, cls)

    def __setattr__(self, name: str, value: Any) -> None:
        if not self._has_cross_field_rules:
            super().__setattr__(name, value)
            return
        # pydantic-core stores the new value before running model-level rules; restore the
        # previous state when a rule rejects the assignment.
        saved_dict = dict(self.__dict__)
        saved_fields_set = set(self.__pydantic_fields_set__)
        try:
            super().__setattr__(name, value)
        except ValidationError:
            object.__setattr__(self, "__dict__", saved_dict)
            object.__setattr__(self, "__pydantic_fields_set__", saved_fields_set)
            raise

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the model; with ``update``, the result is validated like a new message.

        Unlike plain pydantic, an update cannot produce a message that construction would
        reject: unknown names, wrong types and broken rules raise ``ValidationError``.
        """
        copied = super().model_copy(deep=deep)
        if not update:
            return copied
        data = dict(copied.__dict__)
        data.update(update)
        fresh = type(self).model_validate(data)
        object.__setattr__(
            fresh, "__pydantic_fields_set__", copied.__pydantic_fields_set__ | set(update)
        )
        return fresh
