#!/usr/bin/env python3
"""Generate the golden test vectors: accepted and rejected JSON inputs for every message type.

Written to ``src/sagellm_protocol/schemas/v0.1/vectors/<TypeName>.json`` (``--out DIR`` for
another place). Each file holds::

    {"type": "Request", "contract_version": "0.1",
     "accepted": [{"description": ..., "message": {...} | "json_text": "..."}],
     "rejected": [{"description": ..., "message": {...} | "json_text": "...",
                   "errors": [{"code": "invalid_argument", "param": "max_tokens"}],
                   "schema_states_rule": true | false, "schema_gap": "cross_field"}]}

The input of a vector is ``message``, a JSON value, when every JSON parser reads it alike, and
otherwise ``json_text``, the JSON text itself: when it holds ``NaN`` or ``Infinity`` literals,
an integer beyond 2**53 (a double cannot hold it), a key given twice or an escape that matters,
or when a parser that reads every number as a double (JavaScript's ``JSON.parse``) would read a
message with other errors or another kind of rule (``8.0`` where an integer is expected reads
as ``8``).

A rejected vector lists every error the input must produce, in order, and says whether a JSON
Schema validator given the bundle refuses it (``schema_states_rule``); when it cannot,
``schema_gap`` names the kind of rule (``sagellm_protocol.schema.SCHEMA_GAPS``). The kind comes
from what the models refuse: a rule across fields (an error of type ``rule_*``), an integer
written as a float, the metadata depth, text that is not JSON or not Unicode.

Sources: one vector per case of the rule table (``tests/rules_table.py``, every rule of the
contract on both sides of its boundary) that JSON can carry, the general rules for every field (no
coercion, finite floats, unknown fields rejected, required fields present), the metadata depth
limit, and inputs whose meaning is in their text (duplicate keys, escapes). Every vector is
decoded here: when the verdict differs from what its source says (or, for a rule table case,
the error's ``param``), the script names each such case and exits with status 1.

Run from the repository root as a module, so that it can import the rule table from the tests:
``python -m scripts.gen_vectors`` (part of ``make schema``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import types
import typing
from collections.abc import Iterator
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from pydantic import BaseModel, TypeAdapter, ValidationError
from tests.rules_table import RULES

from sagellm_protocol import PROTOCOL_VERSION, ProtocolError, StreamEvent, decode, encode
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.schema import SCHEMA_GAPS, STREAM_EVENT_SCHEMA, dumps
from sagellm_protocol.testing import example, example_data

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_OUT = ROOT / "src" / "sagellm_protocol" / "schemas" / f"v{PROTOCOL_VERSION}" / "vectors"

LARGEST_EXACT_DOUBLE = 2**53
"""Integers beyond this (in magnitude) are not all exact as a double: such inputs are text."""

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


class VectorError(Exception):
    """A case whose verdict differs from what its source says: the vectors are not written."""


class _Case(NamedTuple):
    """One input and what its source says about it."""

    accept: bool
    description: str
    data: Any = None
    """The input as a Python value, written as JSON (unless ``text`` is given)."""
    text: str | None = None
    """The input as JSON text, for inputs whose meaning is in the text."""
    params: tuple[str | None, ...] | None = None
    """For a rejected case, the ``param`` of each error it must produce (None: not checked)."""


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


def _errors(message_type: Any, text: str) -> list[dict[str, Any]] | None:
    """The errors ``decode`` gives for ``text`` (None when it is accepted)."""
    try:
        decode(message_type, text)
    except ProtocolError as exc:
        return [{"code": error.code.value, "param": error.param} for error in exc.errors]
    return None


# --- the input: a JSON value, or the text itself --------------------------------------------


def _read_as_doubles(value: Any) -> Any:
    """``value`` as a parser that reads every number as a double reads it (``JSON.parse``):
    an integral number comes back as an integer, any other rounded to a double."""
    if isinstance(value, dict):
        return {key: _read_as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_read_as_doubles(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value


def _numbers(value: Any) -> Iterator[int | float]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def _json_form(message_type: Any, data: Any) -> tuple[str, Any] | None:
    """("message", data) when every JSON parser reads ``data`` alike, ("json_text", text) when
    only its text says what it is, None when JSON cannot carry it (a Python-only value)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=True)
    numbers = list(_numbers(data))
    if any(isinstance(n, float) and not math.isfinite(n) for n in numbers):
        return "json_text", text
    if json.loads(text) != data:
        return None  # a tuple, a key that is not a string: JSON has no such value
    if any(isinstance(n, int) and abs(n) > LARGEST_EXACT_DOUBLE for n in numbers):
        return "json_text", text
    as_doubles = json.dumps(_read_as_doubles(data), ensure_ascii=False)
    if _meaning(message_type, as_doubles) != _meaning(message_type, text):
        return "json_text", text
    return "message", data


