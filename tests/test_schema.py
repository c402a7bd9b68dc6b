"""The JSON Schema bundle: generated from the models, committed, shipped, and in agreement."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import typing
import zipfile
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from sagellm_protocol import PROTOCOL_VERSION, StreamEvent, __version__, encode
from sagellm_protocol._base import INTEGER_RULE
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.schema import (
    BUNDLE_VERSION,
    SCHEMA_GAPS,
    bundle_files,
    bundled_schema,
    check_bundle,
    json_schemas,
    standard_json_schema,
    write_bundle,
)
from sagellm_protocol.testing import example_data
from sagellm_protocol.testing.strategies import strategy_for

from .scripts import run_cli

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "src" / "sagellm_protocol" / "schemas" / BUNDLE_VERSION


def test_bundle_lists_every_message_type_and_the_union() -> None:
    schemas = json_schemas()
    assert list(schemas) == [*MESSAGE_TYPES, "StreamEvent"]
    for name, model in MESSAGE_TYPES.items():
        assert schemas[name] == model.model_json_schema()  # already standard: unchanged
    assert schemas["StreamEvent"] == standard_json_schema(TypeAdapter(StreamEvent).json_schema())


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    """JSON Pointer-like paths where ``old`` and ``new`` differ (lists compared whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            found
            for key in sorted({*old, *new})
            for found in (
                [f"{path}/{key}"]
                if key not in old or key not in new
                else _differences(old[key], new[key], f"{path}/{key}")
            )
        ]
    return [] if old == new else [path]


def test_the_union_schema_is_changed_only_where_pydantic_is_not_standard() -> None:
    generated = TypeAdapter(StreamEvent).json_schema()
    assert _differences(generated, json_schemas()["StreamEvent"]) == [
        "/$defs/StreamEventDelta/required",
        "/$defs/StreamEventEnd/required",
        "/$defs/StreamEventStart/required",
        "/description",
        "/discriminator",
    ]


def _keywords(schema: Any) -> set[str]:
    """Every keyword used in a schema (names under properties and $defs are not keywords)."""
    found: set[str] = set()
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            found.update(node)
            for key, value in node.items():
                if key in ("properties", "$defs") and isinstance(value, dict):
                    pending.extend(value.values())
                elif key not in ("const", "default", "enum", "examples"):
                    pending.append(value)
    return found


