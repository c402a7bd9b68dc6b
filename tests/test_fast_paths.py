"""decode's fast paths give exactly the verdicts and values of the models' own validators.

A ``Decoder`` takes a shortcut for bytes: Request's metadata rules are checked in pydantic-core
(not in Python). The shortcut may only save time: whatever it accepts, the model accepts with
the same value, and whatever it refuses goes to the full path. These tests hold it to that with
hostile metadata; stream events are decoded by the union itself, whatever the key order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sagellm_protocol import ProtocolError, Request, StreamEvent, decode, encode
from sagellm_protocol.codec import CORE_CHECKED_LEVELS, decoder_for
from sagellm_protocol.limits import MAX_METADATA_DEPTH
from sagellm_protocol.testing import example_data
from sagellm_protocol.testing.strategies import stream_events

# JSON number and literal texts, including the ones that parse to NaN or ±Infinity.
SPECIAL_SCALARS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e400",
    "1" + "0" * 400 + ".0",
    "1.0",
    "-0.0",
    "0",
    "-7",
    "5e-324",
    "1e308",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
    '"NaN"',
    '"\\u0000\\ud83d\\ude42"',
]
SCALARS = st.one_of(
    st.sampled_from(SPECIAL_SCALARS),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.text(max_size=8).map(lambda t: json.dumps(t, ensure_ascii=False).replace("\\ud", "\\uD")),
)
KEYS = st.sampled_from(["a", "b", "", "event", "metadata"])  # few keys: duplicates happen


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in pairs) + "}"


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=4).map(_object),
    ),
    max_leaves=12,
)


@st.composite
def deep_values(draw: st.DrawFn) -> str:
    """A value nested around the depth limits (the metadata object itself is level 1)."""
    depth = draw(
        st.sampled_from([1, CORE_CHECKED_LEVELS, CORE_CHECKED_LEVELS + 1]) | st.integers(1, 40)
    )
    leaf = draw(SCALARS)
    text = leaf
    for _ in range(depth):
        text = draw(st.sampled_from([f"[{text}]", f'{{"k":{text}}}']))
    return text


METADATA = st.lists(st.tuples(KEYS, VALUES | deep_values()), max_size=5).map(_object)


_request_from_json = decoder_for(Request)._fast


def _request_bytes(metadata: str) -> bytes:
    body = json.dumps(example_data(Request), separators=(",", ":"))
    return (body[:-1] + ',"metadata":' + metadata + "}").encode("utf-8", "surrogatepass")


def _canonical(data: bytes) -> tuple[str, Any]:
    try:
        request = Request.model_validate_json(data)
    except ValidationError as exc:
        errors = ProtocolError.from_validation_error(exc).errors
        return ("error", [(e.param, e.message) for e in errors])
    return ("ok", (request, repr(request.metadata), request.model_fields_set))


def _decoded(data: bytes) -> tuple[str, Any]:
    try:
        request = decode(Request, data)
    except ProtocolError as exc:
        return ("error", [(e.param, e.message) for e in exc.errors])
    return ("ok", (request, repr(request.metadata), request.model_fields_set))


@given(METADATA)
def test_request_fast_path_agrees_with_the_model(metadata: str) -> None:
    data = _request_bytes(metadata)
    # repr tells 1, 1.0 and True apart, which == does not
    assert _decoded(data) == _canonical(data)


@given(METADATA)
def test_core_checked_metadata_accepts_only_what_the_model_accepts(metadata: str) -> None:
    data = _request_bytes(metadata)
    try:
        fast = _request_from_json(data)
    except ValidationError:
        return  # refused: decode asks the model
    assert type(fast) is Request
    assert _canonical(data) == ("ok", (fast, repr(fast.metadata), fast.model_fields_set))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e309"])
@pytest.mark.parametrize("where", ["{{'a':{}}}", "{{'a':[1,{{'b':{}}}]}}"])
def test_non_finite_metadata_is_refused_on_the_fast_path(literal: str, where: str) -> None:
    metadata = where.replace("'", '"').format(literal)
    with pytest.raises(ProtocolError) as caught:
        decode(Request, _request_bytes(metadata))
    assert str(caught.value.errors[0].param).startswith("metadata.a")


def test_metadata_depth_limit_holds_on_the_fast_path() -> None:
    def nested(depth: int) -> str:  # the metadata object itself is level 1
        text = "1"
        for _ in range(depth - 1):
            text = f'{{"k":{text}}}'
        return "{" + f'"k":{text}' + "}"

    assert decode(Request, _request_bytes(nested(MAX_METADATA_DEPTH))).metadata
    with pytest.raises(ProtocolError, match="nested"):
        decode(Request, _request_bytes(nested(MAX_METADATA_DEPTH + 1)))


_UNION = TypeAdapter(StreamEvent)


def _union_verdict(data: bytes) -> tuple[str, Any]:
    try:
        return ("ok", _UNION.validate_json(data))
    except ValidationError:
        return ("error", None)


@given(event=stream_events(), shuffle=st.randoms(use_true_random=False), spaced=st.booleans())
def test_events_decode_as_the_union_does_in_any_key_order(
    event: Any, shuffle: Any, spaced: bool
) -> None:
    fields = json.loads(encode(event))
    items = list(fields.items())
    shuffle.shuffle(items)
    separators = (", ", ": ") if spaced else (",", ":")
    for data in (encode(event), json.dumps(dict(items), separators=separators).encode()):
        verdict = _union_verdict(data)
        assert verdict[0] == "ok"
        decoded = decode(StreamEvent, data)
        assert type(decoded) is type(verdict[1])
        assert decoded == verdict[1]


@pytest.mark.parametrize(
    "data",
    [
        b'{"event":"delta","request_id":"r","trace_id":"t","event":"start"}',
        b'{"event":"start","request_id":"r","trace_id":"t","event":"delta","chunk":"","chunk_tokens":[]}',
        b'{"event":"dance","request_id":"r","trace_id":"t"}',
        b'{"event":"end"}',
        b'{"eventual":"s","request_id":"r"}',
    ],
)
def test_misleading_tags_get_the_union_verdict(data: bytes) -> None:
    verdict = _union_verdict(data)
    try:
        decoded = decode(StreamEvent, data)
    except ProtocolError:
        assert verdict[0] == "error"
    else:
        assert verdict == ("ok", decoded)
        assert type(decoded) is type(verdict[1])


def test_the_fast_request_validator_checks_metadata_without_python() -> None:
    # pydantic-core would reuse Request's own validator for a schema naming Request; the fast
    # one must be its own (its metadata errors come from pydantic-core, not the Python walk).
    with pytest.raises(ValidationError) as caught:
        _request_from_json(_request_bytes('{"a":NaN}'))
    assert "metadata_not_json" not in {error["type"] for error in caught.value.errors()}
    with pytest.raises(ValidationError) as caught:
        Request.model_validate_json(_request_bytes('{"a":NaN}'))
    assert {error["type"] for error in caught.value.errors()} == {"metadata_not_json"}
