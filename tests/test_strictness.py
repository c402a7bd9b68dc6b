"""The general ★ rules, applied to every field of every message.

No lossy or surprising coercion, finite floats only, unknown fields rejected, assignment
validated. The field kinds are read from the models, so a new field is covered automatically.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from typing import Annotated, Any, Union

import pytest
from pydantic import BaseModel, ValidationError

from sagellm_protocol import Metrics, ProtocolError, decode
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example, example_data


def _base(annotation: Any) -> Any:
    """The field's type without Annotated and Optional; a Union stays a Union."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


WRONG_INPUTS: dict[str, list[Any]] = {
    "int": [True, False, "1", "128", 1.0, 8.0, b"1", None],
    "float": [True, "1.0", "1", b"1", None],
    "str": [1, 1.5, True, b"x", None, ["x"]],
    "bool": [1, 0, "true", "yes", "false", 1.0, None],
    "list": ["abc", 5, {"a": 1}, None],
    "model": ["x", 5, [1], None],
    "enum": ["NOT_A_VALUE", 1, None],
}


def _kind(annotation: Any) -> str | None:
    base = _base(annotation)
    origin = typing.get_origin(base)
    if origin is list:
        return "list"
    if origin is typing.Literal or origin is dict or origin is Union or origin is types.UnionType:
        return None
    if isinstance(base, type):
        if issubclass(base, enum.Enum):
            return "enum"
        if issubclass(base, BaseModel):
            return "model"
        for kind in (bool, int, float, str):
            if issubclass(base, kind):
                return kind.__name__
    return None


def _is_optional(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return type(None) in typing.get_args(annotation)


FIELDS = [
    (model, name, kind)
    for model in MESSAGE_TYPES.values()
    for name, info in model.model_fields.items()
    if (kind := _kind(info.annotation)) is not None
]

WRONG = [
    (model, name, value)
    for model, name, kind in FIELDS
    for value in WRONG_INPUTS[kind]
    if not (value is None and _is_optional(model, name))
]


@pytest.mark.parametrize(
    ("model", "name", "value"), WRONG, ids=[f"{m.__name__}.{n}={v!r}" for m, n, v in WRONG]
)
def test_wrong_type_is_rejected_not_coerced(model: type[BaseModel], name: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        example(model, **{name: value})
    params = {error.param for error in ProtocolError.from_validation_error(caught.value).errors}
    assert params == {name} or all(p is not None and p.startswith(name) for p in params)


FLOAT_FIELDS = [(m, n) for m, n, kind in FIELDS if kind == "float"]


@pytest.mark.parametrize(
    ("model", "name"), FLOAT_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FLOAT_FIELDS]
)
def test_int_is_accepted_for_a_float_and_stored_as_float(model: type[BaseModel], name: str) -> None:
    # 1 is inside every float range of the contract; Timestamps need all four equal to stay ordered.
    overrides: dict[str, Any] = (
        dict.fromkeys(model.model_fields, 1.0) if model.__name__ == "Timestamps" else {}
    )
    overrides[name] = 1
    stored = getattr(example(model, **overrides), name)
    assert type(stored) is float
    assert stored == 1.0


NON_FINITE = [math.nan, math.inf, -math.inf]
FLOAT_SLOTS = FLOAT_FIELDS + [
    (m, n)
    for m, n, kind in FIELDS
    if kind == "list" and _kind(typing.get_args(_base(m.model_fields[n].annotation))[0]) == "float"
]


@pytest.mark.parametrize(
    ("model", "name"), FLOAT_SLOTS, ids=[f"{m.__name__}.{n}" for m, n in FLOAT_SLOTS]
)
@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_non_finite_floats_are_rejected(model: type[BaseModel], name: str, value: float) -> None:
    is_list = (model, name) not in FLOAT_FIELDS
    with pytest.raises(ValidationError) as caught:
        example(model, **{name: [value] if is_list else value})
    kinds = {error["type"] for error in caught.value.errors()}
    assert "finite_number" in kinds


INEXACT = [2**53 + 1, -(2**53) - 1, 2**64 + 1, 10**30]


def _inexact_verdict(model: type[BaseModel], name: str, value: int, wire: bool) -> list[Any]:
    """The (param, message) of every error for ``value`` in the float slot ``name``."""
    is_list = (model, name) not in FLOAT_FIELDS
    data = {**example_data(model), name: [value] if is_list else value}
    try:
        if wire:
            decode(model, json.dumps(data).encode())
        else:
            model.model_validate(data)
    except ValidationError as exc:
        return [(e.param, e.message) for e in ProtocolError.from_validation_error(exc).errors]
    except ProtocolError as exc:
        return [(e.param, e.message) for e in exc.errors]
    return []


@pytest.mark.parametrize(
    ("model", "name"), FLOAT_SLOTS, ids=[f"{m.__name__}.{n}" for m, n in FLOAT_SLOTS]
)
@pytest.mark.parametrize("wire", [True, False], ids=["json", "python"])
def test_an_integer_a_float_cannot_hold_exactly_is_refused_saying_so(
    model: type[BaseModel], name: str, wire: bool
) -> None:
    param = name if (model, name) in FLOAT_FIELDS else f"{name}[0]"
    for value in INEXACT:
        assert _inexact_verdict(model, name, value, wire) == [
            (
                param,
                f"{param}: must be a number a float holds exactly (not an integer beyond ±2**53)",
            )
        ]


@pytest.mark.parametrize("value", [1e300, 2.0**60, 9007199254740993.0])
def test_a_float_beyond_2_pow_53_is_still_a_float(value: float) -> None:
    data = json.dumps({**example_data(Metrics), "throughput_tps": value}).encode()
    assert decode(Metrics, data).throughput_tps == value


@pytest.mark.parametrize("wire", [True, False], ids=["json", "python"])
def test_integers_up_to_2_pow_53_are_taken_as_floats(wire: bool) -> None:
    for value in (2**53, -(2**53) + 1, 2**53 - 1):
        data = {**example_data(Metrics), "throughput_tps": abs(value)}
        metrics = decode(Metrics, json.dumps(data)) if wire else Metrics.model_validate(data)
        assert metrics.throughput_tps == float(abs(value))


@pytest.mark.parametrize("model", list(MESSAGE_TYPES.values()), ids=list(MESSAGE_TYPES))
def test_unknown_field_is_rejected(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError) as caught:
        example(model, not_a_field=1)
    errors = ProtocolError.from_validation_error(caught.value).errors
    assert [(e.param, e.code) for e in errors] == [("not_a_field", "invalid_argument")]


@pytest.mark.parametrize("model", list(MESSAGE_TYPES.values()), ids=list(MESSAGE_TYPES))
def test_misspelt_field_is_rejected_not_dropped(model: type[BaseModel]) -> None:
    data = example_data(model)
    name = next(iter(data))
    data[name.upper()] = data[name]
    with pytest.raises(ValidationError):
        model.model_validate(data)


ENUM_FIELDS = [(m, n) for m, n, kind in FIELDS if kind == "enum"]


@pytest.mark.parametrize(
    ("model", "name"), ENUM_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in ENUM_FIELDS]
)
def test_enum_field_takes_member_or_exact_value(model: type[BaseModel], name: str) -> None:
    enum_type = _base(model.model_fields[name].annotation)
    for member in enum_type:
        assert getattr(example(model, **{name: member}), name) is member
        assert getattr(example(model, **{name: member.value}), name) is member
        with pytest.raises(ValidationError):
            example(model, **{name: member.value.upper()})