JSON_SCHEMA_2020_12_KEYWORDS = {
    *("$schema", "$id", "$ref", "$defs", "$comment", "$anchor", "$dynamicRef", "$dynamicAnchor"),
    *("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"),
    *("prefixItems", "items", "contains", "properties", "patternProperties"),
    *("additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties"),
    *("type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
    *("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
    *("uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties"),
    *("required", "dependentRequired", "format", "contentEncoding", "contentMediaType"),
    *("contentSchema", "title", "description", "default", "deprecated", "readOnly", "writeOnly"),
    "examples",
}
"""The keywords of JSON Schema 2020-12's standard vocabularies (core to meta-data)."""


@pytest.mark.parametrize("name", [*MESSAGE_TYPES, "StreamEvent"])
def test_schema_uses_only_standard_keywords(name: str) -> None:
    assert _keywords(bundled_schema(name)) <= JSON_SCHEMA_2020_12_KEYWORDS


@pytest.mark.parametrize("name", [*MESSAGE_TYPES, "StreamEvent"])
def test_every_schema_has_a_description(name: str) -> None:
    assert bundled_schema(name)["description"].strip()


def test_union_description_names_each_tag() -> None:
    description = bundled_schema("StreamEvent")["description"]
    assert '"start" for StreamEventStart' in description
    assert '"delta" for StreamEventDelta' in description
    assert '"end" for StreamEventEnd' in description


def test_union_members_require_their_tag_where_the_types_alone_do_not() -> None:
    union = bundled_schema("StreamEvent")
    for name in ("StreamEventStart", "StreamEventDelta", "StreamEventEnd"):
        assert union["$defs"][name]["required"][0] == "event"
        assert "event" not in bundled_schema(name)["required"]  # the type alone defaults it


def test_a_union_member_used_outside_its_union_is_refused() -> None:
    member = {"properties": {"kind": {"const": "a"}}, "type": "object"}
    schema: dict[str, Any] = {
        "$defs": {"A": member},
        "properties": {
            "one": {
                "discriminator": {"mapping": {"a": "#/$defs/A"}, "propertyName": "kind"},
                "oneOf": [{"$ref": "#/$defs/A"}],
            },
            "two": {"$ref": "#/$defs/A"},
        },
    }
    with pytest.raises(ValueError, match="A is used outside its tagged union"):
        standard_json_schema(schema)
    del schema["properties"]["two"]
    standard = standard_json_schema(schema)
    assert standard["$defs"]["A"]["required"] == ["kind"]
    assert "discriminator" not in standard["properties"]["one"]
    assert "discriminator" in schema["properties"]["one"]  # the input is left as it was


def test_bundle_files_are_deterministic() -> None:
    first, second = bundle_files(), bundle_files()
    assert first == second
    for name, text in first.items():
        assert text.endswith("}\n"), name
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


def test_index_names_types_and_versions() -> None:
    index = json.loads(bundle_files()["index.json"])
    assert index["types"] == [*MESSAGE_TYPES, "StreamEvent"]
    assert index["contract_version"] == "0.1"
    assert index["package_version"] == __version__
    assert index["json_schema_dialect"] == "https://json-schema.org/draft/2020-12/schema"


def test_committed_bundle_matches_the_models() -> None:
    assert check_bundle(BUNDLE) == []


def test_check_detects_a_changed_file(tmp_path: Path) -> None:
    write_bundle(tmp_path)
    assert check_bundle(tmp_path) == []
    request = tmp_path / "Request.json"
    request.write_text(request.read_text().replace("Input text; may be empty.", "Prompt."))
    assert check_bundle(tmp_path) == [
        "Request.json: differs from the models (regenerate the bundle)"
    ]


def test_check_under_another_pydantic_compares_meaning(tmp_path: Path) -> None:
    write_bundle(tmp_path)
    index = tmp_path / "index.json"
    index.write_text(
        index.read_text().replace(
            '"generated_by": "pydantic', '"generated_by": "pydantic 0.0.0 was'
        )
    )
    request = tmp_path / "Request.json"
    request.write_text(request.read_text().replace("Input text; may be empty.", "Prompt."))
    assert check_bundle(tmp_path) == []  # a description is documentation, not contract
    schema = json.loads(request.read_text())
    schema["properties"]["max_tokens"]["exclusiveMinimum"] = 1
    request.write_text(json.dumps(schema))
    (problem,) = check_bundle(tmp_path)  # read from the bundle's side: the models widen it
    assert problem.startswith(
        "Request.json: WARNING  Request.max_tokens: bound widened (> 1 -> > 0)"
    )


def test_check_detects_missing_and_extra_files(tmp_path: Path) -> None:
    write_bundle(tmp_path)
    (tmp_path / "Metrics.json").unlink()
    (tmp_path / "Stale.json").write_text("{}")
    assert check_bundle(tmp_path) == ["Metrics.json: missing", "Stale.json: not part of the bundle"]


def test_bundle_ships_in_the_package() -> None:
    assert bundled_schema("Request")["title"] == "Request"
    assert bundled_schema("index")["types"] == [*MESSAGE_TYPES, "StreamEvent"]


def test_field_docstrings_become_descriptions() -> None:
    properties = bundled_schema("Request")["properties"]
    assert (
        properties["max_tokens"]["description"] == "Most output tokens to generate, in tokens; > 0."
    )


def test_cli_writes_and_checks_a_bundle(tmp_path: Path) -> None:
    result = run_cli("schema", "--out", str(tmp_path / "bundle"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == sorted(bundle_files())
    assert run_cli("schema", "--check", str(tmp_path / "bundle")).returncode == 0
    (tmp_path / "bundle" / "Error.json").write_text("{}")
    result = run_cli("schema", "--check", str(tmp_path / "bundle"))
    assert result.returncode == 1
    assert "Error.json" in result.stdout


def test_cli_check_of_a_missing_directory(tmp_path: Path) -> None:
    result = run_cli("schema", "--check", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "no such directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "sagellm-protocol"
    result = subprocess.run([str(script), "version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"sagellm-protocol {__version__} (protocol {PROTOCOL_VERSION})"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(directory), str(ROOT)],
        check=True,
    )
    (built,) = directory.glob("*.whl")
    return built


def test_wheel_ships_the_bundle_vectors_and_releases(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in bundle_files():
        assert f"sagellm_protocol/schemas/{BUNDLE_VERSION}/{file}" in names
    assert f"sagellm_protocol/schemas/{BUNDLE_VERSION}/vectors/Request.json" in names
    assert "sagellm_protocol/schemas/releases/0.1.0/Request.json" in names


# --- the schemas and the models agree -----------------------------------------------------------


@functools.cache
def _validator(name: str) -> Any:
    """A JSON Schema validator of the bundle's schema (jsonschema is a test dependency; the
    tests that compare with it are skipped without it)."""
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft202012Validator(json_schemas()[name])


def _schema_accepts(name: str, data: Any) -> bool:
    return bool(_validator(name).is_valid(data))


def _model_accepts(model: type[BaseModel], data: Any) -> bool:
    try:
        model.model_validate_json(json.dumps(data))
    except ValidationError:
        return False
    return True


def _bounds(info: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def collect(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, FieldInfo):
                collect(list(item.metadata))
            for key in ("gt", "ge", "lt", "le", "min_length", "max_length"):
                if getattr(item, key, None) is not None:
                    found[key] = getattr(item, key)

    collect(list(info.metadata))
    annotation: Any = info.annotation
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Annotated:
            collect(list(typing.get_args(arg)[1:]))
    return found


def _base_kind(annotation: Any) -> str | None:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_kind(args[0])
    if origin is not None and origin not in (list, dict):
        return _base_kind(args[0]) if len(args) == 1 else None
    if origin is list:
        return "list"
    if not isinstance(annotation, type) or issubclass(annotation, Enum):
        return None
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(annotation)


def mutations(
    model: type[BaseModel], data: dict[str, Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(description, exception kind or "", input) for inputs the model must reject."""
    found: list[tuple[str, str, dict[str, Any]]] = [
        ("unknown field", "", {**data, "zz_unknown": 1})
    ]
    for field, info in model.model_fields.items():
        if info.is_required():
            found.append((f"{field} missing", "", {k: v for k, v in data.items() if k != field}))
        kind = _base_kind(info.annotation)
        wrong_by_kind: dict[str, list[tuple[Any, str]]] = {
            "int": [(True, ""), ("1", ""), (8.0, "integer_as_float"), (1.5, "")],
            "float": [(True, ""), ("0.5", "")],
            "str": [(1, ""), (False, "")],
            "bool": [(1, ""), ("true", "")],
            "list": [("x", ""), ({}, "")],
        }
        wrong = wrong_by_kind.get(kind or "", [])
        found += [
            (f"{field} = {value!r}", exception, {**data, field: value})
            for value, exception in wrong
        ]
        bounds = _bounds(info)
        if kind in ("int", "float"):
            step = 1 if kind == "int" else 0.0
            for key, value in bounds.items():
                if key in ("gt", "lt"):
                    found.append((f"{field} = {key} bound", "", {**data, field: value}))
                elif key == "ge":
                    below = value - 1 if step else math.nextafter(float(value), -math.inf)
                    found.append((f"{field} below ge", "", {**data, field: below}))
                elif key == "le":
                    above = value + 1 if step else math.nextafter(float(value), math.inf)
                    found.append((f"{field} above le", "", {**data, field: above}))
        if kind == "str" and "max_length" in bounds:
            found.append(
                (f"{field} too long", "", {**data, field: "x" * (bounds["max_length"] + 1)})
            )
        if kind == "str" and bounds.get("min_length"):
            found.append((f"{field} empty", "", {**data, field: ""}))
    return found


def test_exceptions_are_real_and_stated() -> None:
    request = json.loads(
        encode(MESSAGE_TYPES["Request"].model_validate(example_data(MESSAGE_TYPES["Request"])))
    )
    as_float = {**request, "max_tokens": 8.0}
    assert _schema_accepts("Request", as_float)
    assert not _model_accepts(MESSAGE_TYPES["Request"], as_float)
    deep: Any = "leaf"
    for _ in range(33):
        deep = {"k": deep}
    too_deep = {**request, "metadata": deep}
    assert _schema_accepts("Request", too_deep)
    assert not _model_accepts(MESSAGE_TYPES["Request"], too_deep)
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 3}
    assert _schema_accepts("ChatCompletionUsage", usage)
    assert not _model_accepts(MESSAGE_TYPES["ChatCompletionUsage"], usage)
    # ... and each is stated in the schema's description.
    schemas = json_schemas()
    assert all(INTEGER_RULE in schema["description"] for schema in schemas.values())
    assert "32 levels" in schemas["Request"]["properties"]["metadata"]["description"]
    for name in ("Response", "StreamEventEnd", "Metrics", "Timestamps", "ChatCompletionUsage"):
        assert "Rule:" in schemas[name]["description"], name


AGREEMENT_EXAMPLES = 80  # per type: 28 types x 80 = 2,240 valid messages and as many invalid ones


@pytest.mark.parametrize("name", list(MESSAGE_TYPES))
@settings(max_examples=AGREEMENT_EXAMPLES, deadline=None)
@given(data=st.data())
def test_schema_and_model_agree(name: str, data: st.DataObject) -> None:
    model = MESSAGE_TYPES[name]
    message = json.loads(encode(data.draw(strategy_for(model))))
    assert _model_accepts(model, message)
    assert _schema_accepts(name, message)
    description, exception, invalid = data.draw(st.sampled_from(mutations(model, message)))
    assert not _model_accepts(model, invalid), description
    if exception:
        assert exception in SCHEMA_GAPS
        assert _schema_accepts(name, invalid), description
    else:
        assert not _schema_accepts(name, invalid), description


@given(
    st.sampled_from(["StreamEventStart", "StreamEventDelta", "StreamEventEnd"]).flatmap(
        lambda name: strategy_for(MESSAGE_TYPES[name])
    )
)
def test_stream_event_union_schema_agrees(event: BaseModel) -> None:
    data = json.loads(encode(event))
    assert _schema_accepts("StreamEvent", data)
    assert not _schema_accepts("StreamEvent", {**data, "event": "other"})
    assert not _schema_accepts("StreamEvent", {k: v for k, v in data.items() if k != "event"})
