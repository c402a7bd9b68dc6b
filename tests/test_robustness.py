"""Hostile input never crashes a decoder, hangs it, or leaks the input into error messages."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sagellm_protocol import ProtocolError, decode, encode
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example

from .fuzzing import Case, check_cli, check_decode, check_sse, make_case

FUZZ_EXAMPLES = 400


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.randoms(use_true_random=False))
def test_decode_survives_hostile_input(rng: random.Random) -> None:
    check_decode(make_case(rng))


@settings(max_examples=FUZZ_EXAMPLES // 2, deadline=None)
@given(st.randoms(use_true_random=False))
def test_sse_decoder_survives_hostile_frames(rng: random.Random) -> None:
    check_sse(make_case(rng), rng)


@settings(max_examples=FUZZ_EXAMPLES // 4, deadline=None)
@given(st.randoms(use_true_random=False))
def test_cli_validate_survives_hostile_files(rng: random.Random) -> None:
    with tempfile.TemporaryDirectory() as directory:
        check_cli(make_case(rng), Path(directory))


@pytest.mark.parametrize("name", list(MESSAGE_TYPES))
def test_every_truncation_is_refused(name: str) -> None:
    wire = encode(example_message(name))
    for cut in range(len(wire)):
        with pytest.raises(ProtocolError):
            decode(MESSAGE_TYPES[name], wire[:cut])
    assert decode(MESSAGE_TYPES[name], wire) == example_message(name)


def example_message(name: str) -> BaseModel:
    return example(MESSAGE_TYPES[name])


def test_the_oracle_catches_a_leak() -> None:
    # The oracle must be able to fail: a decoder that echoed input would be caught.
    from sagellm_protocol import Error, ErrorCode

    from . import fuzzing

    leaky = ProtocolError(
        Error(code=ErrorCode.INVALID_ARGUMENT, message=f"bad {fuzzing.MARKER}", param="x")
    )
    with pytest.raises(AssertionError, match="leaked"):
        fuzzing._check_errors(leaky, "test")


def test_the_oracle_demands_a_param_for_field_errors() -> None:
    from sagellm_protocol import Error, ErrorCode

    from . import fuzzing

    vague = ProtocolError(Error(code=ErrorCode.INVALID_ARGUMENT, message="max_tokens: must be > 0"))
    with pytest.raises(AssertionError, match="no param"):
        fuzzing._check_errors(vague, "test")


def test_cli_reports_an_invalid_file_without_failing(tmp_path: Path) -> None:
    assert check_cli(Case("Request", b'{"prompt": "x"}', "missing fields"), tmp_path) == 1