WRONG_ASSIGNMENTS = [(m, n, v) for m, n, v in WRONG if v is not None]


@pytest.mark.parametrize(
    ("model", "name", "value"),
    WRONG_ASSIGNMENTS,
    ids=[f"{m.__name__}.{n}={v!r}" for m, n, v in WRONG_ASSIGNMENTS],
)
def test_assignment_is_validated(model: type[BaseModel], name: str, value: Any) -> None:
    message = example(model)
    before = getattr(message, name)
    with pytest.raises(ValidationError):
        setattr(message, name, value)
    assert getattr(message, name) == before


LIST_FIELDS = [(m, n) for m, n, kind in FIELDS if kind == "list"]


@pytest.mark.parametrize(
    ("model", "name"), LIST_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in LIST_FIELDS]
)
def test_a_set_is_not_a_list(model: type[BaseModel], name: str) -> None:
    value = getattr(example(model), name)
    unordered_values: list[set[Any] | frozenset[Any]] = [set(), frozenset()]
    for unordered in unordered_values:
        with pytest.raises(ValidationError) as caught:
            example(model, **{name: unordered})
        assert [e.param for e in ProtocolError.from_validation_error(caught.value).errors] == [name]
    if value is not None and all(isinstance(item, (int, float, str)) for item in value):
        assert getattr(example(model, **{name: tuple(value)}), name) == value  # a tuple keeps order


TEXT_FIELDS = [(m, n) for m, n, kind in FIELDS if kind == "str"]


@pytest.mark.parametrize(
    ("model", "name"), TEXT_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in TEXT_FIELDS]
)
def test_lone_surrogates_are_not_text(model: type[BaseModel], name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        example(model, **{name: "a\ud800b"})
    assert [e.param for e in ProtocolError.from_validation_error(caught.value).errors] == [name]


@pytest.mark.parametrize(
    ("model", "name"), ENUM_FIELDS, ids=[f"{m.__name__}.{n}" for m, n in ENUM_FIELDS]
)
def test_bytes_are_not_an_enum_value(model: type[BaseModel], name: str) -> None:
    member = next(iter(_base(model.model_fields[name].annotation)))
    with pytest.raises(ValidationError) as caught:
        example(model, **{name: member.value.encode()})
    assert [e.param for e in ProtocolError.from_validation_error(caught.value).errors] == [name]
