#!/usr/bin/env python3
"""Generate the golden test vectors: accepted and rejected JSON inputs for every message type.

Written to ``src/sagellm_protocol/schemas/v0.1/vectors/<TypeName>.json`` (``--out DIR`` for
another place). Each file holds::

    {"type": "Request", "contract_version": "0.1",
     "accepted": [{"description": ..., "message": {...}}],
     "rejected": [{"description": ..., "message": {...} | "json_text": "...",
                   "errors": [{"code": "invalid_argument", "param": "max_tokens"}]}]}

A rejected vector lists every error the input must produce, in order. ``json_text`` holds
inputs that a JSON document cannot (``NaN`` and ``Infinity`` literals). Sources: one vector per
case of the rule table (``tests/rules_table.py``, every rule of the contract on both sides of
its boundary) that JSON can carry, and the general rules for every field (no coercion, finite
floats, unknown fields rejected, required fields present), plus the metadata depth limit.

Run from the repository root as a module, so that it can import the rule table from the tests:
``python -m scripts.gen_vectors`` (part of ``make schema``).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tests.rules_table import RULES

from sagellm_protocol import PROTOCOL_VERSION, ProtocolError, StreamEvent, decode, encode
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.schema import dumps
from sagellm_protocol.testing import example, example_data

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_OUT = ROOT / "src" / "sagellm_protocol" / "schemas" / f"v{PROTOCOL_VERSION}" / "vectors"

# JSON values of the wrong type for a field of each kind (★ no lossy or surprising coercion).
_WRONG_JSON: dict[str, list[tuple[Any, str]]] = {
    "integer": [
        (True, "a boolean"),
        ("1", "a string"),
        (8.0, "a float with zero fraction"),
        (1.5, "a float"),
    ],
    "number": [(True, "a boolean"), ("1.5", "a string")],
    "string": [(1, "a number"), (True, "a boolean"), (["x"], "an array")],
    "boolean": [(1, "a number"), ("true", "a string"), ("yes", "a string")],
    "array": [("x", "a string"), ({"a": 1}, "an object")],
    "object": [("x", "a string"), ([1], "an array")],
}


def _kind(annotation: Any) -> str | None:
    """The JSON kind of a field whose every accepted value has one kind, else None."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _kind(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return _kind(args[0]) if len(args) == 1 else None
    if origin is list:
        return "array"
    if origin is dict:
        return "object"
    if origin is typing.Literal or not isinstance(annotation, type):
        return None
    if issubclass(annotation, Enum):
        return None
    if issubclass(annotation, BaseModel):
        return "object"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(annotation)


def _errors(message_type: Any, data: Any) -> list[dict[str, Any]] | None:
    """The errors ``decode`` gives for ``data`` (None when it is accepted)."""
    try:
        decode(message_type, data)
    except ProtocolError as exc:
        return [{"code": error.code.value, "param": error.param} for error in exc.errors]
    return None


