"""Every rule of SPEC.md, on both sides of its boundary (the table is tests/rules_table.py)."""

from __future__ import annotations

import enum
import typing
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sagellm_protocol import ProtocolError
from sagellm_protocol._pydantic import has_model_validators
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example

from .rules_table import RULES, Case, Rule

ACCEPTED = [(rule, case) for rule in RULES for case in rule.accepted]
REJECTED = [(rule, case) for rule in RULES for case in rule.rejected]


def _case_id(item: tuple[Rule, Case]) -> str:
    rule, case = item
    shown = ",".join(f"{k}={v!r}"[:40] for k, v in case.overrides.items())
    return f"{rule.model.__name__}:{shown}"


@pytest.mark.parametrize(("rule", "case"), ACCEPTED, ids=[_case_id(i) for i in ACCEPTED])
def test_accepted_side_of_boundary(rule: Rule, case: Case) -> None:
    message = example(rule.model, **case.overrides)
    for name, value in case.overrides.items():
        assert _plain(getattr(message, name)) == _plain(value), name


@pytest.mark.parametrize(("rule", "case"), REJECTED, ids=[_case_id(i) for i in REJECTED])
def test_rejected_side_of_boundary(rule: Rule, case: Case) -> None:
    with pytest.raises(ValidationError) as caught:
        example(rule.model, **case.overrides)
    errors = ProtocolError.from_validation_error(caught.value).errors
    assert [error.param for error in errors] == [case.param]
    assert all(error.code == "invalid_argument" for error in errors)


def _plain(value: Any) -> Any:
    """A stored value as the data it was built from (nested messages as the fields given)."""
    if isinstance(value, BaseModel):
        return {name: _plain(getattr(value, name)) for name in value.model_fields_set}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def test_every_rule_has_both_sides_or_is_a_permission() -> None:
    for rule in RULES:
        assert rule.accepted, rule.row
        if rule.text != "may be empty":
            assert rule.rejected, rule.row


def _constrained(annotation: Any, metadata: list[Any]) -> bool:
    """True when a field carries a rule: a bound, a length, a Literal or an enum."""
    for item in metadata:
        if isinstance(item, FieldInfo) and _constrained(Any, list(item.metadata)):
            return True
        if any(
            getattr(item, key, None) is not None
            for key in ("gt", "ge", "lt", "le", "min_length", "max_length")
        ):
            return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return True
    if isinstance(annotation, type) and origin is None and issubclass(annotation, enum.Enum):
        return True
    if origin is Annotated:
        return _constrained(args[0], list(args[1:]))
    return any(_constrained(arg, []) for arg in args)


def test_every_declared_constraint_has_a_rule_row() -> None:
    covered = {(rule.model, name) for rule in RULES for name in rule.fields}
    missing = [
        f"{model.__name__}.{name}"
        for model in MESSAGE_TYPES.values()
        for name, info in model.model_fields.items()
        if _constrained(info.annotation, list(info.metadata)) and (model, name) not in covered
    ]
    assert missing == []


CROSS_FIELD_RULES = {
    "Response": "finish_reason is 'error' if and only if error is given",
    "StreamEventEnd": "finish_reason is 'error' if and only if error is given",
    "Metrics": "at least one of tbt_ms, tpot_ms is given (0.0 counts)",
    "Timestamps": "queued_at <= scheduled_at <= executed_at <= completed_at, all >= 0",
    "ChatCompletionUsage": "total_tokens == prompt_tokens + completion_tokens",
}


def test_every_model_with_cross_field_rules_is_known() -> None:
    with_rules = {m.__name__ for m in MESSAGE_TYPES.values() if has_model_validators(m)}
    assert with_rules == {*CROSS_FIELD_RULES, "MetricsSummary"}


@pytest.mark.parametrize(("model", "text"), list(CROSS_FIELD_RULES.items()))
def test_every_cross_field_rule_has_a_rule_row(model: str, text: str) -> None:
    (rule,) = [r for r in RULES if r.model.__name__ == model and r.text == text]
    assert rule.accepted
    assert rule.rejected
    assert all(len(case.overrides) > 1 for case in rule.rejected)
