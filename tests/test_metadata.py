"""Request.metadata: JSON-compatible values only, nesting depth at most 32 (★)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from sagellm_protocol import ProtocolError, Request, decode
from sagellm_protocol.limits import MAX_METADATA_VALUES
from sagellm_protocol.testing import example, example_data


def nested(depth: int, *, container: str = "dict") -> dict[str, Any]:
    """A metadata object whose nesting depth is ``depth`` (the object itself is depth 1)."""
    inner: Any = "leaf"
    for _ in range(depth - 1):
        inner = {"k": inner} if container == "dict" else [inner]
    return {"k": inner}


def _params(metadata: Any) -> list[str | None]:
    with pytest.raises(ValidationError) as caught:
        example(Request, metadata=metadata)
    return [error.param for error in ProtocolError.from_validation_error(caught.value).errors]


@pytest.mark.parametrize("container", ["dict", "list"])
def test_depth_32_is_accepted(container: str) -> None:
    metadata = nested(32, container=container)
    assert example(Request, metadata=metadata).metadata == metadata


@pytest.mark.parametrize("container", ["dict", "list"])
def test_depth_33_is_rejected(container: str) -> None:
    with pytest.raises(ValidationError) as caught:
        example(Request, metadata=nested(33, container=container))
    assert [e["type"] for e in caught.value.errors()] == ["metadata_too_deep"]


def test_depth_33_in_json_is_rejected() -> None:
    import json

    data = example(Request).model_dump()
    data["metadata"] = nested(33)
    with pytest.raises(ValidationError) as caught:
        Request.model_validate_json(json.dumps(data))
    assert [e["type"] for e in caught.value.errors()] == ["metadata_too_deep"]
    (error,) = ProtocolError.from_validation_error(caught.value).errors
    assert error.param == "metadata" + ".k" * 32
    data["metadata"] = nested(32)
    assert Request.model_validate_json(json.dumps(data)).metadata == nested(32)


def test_very_deep_python_nesting_is_rejected_without_recursion_error() -> None:
    with pytest.raises(ValidationError):
        example(Request, metadata=nested(100_000))


def test_cyclic_metadata_is_rejected() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(ValidationError):
        example(Request, metadata=cycle)


@pytest.mark.parametrize(
    "value",
    [
        "s",
        "",
        0,
        -5,
        2**70,
        1.5,
        -0.0,
        True,
        False,
        None,
        [],
        {},
        [1, "a", None],
        {"a": {"b": [1.0]}},
    ],
)
def test_json_values_are_accepted(value: Any) -> None:
    assert example(Request, metadata={"v": value}).metadata == {"v": value}


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ((1, 2), "metadata.v"),
        ({1, 2}, "metadata.v"),
        (b"bytes", "metadata.v"),
        (object(), "metadata.v"),
        (math.nan, "metadata.v"),
        (math.inf, "metadata.v"),
        (-math.inf, "metadata.v"),
        ([1, [2, math.nan]], "metadata.v[1][1]"),
        ({"a": {1: 2}}, "metadata.v.a"),
        ({"a": {None: 2}}, "metadata.v.a"),
    ],
)
def test_non_json_values_are_rejected_with_their_path(value: Any, param: str) -> None:
    assert _params({"v": value}) == [param]


def test_non_string_top_level_key_is_rejected() -> None:
    assert _params({1: "x"}) == ["metadata.1"]


def test_non_finite_float_in_json_metadata_is_rejected() -> None:
    base = example(Request).model_dump_json(exclude_none=True)
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        text = base[:-1] + ', "metadata": {"a": [' + literal + "]}}"
        with pytest.raises(ValidationError) as caught:
            Request.model_validate_json(text)
        params = [e.param for e in ProtocolError.from_validation_error(caught.value).errors]
        assert params == ["metadata.a[0]"], literal


def test_metadata_values_are_not_converted() -> None:
    metadata = {"a": [1, 2], "b": {"c": 1.5}, "d": 3}
    stored = example(Request, metadata=metadata).metadata
    assert stored == metadata
    assert stored is not None
    assert type(stored["d"]) is int


@pytest.mark.parametrize(
    ("metadata", "param"),
    [
        ({"k": "\ud800"}, "metadata.k"),
        ({"k": ["ok", "\udc00x"]}, "metadata.k[1]"),
        ({"\ud800": 1}, "metadata"),
        ({"k": {"\udfff": 1}}, "metadata.k"),
    ],
    ids=["value", "list item", "top-level key", "nested key"],
)
def test_lone_surrogates_are_rejected_in_python(metadata: dict[str, Any], param: str) -> None:
    assert _params(metadata) == [param]


def test_non_ascii_text_is_accepted() -> None:
    metadata = {"语言": ["中文", "😀", {"ключ": "значение"}]}
    assert example(Request, metadata=metadata).metadata == metadata


def _with_metadata(metadata: object) -> bytes:
    return json.dumps({**example_data(Request), "metadata": metadata}).encode()


@pytest.mark.parametrize(
    "metadata",
    [
        {"k": [[]] * MAX_METADATA_VALUES},
        {f"k{i}": None for i in range(MAX_METADATA_VALUES + 1)},
        {"k": [[1, 2, 3]] * (MAX_METADATA_VALUES // 4 + 1)},
    ],
    ids=["many containers", "many keys", "nested values"],
)
@pytest.mark.parametrize("wire", [True, False], ids=["json", "python"])
def test_metadata_holding_too_many_values_is_refused(metadata: object, wire: bool) -> None:
    data = _with_metadata(metadata) if wire else {**example_data(Request), "metadata": metadata}
    with pytest.raises(ProtocolError) as caught:
        decode(Request, data)
    assert caught.value.errors[0].param == "metadata"
    assert f"at most {MAX_METADATA_VALUES} values" in caught.value.errors[0].message


@pytest.mark.parametrize("wire", [True, False], ids=["json", "python"])
def test_metadata_holding_the_most_values_is_taken(wire: bool) -> None:
    metadata = {"k": [1] * (MAX_METADATA_VALUES - 1)}
    data = _with_metadata(metadata) if wire else {**example_data(Request), "metadata": metadata}
    assert decode(Request, data).metadata == metadata


def test_a_metadata_error_does_not_name_the_class_of_the_value() -> None:
    class SecretHolder:
        pass

    with pytest.raises(ValidationError) as caught:
        example(Request, metadata={"k": SecretHolder()})
    converted = ProtocolError.from_validation_error(caught.value)
    assert "SecretHolder" not in str(converted)
    assert all("SecretHolder" not in error["msg"] for error in caught.value.errors())


@pytest.mark.parametrize(
    "metadata",
    [{"k": [[]] * MAX_METADATA_VALUES}, {"k": nested(40)}, {"k": math.nan}],
    ids=["too many values", "too deep", "not JSON"],
)
def test_refused_json_metadata_is_not_copied_into_the_error(metadata: object) -> None:
    # pydantic-core would turn the field's JSON into Python objects a second time for the
    # error's input (twice the memory of a huge refused value): the error holds the validated
    # value instead, emptied.
    text = _with_metadata(metadata).replace(b"NaN", b"1e999")  # JSON's spelling of infinity
    with pytest.raises(ValidationError) as caught:
        Request.model_validate_json(text)
    (error,) = caught.value.errors()
    assert error["loc"] == ("metadata",)
    assert error["input"] == {}