def _json_form(data: dict[str, Any]) -> tuple[str, Any]:
    """("message", data) when JSON can hold ``data`` exactly, else ("json_text", text)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=True)
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return "json_text", text
    return ("message", data) if json.loads(text) == data else ("", None)


def _rule_cases(name: str) -> Iterator[tuple[bool, str, dict[str, Any]]]:
    for rule in RULES:
        if rule.model.__name__ != name:
            continue
        label = f"{', '.join(rule.fields)}: {rule.text}"
        for case in rule.accepted:
            yield (
                True,
                f"{label} ({_show(case.overrides)})",
                {**example_data(rule.model), **case.overrides},
            )
        for case in rule.rejected:
            yield (
                False,
                f"{label} ({_show(case.overrides)})",
                {**example_data(rule.model), **case.overrides},
            )


def _show(overrides: dict[str, Any]) -> str:
    parts = []
    for key, value in overrides.items():
        shown = json.dumps(value, ensure_ascii=False, allow_nan=True, default=repr)
        parts.append(f"{key}={shown if len(shown) <= 40 else shown[:37] + '...'}")
    return ", ".join(parts)


def _general_cases(model: type[BaseModel]) -> Iterator[tuple[bool, str, dict[str, Any] | str]]:
    base = json.loads(encode(example(model)))
    yield True, "the example message", base
    yield False, "unknown fields are rejected", {**base, "not_a_field": 1}
    for field, info in model.model_fields.items():
        if info.is_required():
            yield False, f"{field}: is required", {k: v for k, v in base.items() if k != field}
        kind = _kind(info.annotation)
        for value, what in _WRONG_JSON.get(kind or "", []):
            yield (
                False,
                f"{field}: {what} ({json.dumps(value)}) is not accepted",
                {**base, field: value},
            )
        if kind == "number":
            text = json.dumps({**base, field: 0.5})
            marker = json.dumps(field) + ": 0.5"
            for literal in ("NaN", "Infinity", "-Infinity"):
                yield (
                    False,
                    f"{field}: {literal} is not accepted",
                    text.replace(marker, f'"{field}": {literal}'),
                )


def _nested(depth: int) -> dict[str, Any]:
    inner: Any = "leaf"
    for _ in range(depth - 1):
        inner = {"k": inner}
    return {"k": inner}


def build_vectors() -> dict[str, dict[str, Any]]:
    """Every vector file's content by type name."""
    files: dict[str, dict[str, Any]] = {}
    for name, model in MESSAGE_TYPES.items():
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        cases: list[tuple[bool, str, Any]] = [*_general_cases(model), *_rule_cases(name)]
        if name == "Request":
            base = json.loads(encode(example(model)))
            cases.append(
                (True, "metadata: nesting depth 32 is accepted", {**base, "metadata": _nested(32)})
            )
            cases.append(
                (False, "metadata: nesting depth 33 is rejected", {**base, "metadata": _nested(33)})
            )
        for accept, description, data in cases:
            key, value = ("json_text", data) if isinstance(data, str) else _json_form(data)
            if not key:
                continue  # a Python-only value (a tuple, a non-string key) that JSON cannot carry
            errors = _errors(model, value)
            if accept != (errors is None):
                continue  # the case's verdict relies on Python-only input; not a wire vector
            entry = {"description": description, key: value}
            if accept:
                accepted.append(entry)
            else:
                rejected.append({**entry, "errors": errors})
        files[name] = {
            "type": name,
            "contract_version": PROTOCOL_VERSION,
            "accepted": accepted,
            "rejected": rejected,
        }
    files["StreamEvent"] = _stream_event_vectors()
    return files


def _stream_event_vectors() -> dict[str, Any]:
    accepted = []
    for name in ("StreamEventStart", "StreamEventDelta", "StreamEventEnd"):
        message = json.loads(encode(example(MESSAGE_TYPES[name])))
        accepted.append({"description": f"a {message['event']} event", "message": message})
    delta = json.loads(encode(example(MESSAGE_TYPES["StreamEventDelta"])))
    rejected_cases = [
        ("event: an unknown tag", {**delta, "event": "finish"}),
        ("event: the tag is required", {k: v for k, v in delta.items() if k != "event"}),
        ("event: the tag must be a string", {**delta, "event": 1}),
        ("a delta with the fields of a start event", {**delta, "event": "start"}),
    ]
    rejected = [
        {"description": description, "message": data, "errors": _errors(StreamEvent, data)}
        for description, data in rejected_cases
    ]
    return {
        "type": "StreamEvent",
        "contract_version": PROTOCOL_VERSION,
        "accepted": accepted,
        "rejected": rejected,
    }


def vector_files() -> dict[str, str]:
    """The text of every vector file by file name."""
    return {f"{name}.json": dumps(content) for name, content in build_vectors().items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory to write (default: the bundle's)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    files = vector_files()
    for stale in args.out.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    count = sum(len(v["accepted"]) + len(v["rejected"]) for v in build_vectors().values())
    print(f"wrote {len(files)} vector files ({count} vectors) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
