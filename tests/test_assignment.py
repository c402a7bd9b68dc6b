"""Assignment and copies are validated; a rejected change leaves the message unchanged (★)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sagellm_protocol import (
    ChatCompletionUsage,
    Error,
    ErrorCode,
    Metrics,
    Request,
    Response,
    StreamEventEnd,
    Timestamps,
)
from sagellm_protocol.testing import example


def test_valid_assignment_is_kept() -> None:
    request = example(Request)
    request.max_tokens = 7
    assert request.max_tokens == 7
    assert "max_tokens" in request.model_fields_set


@pytest.mark.parametrize(
    ("model", "name", "value"),
    [
        (Metrics, "tpot_ms", None),
        (Timestamps, "scheduled_at", 0.0),
        (ChatCompletionUsage, "total_tokens", 99),
        (Response, "finish_reason", "error"),
        (StreamEventEnd, "finish_reason", "error"),
    ],
)
def test_assignment_breaking_a_cross_field_rule_is_rolled_back(
    model: type[Any], name: str, value: Any
) -> None:
    message = example(model, tbt_ms=None) if model is Metrics else example(model)
    before = message.model_dump()
    fields_set = set(message.model_fields_set)
    with pytest.raises(ValidationError):
        setattr(message, name, value)
    assert message.model_dump() == before
    assert message.model_fields_set == fields_set


def test_a_change_across_fields_goes_through_model_copy() -> None:
    # Assigning one field at a time cannot move a Response from "stop" to "error": each step
    # alone breaks the rule. A validated copy changes both at once.
    response = example(Response)
    with pytest.raises(ValidationError):
        response.error = Error(code=ErrorCode.UNAVAILABLE, message="down")
    assert response.error is None
    failed = response.model_copy(
        update={
            "finish_reason": "error",
            "error": Error(code=ErrorCode.UNAVAILABLE, message="down"),
        }
    )
    assert failed.finish_reason == "error"
    assert failed.error is not None
    assert failed.error.code is ErrorCode.UNAVAILABLE
    assert response.finish_reason == "stop"


def test_unknown_attribute_cannot_be_set() -> None:
    request = example(Request)
    with pytest.raises(ValidationError):
        request.not_a_field = 1
    assert not hasattr(request, "not_a_field")


def test_model_copy_update_is_validated() -> None:
    request = example(Request)
    with pytest.raises(ValidationError):
        request.model_copy(update={"max_tokens": 0})
    with pytest.raises(ValidationError):
        request.model_copy(update={"not_a_field": 1})
    response = example(Response)
    with pytest.raises(ValidationError):
        response.model_copy(update={"finish_reason": "error"})


def test_model_copy_update_keeps_fields_set_and_values() -> None:
    request = example(Request)
    copied = request.model_copy(update={"max_tokens": 5})
    assert copied.max_tokens == 5
    assert copied.model_dump(exclude={"max_tokens"}) == request.model_dump(exclude={"max_tokens"})
    assert copied.model_fields_set == request.model_fields_set | {"max_tokens"}
    assert request.max_tokens == 128


def test_model_copy_without_update_is_a_copy() -> None:
    request = example(Request, metadata={"a": [1]})
    shallow = request.model_copy()
    deep = request.model_copy(deep=True)
    assert shallow == request == deep
    assert shallow is not request
    assert deep.metadata is not request.metadata
