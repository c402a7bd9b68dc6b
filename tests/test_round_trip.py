"""Every message round-trips through JSON and Python data (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing.strategies import any_message, strategy_for


@pytest.mark.parametrize("model", list(MESSAGE_TYPES.values()), ids=list(MESSAGE_TYPES))
@given(data=st.data())
def test_json_round_trip(model: type[BaseModel], data: st.DataObject) -> None:
    message = data.draw(strategy_for(model))
    assert type(message) is model
    assert model.model_validate_json(message.model_dump_json()) == message
    assert model.model_validate(message.model_dump()) == message
    assert model.model_validate(message.model_dump(mode="json")) == message


@given(any_message())
def test_any_message_is_valid(message: BaseModel) -> None:
    assert type(message).model_validate(message.model_dump()) == message
