"""Every rule of the contract, on both sides of its boundary (the table is tests/rules_table.py)."""

from __future__ import annotations

import enum
import typing
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, Strict, ValidationError
from pydantic.fields import FieldInfo

from sagellm_protocol import KVDType, ProtocolError, Request
from sagellm_protocol._fields import Flag, Identifier, Millis, TokenIds
from sagellm_protocol._pydantic import has_model_validators
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example, example_data

from .rules_table import BELOW_ZERO, RULES, Case, Rule, derived_rule

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


class _GrownRequest(Request):
    """A Request with optional fields of every kind a row can be derived for."""

    deadline_ms: Millis | None = None
    tenant_id: Identifier | None = None
    priority: Annotated[int, Strict(), Field(ge=0, lt=10)] | None = None
    mode: Literal["fast", "exact"] | None = None
    dtype: KVDType | None = None
    draft_tokens: TokenIds | None = None
    tags: Annotated[list[Identifier], Field(min_length=1)] | None = None
    verbose: Flag | None = None


@pytest.mark.parametrize(
    ("name", "text", "accepted", "rejected"),
    [
        ("deadline_ms", ">= 0", [0], [BELOW_ZERO]),
        ("tenant_id", "identifier: 1 to 256 characters", ["x", "x" * 256], ["", "x" * 257]),
        ("priority", "integer in [0, 10)", [0, 9], [-1, 10]),
        ("mode", "one of fast, exact", ["fast", "exact"], ["not-fast"]),
        ("dtype", "one of fp16, bf16, fp8, int8", ["fp16", "bf16", "fp8", "int8"], ["not-fp16"]),
        ("draft_tokens", "each integer >= 0", [[0]], [[-1]]),
    ],
)
def test_a_row_is_derived_from_a_declared_constraint(
    name: str, text: str, accepted: list[Any], rejected: list[Any]
) -> None:
    rule = derived_rule(_GrownRequest, name)
    assert rule is not None
    assert rule.text == text
    assert [case.overrides[name] for case in rule.accepted] == accepted
    assert [case.overrides[name] for case in rule.rejected] == rejected
    base = example_data(Request)
    for case in rule.accepted:
        _GrownRequest.model_validate({**base, **case.overrides})
    for case in rule.rejected:
        with pytest.raises(ValidationError) as caught:
            _GrownRequest.model_validate({**base, **case.overrides})
        assert [e.param for e in ProtocolError.from_validation_error(caught.value).errors] == [
            case.param
        ]


@pytest.mark.parametrize("name", ["tags", "verbose", "metadata"])
def test_no_row_is_derived_without_a_simple_declared_constraint(name: str) -> None:
    assert derived_rule(_GrownRequest, name) is None
