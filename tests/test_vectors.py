"""The golden test vectors: committed, current, and enforced by the package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagellm_protocol import ProtocolError, StreamEvent, decode
from sagellm_protocol.registry import MESSAGE_TYPES

from .rules_table import RULES
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