def _meaning(message_type: Any, text: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """What a vector says of ``text``: the errors, and the kind of rule a schema cannot state."""
    errors = _errors(message_type, text)
    return errors, None if errors is None else _schema_gap(message_type, text)


# --- what a JSON Schema validator cannot refuse ----------------------------------------------


def _refuse_constant(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not JSON")


def _has_unpaired_surrogate(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unpaired_surrogate(v) for v in (*value, *value.values()))
    if isinstance(value, list):
        return any(_has_unpaired_surrogate(item) for item in value)
    return isinstance(value, str) and any("\ud800" <= char <= "\udfff" for char in value)


@cache
def _adapter(message_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(message_type)


def _schema_gap(message_type: Any, text: str) -> str | None:
    """The kind of rule (``SCHEMA_GAPS``) by which the models refuse ``text`` and a JSON Schema
    validator cannot; None when some error the models report is one a schema states."""
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return "not_json"
    try:
        _adapter(message_type).validate_json(text)
    except ValidationError as exc:
        gaps = {_gap(error, parsed) for error in exc.errors()}
    else:
        raise VectorError(f"pydantic accepts what decode refuses: {text[:80]}")
    return None if None in gaps else min(gaps, key=str)


def _gap(error: Any, parsed: Any) -> str | None:
    kind = error["type"]
    if kind.startswith("rule_"):  # the model validators: the rules across fields
        return "cross_field"
    value = error.get("input")
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return "integer_as_float"
    if kind == "metadata_too_deep":
        return "metadata_depth"
    if kind == "json_invalid" and _has_unpaired_surrogate(parsed):
        return "unpaired_surrogate"
    return None


# --- the cases ------------------------------------------------------------------------------


def _show(overrides: dict[str, Any]) -> str:
    parts = []
    for key, value in overrides.items():
        shown = json.dumps(value, ensure_ascii=False, allow_nan=True, default=repr)
        parts.append(f"{key}={shown if len(shown) <= 40 else shown[:37] + '...'}")
    return ", ".join(parts)


def _rule_cases(name: str) -> Iterator[_Case]:
    for rule in RULES:
        if rule.model.__name__ != name:
            continue
        label = f"{', '.join(rule.fields)}: {rule.text}"
        for case in rule.accepted:
            data = {**example_data(rule.model), **case.overrides}
            yield _Case(True, f"{label} ({_show(case.overrides)})", data)
        for case in rule.rejected:
            data = {**example_data(rule.model), **case.overrides}
            yield _Case(False, f"{label} ({_show(case.overrides)})", data, params=(case.param,))


def _general_cases(model: type[BaseModel]) -> Iterator[_Case]:
    base = json.loads(encode(example(model)))
    yield _Case(True, "the example message", base)
    yield _Case(False, "unknown fields are rejected", {**base, "not_a_field": 1})
    for field, info in model.model_fields.items():
        if info.is_required():
            missing = {k: v for k, v in base.items() if k != field}
            yield _Case(False, f"{field}: is required", missing)
        kind = _kind(info.annotation)
        for value, what in _WRONG_JSON.get(kind or "", []):
            description = f"{field}: {what} ({json.dumps(value)}) is not accepted"
            yield _Case(False, description, {**base, field: value})
        if kind == "number":
            text = json.dumps({**base, field: 0.5})
            marker = json.dumps(field) + ": 0.5"
            for literal in ("NaN", "Infinity", "-Infinity"):
                replaced = text.replace(marker, f'"{field}": {literal}')
                yield _Case(False, f"{field}: {literal} is not accepted", text=replaced)


def _nested(depth: int) -> dict[str, Any]:
    inner: Any = "leaf"
    for _ in range(depth - 1):
        inner = {"k": inner}
    return {"k": inner}


def _twice(data: dict[str, Any], key: str, first: Any, last: Any) -> str:
    """``data`` as JSON text with ``key`` given twice: ``first``, then ``last`` at the end."""
    text = json.dumps({**data, key: first}, ensure_ascii=False)
    return f"{text[:-1]}, {json.dumps(key)}: {json.dumps(last)}}}"


def _request_text_cases() -> Iterator[_Case]:
    base = json.loads(encode(example(MESSAGE_TYPES["Request"])))
    yield _Case(True, "metadata: nesting depth 32 is accepted", {**base, "metadata": _nested(32)})
    yield _Case(False, "metadata: nesting depth 33 is rejected", {**base, "metadata": _nested(33)})
    label = "duplicate keys: the last value counts"
    yield _Case(True, f"{label} (max_tokens 0, then 8)", text=_twice(base, "max_tokens", 0, 8))
    yield _Case(
        False,
        f"{label} (max_tokens 8, then 0)",
        text=_twice(base, "max_tokens", 8, 0),
        params=("max_tokens",),
    )
    yield _Case(
        False,
        "request_id: an escaped unpaired surrogate (\\ud800) is not text",
        text=json.dumps({**base, "request_id": "\ud800"}),  # ensure_ascii writes the escape
        params=(None,),
    )


def _stream_event_cases() -> Iterator[_Case]:
    for name in ("StreamEventStart", "StreamEventDelta", "StreamEventEnd"):
        message = json.loads(encode(example(MESSAGE_TYPES[name])))
        yield _Case(True, f"a {message['event']} event", message)
    delta = json.loads(encode(example(MESSAGE_TYPES["StreamEventDelta"])))
    untagged = {k: v for k, v in delta.items() if k != "event"}
    yield _Case(False, "event: an unknown tag", {**delta, "event": "finish"}, params=("event",))
    yield _Case(False, "event: the tag is required", untagged, params=("event",))
    yield _Case(False, "event: the tag must be a string", {**delta, "event": 1}, params=("event",))
    yield _Case(False, "a delta with the fields of a start event", {**delta, "event": "start"})
    label = "duplicate keys: the last event tag counts"
    last_delta = _twice(delta, "event", "start", "delta")
    yield _Case(True, f"{label} (start, then delta)", text=last_delta)
    last_start = _twice(delta, "event", "delta", "start")
    yield _Case(False, f"{label} (delta, then start)", text=last_start)


def _cases(name: str) -> list[_Case]:
    if name == STREAM_EVENT_SCHEMA:
        return list(_stream_event_cases())
    cases = [*_general_cases(MESSAGE_TYPES[name]), *_rule_cases(name)]
    if name == "Request":
        cases += _request_text_cases()
    return cases


# --- the vectors ----------------------------------------------------------------------------


def _vector(message_type: Any, case: _Case) -> tuple[dict[str, Any] | None, str | None]:
    """The vector of ``case`` (None if JSON cannot carry it), or what is wrong with the case."""
    if case.text is not None:
        form: tuple[str, Any] | None = ("json_text", case.text)
    else:
        form = _json_form(message_type, case.data)
    if form is None:
        return None, None  # a Python-only value (a tuple, a non-string key): no wire vector
    key, value = form
    text = value if key == "json_text" else json.dumps(value)
    errors = _errors(message_type, text)
    found = None if errors is None else tuple(error["param"] for error in errors)
    if case.accept and found is not None:
        return None, f"should be accepted, but decode refuses it (params {list(found)})"
    if not case.accept and found is None:
        return None, "should be rejected, but decode accepts it"
    if case.params is not None and found is not None and found != case.params:
        return None, f"should fail at {list(case.params)}, but decode reports {list(found)}"
    vector: dict[str, Any] = {"description": case.description, key: value}
    if errors is not None:
        gap = _schema_gap(message_type, text)
        vector.update(errors=errors, schema_states_rule=gap is None)
        if gap is not None:
            vector["schema_gap"] = gap
    return vector, None


_MOST_PROBLEMS_SHOWN = 20


def build_vectors() -> dict[str, dict[str, Any]]:
    """Every vector file's content by type name; ``VectorError`` names every case whose
    verdict differs from what its source says."""
    files: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name in [*MESSAGE_TYPES, STREAM_EVENT_SCHEMA]:
        message_type = StreamEvent if name == STREAM_EVENT_SCHEMA else MESSAGE_TYPES[name]
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for case in _cases(name):
            vector, problem = _vector(message_type, case)
            if problem is not None:
                problems.append(f"{name}: {case.description}: {problem}")
            elif vector is not None:
                (accepted if case.accept else rejected).append(vector)
        files[name] = {
            "type": name,
            "contract_version": PROTOCOL_VERSION,
            "accepted": accepted,
            "rejected": rejected,
        }
    if problems:
        shown = problems[:_MOST_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        raise VectorError("\n".join(shown))
    unknown = {
        vector["schema_gap"]
        for content in files.values()
        for vector in content["rejected"]
        if vector.get("schema_gap") not in (None, *SCHEMA_GAPS)
    }
    if unknown:
        raise VectorError(f"schema gaps missing from SCHEMA_GAPS: {sorted(unknown)}")
    return files


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
    try:
        contents = build_vectors()
    except VectorError as exc:
        print(f"gen_vectors: cases that disagree with their source:\n{exc}", file=sys.stderr)
        print("gen_vectors: no vectors written", file=sys.stderr)
        return 1
    files = {f"{name}.json": dumps(content) for name, content in contents.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    count = sum(len(c["accepted"]) + len(c["rejected"]) for c in contents.values())
    print(f"wrote {len(files)} vector files ({count} vectors) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
