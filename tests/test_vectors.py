"""The golden test vectors: committed, current, and enforced by the package."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sagellm_protocol import ProtocolError, Request, StreamEvent, decode
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.schema import SCHEMA_GAPS, bundled_schema

from .rules_table import RULES, Case, Rule
from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "src" / "sagellm_protocol" / "schemas" / "v0.1" / "vectors"


def _load() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(VECTORS.glob("*.json"))
    }


FILES = _load()


def test_there_is_a_vector_file_per_type() -> None:
    assert set(FILES) == {*MESSAGE_TYPES, "StreamEvent"}
    for name, content in FILES.items():
        assert content["type"] == name
        assert content["contract_version"] == "0.1"
        assert content["accepted"], name
        assert content["rejected"], name


def test_committed_vectors_are_current() -> None:
    expected = load_script("gen_vectors").vector_files()
    actual = {path.name: path.read_text(encoding="utf-8") for path in VECTORS.glob("*.json")}
    assert actual == expected, "regenerate with: make schema"


def _type(name: str) -> Any:
    return StreamEvent if name == "StreamEvent" else MESSAGE_TYPES[name]


def _input(vector: dict[str, Any]) -> Any:
    return vector["json_text"] if "json_text" in vector else json.dumps(vector["message"])


ACCEPTED = [(name, v) for name, content in FILES.items() for v in content["accepted"]]
REJECTED = [(name, v) for name, content in FILES.items() for v in content["rejected"]]


@pytest.mark.parametrize(
    ("name", "vector"), ACCEPTED, ids=[f"{n}:{v['description']}"[:90] for n, v in ACCEPTED]
)
def test_accepted_vector(name: str, vector: dict[str, Any]) -> None:
    decode(_type(name), _input(vector))


@pytest.mark.parametrize(
    ("name", "vector"), REJECTED, ids=[f"{n}:{v['description']}"[:90] for n, v in REJECTED]
)
def test_rejected_vector(name: str, vector: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(_type(name), _input(vector))
    found = [{"code": error.code.value, "param": error.param} for error in caught.value.errors]
    assert found == vector["errors"]


def test_every_rule_has_vectors_on_both_sides() -> None:
    for rule in RULES:
        label = f"{', '.join(rule.fields)}: {rule.text}"
        vectors = FILES[rule.model.__name__]
        assert any(v["description"].startswith(label) for v in vectors["accepted"]), label
        if rule.rejected:
            assert any(v["description"].startswith(label) for v in vectors["rejected"]), label


@pytest.mark.parametrize("name", list(MESSAGE_TYPES))
def test_general_rules_have_vectors(name: str) -> None:
    descriptions = [v["description"] for v in FILES[name]["rejected"]]
    assert "unknown fields are rejected" in descriptions
    model = MESSAGE_TYPES[name]
    for field, info in model.model_fields.items():
        if info.is_required():
            assert f"{field}: is required" in descriptions, field


def test_every_star_rule_has_a_rejected_vector() -> None:
    rejected = {v["description"] for content in FILES.values() for v in content["rejected"]}

    def has(fragment: str) -> bool:
        return any(fragment in description for description in rejected)

    assert has("unknown fields are rejected")
    assert has("max_tokens: a boolean (true) is not accepted")
    assert has('max_tokens: a string ("1") is not accepted')
    assert has("max_tokens: a float with zero fraction (8.0) is not accepted")
    assert has('stream: a string ("yes") is not accepted')
    assert has("prompt: a number (1) is not accepted")
    assert has("temperature: NaN is not accepted")
    assert has("ttft_ms: Infinity is not accepted")
    assert has("identifier: 1 to 256 characters")
    assert has("token ids: integers >= 0")
    assert has("finish_reason is 'error' if and only if error is given")
    assert has("queued_at <= scheduled_at <= executed_at <= completed_at")
    handle = [v["description"] for v in FILES["KVHandle"]["rejected"]]
    assert any(description.startswith("num_tokens: integer > 0") for description in handle)
    assert has("total_tokens == prompt_tokens + completion_tokens")
    assert has("n: integer in [1, 128]")
    assert has("messages: non-empty")
    assert has("metadata: nesting depth 33 is rejected")
    assert has("metadata: JSON values only")


# --- what a JSON Schema validator can say about each vector -----------------------------------


def test_every_rejected_vector_says_whether_the_schema_states_its_rule() -> None:
    for name, vector in REJECTED:
        where = f"{name}: {vector['description']}"
        assert isinstance(vector["schema_states_rule"], bool), where
        if vector["schema_states_rule"]:
            assert "schema_gap" not in vector, where
        else:
            assert vector["schema_gap"] in SCHEMA_GAPS, where


def test_every_kind_of_schema_gap_has_a_vector() -> None:
    found = {vector.get("schema_gap") for _, vector in REJECTED}
    assert set(SCHEMA_GAPS) <= found


def _refuse(literal: str) -> Any:
    raise ValueError(f"{literal} is not JSON")


def _schema_verdict(name: str, vector: dict[str, Any]) -> str:
    """What a JSON Schema validator makes of a vector: "not JSON", "refused" or "accepted"."""
    if "json_text" in vector:
        try:
            value = json.loads(vector["json_text"], parse_constant=_refuse)
        except ValueError:
            return "not JSON"
    else:
        value = vector["message"]
    validator = jsonschema.Draft202012Validator(bundled_schema(name))
    return "accepted" if validator.is_valid(value) else "refused"


def _expected_verdict(vector: dict[str, Any]) -> str:
    if "errors" not in vector:
        return "accepted"
    if vector["schema_states_rule"]:
        return "refused"
    return "not JSON" if vector["schema_gap"] == "not_json" else "accepted"


@pytest.mark.parametrize("name", list(FILES))
def test_a_schema_validator_agrees_with_every_vector(name: str) -> None:
    """The same check as tests/xlang (Ajv), with Python's jsonschema."""
    content = FILES[name]
    disagreements = [
        f"{vector['description']}: expected {expected}, the schema validator: {found}"
        for vector in [*content["accepted"], *content["rejected"]]
        for expected, found in [(_expected_verdict(vector), _schema_verdict(name, vector))]
        if expected != found
    ]
    assert disagreements == []


