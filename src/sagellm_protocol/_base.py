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
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import Self

from ._pydantic import (
    field_values,
    has_model_validators,
    mark_fields_set,
    model_state,
    restore_model_state,
)

__all__ = [
    "CONTRACT_RULE_PREFIXES",
    "INTEGER_RULE",
    "ProtocolModel",
    "check_ascending",
    "rule_error",
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

    def __setattr__(self, name: str, value: Any) -> None:
        if not has_model_validators(type(self)):
            super().__setattr__(name, value)
            return
        # pydantic-core stores the new value before running model-level rules; restore the
        # previous state when a rule rejects the assignment.
        saved = model_state(self)
        try:
            super().__setattr__(name, value)
        except ValidationError:
            restore_model_state(self, saved)
            raise

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the model; with ``update``, the result is validated like a new message.

        Unlike plain pydantic, an update cannot produce a message that construction would
        reject: unknown names, wrong types and broken rules raise ``ValidationError``.
        """
        copied = super().model_copy(deep=deep)
        if not update:
            return copied
        data = field_values(copied)
        data.update(update)
        fresh = type(self).model_validate(data)
        mark_fields_set(fresh, copied.model_fields_set | set(update))
        return fresh
