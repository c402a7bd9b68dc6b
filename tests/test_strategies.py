"""The hypothesis strategies reach the contract's boundaries and keep explicit overrides."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from pydantic import ValidationError

from sagellm_protocol import Request, Response
from sagellm_protocol.testing.strategies import _float_strategy, strategy_for


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def test_identifiers_reach_their_maximum_length() -> None:
    request = find(strategy_for(Request), lambda r: len(r.request_id) == 256)
    assert len(request.request_id) == 256


def test_metadata_reaches_the_depth_limit() -> None:
    request = find(
        strategy_for(Request), lambda r: r.metadata is not None and _depth(r.metadata) == 32
    )
    assert request.metadata is not None


def test_float_fields_also_get_ints_within_their_bounds() -> None:
    value = find(_float_strategy({"gt": 0, "le": 2}), lambda v: type(v) is int)
    assert value in (1, 2)
    assert find(_float_strategy({"ge": -2, "le": 2}), lambda v: type(v) is int and v < 0) in (
        -2,
        -1,
    )


def test_overrides_are_used() -> None:
    @given(strategy_for(Request, prompt=st.just(""), max_tokens=st.just(7)))
    def check(request: Request) -> None:
        assert request.prompt == ""
        assert request.max_tokens == 7

    check()


def test_overrides_that_break_a_rule_are_not_replaced() -> None:
    @given(strategy_for(Response, finish_reason=st.just("error"), error=st.none()))
    def draw(response: Response) -> None:
        raise AssertionError("an invalid combination must not produce a message")

    with pytest.raises(ValidationError):
        draw()


def test_unknown_override_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        strategy_for(Request, not_a_field=st.just(1))
