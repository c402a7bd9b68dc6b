"""Each assumption ``sagellm_protocol._pydantic`` makes about pydantic and CPython internals,
checked directly, so that a pydantic release where one stops holding fails here, by name."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError, model_validator
from pydantic_core import SchemaValidator, to_json

from sagellm_protocol import Metrics, Request, StreamEvent, StreamEventDelta, Timestamps
from sagellm_protocol._fields import check_json_metadata
from sagellm_protocol._pydantic import (
    _pydantic_string,
    field_values,
    has_model_validators,
    json_string_escaper,
    mark_fields_set,
    model_state,
    names_tagged_union,
    restore_model_state,
    serializer_of,
    validator_of,
    validator_with_json_check_replaced,
)
from sagellm_protocol.codec import CORE_CHECKED_LEVELS, _core_checked_json_metadata
from sagellm_protocol.testing import example, example_data

# --- compiled validators and serializers ------------------------------------------------------


def test_validator_of_is_the_validator_model_validate_json_uses() -> None:
    validator = validator_of(Request)
    assert isinstance(validator, SchemaValidator)
    body = example(Request).model_dump_json()
    assert validator.validate_json(body) == Request.model_validate_json(body)
    with pytest.raises(ValidationError) as caught:
        validator.validate_json(b'{"request_id": 1}')
    assert caught.value.title == "Request"


def test_serializer_of_writes_what_model_dump_json_writes() -> None:
    request = example(Request)
    written = serializer_of(Request).to_json(request, exclude_none=True)
    assert written == request.model_dump_json(exclude_none=True).encode()


class _WithRule(BaseModel):
    value: int

    @model_validator(mode="after")
    def _check(self) -> _WithRule:
        return self


class _Inherits(_WithRule):
    other: int = 0


@pytest.mark.parametrize(
    ("model", "expected"),
    [(Metrics, True), (Timestamps, True), (Request, False), (_WithRule, True), (_Inherits, True)],
)
def test_has_model_validators_sees_declared_and_inherited_rules(
    model: type[BaseModel], expected: bool
) -> None:
    assert has_model_validators(model) is expected


# --- instance state -----------------------------------------------------------------------------


def test_model_state_restores_values_and_fields_set() -> None:
    request = example(Request)
    saved = model_state(request)
    before = (request.model_dump(), set(request.model_fields_set))
    request.prompt = "changed"
    request.kv_budget_tokens = 5
    assert (request.model_dump(), request.model_fields_set) != before
    restore_model_state(request, saved)
    assert (request.model_dump(), request.model_fields_set) == before


def test_field_values_are_the_fields_by_name() -> None:
    request = example(Request, metadata={"a": [1]})
    values = field_values(request)
    assert values == {name: getattr(request, name) for name in Request.model_fields}
    assert values["metadata"] is request.metadata  # shallow: no copies of nested values


def test_mark_fields_set_is_what_model_fields_set_reports() -> None:
    request = example(Request)
    mark_fields_set(request, {"prompt"})
    assert request.model_fields_set == {"prompt"}


# --- a variant of a model's validator ----------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return {"k": value}


def test_the_variant_replaces_the_check_and_leaves_the_model_alone() -> None:
    own = validator_of(Request)
    variant = validator_with_json_check_replaced(
        Request, check_json_metadata, _core_checked_json_metadata()
    )
    assert variant is not None
    assert validator_of(Request) is own  # the model's own validator is untouched
    shallow = Request.model_validate(example_data(Request) | {"metadata": _nested(2)})
    assert variant.validate_json(shallow.model_dump_json()) == shallow
    # Deeper than the replacement checks, within the model's limit: only the model accepts it,
    # which shows the variant runs the replacement (and was not given the model's validator).
    deep = Request.model_validate(
        example_data(Request) | {"metadata": _nested(CORE_CHECKED_LEVELS + 1)}
    )
    with pytest.raises(ValidationError):
        variant.validate_json(deep.model_dump_json())
    assert own.validate_json(deep.model_dump_json()) == deep


def test_no_variant_for_a_model_without_the_check() -> None:
    replacement = _core_checked_json_metadata()
    assert validator_with_json_check_replaced(Metrics, check_json_metadata, replacement) is None


# --- error titles --------------------------------------------------------------------------------

_EVENTS: TypeAdapter[Any] = TypeAdapter(StreamEvent)
_MEMBERS = ("StreamEventStart", "StreamEventDelta", "StreamEventEnd")


@pytest.mark.parametrize(
    "data",
    [
        {"event": "start"},
        {"event": "delta", "request_id": 1},
        {"event": "end", "request_id": "r"},  # the member with a model validator
        {"event": "nothing"},
    ],
)
def test_a_tagged_union_error_title_names_its_members(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        _EVENTS.validate_python(data)
    assert names_tagged_union(caught.value.title, _MEMBERS)


def test_a_model_error_title_is_not_a_union_title() -> None:
    with pytest.raises(ValidationError) as caught:
        StreamEventDelta.model_validate({})
    assert caught.value.title == "StreamEventDelta"
    assert not names_tagged_union(caught.value.title, _MEMBERS)


# --- JSON strings ---------------------------------------------------------------------------------


def test_the_c_escaper_is_in_use() -> None:
    assert json_string_escaper() is not _pydantic_string


def test_every_code_point_is_escaped_as_pydantic_core_escapes_it() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert json_string_escaper()(every).encode("utf-8") == to_json(every)


@given(st.text())
def test_both_escapers_equal_pydantic_core(text: str) -> None:
    assert json_string_escaper()(text).encode("utf-8") == to_json(text)
    assert _pydantic_string(text).encode("utf-8") == to_json(text)


def test_a_lone_surrogate_is_left_to_the_utf8_encoding() -> None:
    for escape in (json_string_escaper(), _pydantic_string):
        with pytest.raises(UnicodeEncodeError):
            escape("a\ud800").encode("utf-8")