# --- inputs whose meaning is in the JSON text --------------------------------------------------

LARGEST_EXACT_DOUBLE = 2**53


def _integers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _integers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _integers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def test_inputs_that_json_parsers_read_differently_are_text() -> None:
    for name, vector in [*ACCEPTED, *REJECTED]:
        where = f"{name}: {vector['description']}"
        if vector.get("schema_gap") in ("not_json", "integer_as_float", "unpaired_surrogate"):
            assert "json_text" in vector, where
        if "message" in vector:
            assert all(abs(n) <= LARGEST_EXACT_DOUBLE for n in _integers(vector["message"])), where


def test_integers_beyond_a_double_and_a_64_bit_integer_are_text() -> None:
    usage = [v["json_text"] for v in FILES["ChatCompletionUsage"]["rejected"] if "json_text" in v]
    assert any(str(2**64) in text for text in usage)
    accepted = [v for v in FILES["ChatCompletionUsage"]["accepted"] if "json_text" in v]
    assert [json.loads(v["json_text"])["total_tokens"] for v in accepted] == [2**53 + 1]


def test_duplicate_keys_are_read_last_value_wins() -> None:
    texts = {
        v["description"]: v
        for content in FILES.values()
        for v in [*content["accepted"], *content["rejected"]]
    }
    accepted = texts["duplicate keys: the last value counts (max_tokens 0, then 8)"]
    assert accepted["json_text"].count('"max_tokens"') == 2
    assert "errors" not in accepted
    rejected = texts["duplicate keys: the last value counts (max_tokens 8, then 0)"]
    assert rejected["errors"] == [{"code": "invalid_argument", "param": "max_tokens"}]
    assert rejected["schema_states_rule"]  # a parser that keeps the last value sees max_tokens 0


def test_an_unpaired_surrogate_escape_is_refused() -> None:
    (vector,) = [
        v for v in FILES["Request"]["rejected"] if v.get("schema_gap") == "unpaired_surrogate"
    ]
    assert "\\ud800" in vector["json_text"]
    assert json.loads(vector["json_text"])["request_id"] == "\ud800"  # Python's parser accepts it
    with pytest.raises(ProtocolError):
        decode(Request, vector["json_text"])


# --- identifier lengths are code points --------------------------------------------------------


def _identifier_values(vectors: list[dict[str, Any]]) -> list[str]:
    return [
        value
        for v in vectors
        if "identifier: 1 to 256 characters" in v["description"] and "message" in v
        for value in v["message"].values()
        if isinstance(value, str) and len(value) >= 256
    ]


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(("side", "length"), [("accepted", 256), ("rejected", 257)])
def test_identifier_vectors_hold_astral_and_combining_characters(side: str, length: int) -> None:
    for name, rule in {
        r.model.__name__: r for r in RULES if r.text.startswith("identifier")
    }.items():
        values = [v for v in _identifier_values(FILES[name][side]) if len(v) == length]
        assert any(_utf16_length(v) > len(v) for v in values), name  # beyond the BMP
        assert any("\u0301" in v for v in values), name  # combining marks
        assert any(len(v.encode()) > len(v) and _utf16_length(v) == len(v) for v in values), (
            rule.row
        )


# --- the generator refuses a case its source contradicts ---------------------------------------


def _generator_with(monkeypatch: pytest.MonkeyPatch, rule: Rule) -> Any:
    generator = load_script("gen_vectors")
    monkeypatch.setattr(generator, "RULES", (rule,))
    return generator


def test_generator_fails_on_a_case_whose_verdict_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = Rule(Request, ("max_tokens",), "integer > 0", accepted=(Case({"max_tokens": 0}),))
    generator = _generator_with(monkeypatch, wrong)
    with pytest.raises(generator.VectorError) as caught:
        generator.build_vectors()
    assert str(caught.value) == (
        "Request: max_tokens: integer > 0 (max_tokens=0): should be accepted, "
        "but decode refuses it (params ['max_tokens'])"
    )


def test_generator_fails_on_a_case_whose_param_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = Rule(
        Request, ("max_tokens",), "integer > 0", rejected=(Case({"max_tokens": 0}, "top_p"),)
    )
    generator = _generator_with(monkeypatch, wrong)
    with pytest.raises(
        generator.VectorError, match="should fail at \\['top_p'\\], but decode reports"
    ):
        generator.build_vectors()


def test_generator_exits_1_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = Rule(
        Request, ("max_tokens",), "integer > 0", rejected=(Case({"max_tokens": 8}, "max_tokens"),)
    )
    generator = _generator_with(monkeypatch, wrong)
    monkeypatch.setattr(sys, "argv", ["gen_vectors.py", "--out", str(tmp_path / "out")])
    assert generator.main() == 1
    assert (
        "Request: max_tokens: integer > 0 (max_tokens=8): should be rejected"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()
