"""Structure-aware fuzzing of every decode path: shared by the tests and by ``make fuzz``.

A case starts from a valid message of a random type, encoded as the wire would carry it, with a
marker string planted in one of its text values; then one or more mutations break it the ways
hostile input does: wrong types, huge integers and strings, deep nesting, duplicate keys,
invalid UTF-8, NUL bytes, lone surrogates, NaN/Infinity literals, a byte order mark, truncation.

The oracle (``check_decode``, ``check_sse``, ``check_cli``): only ``ProtocolError`` escapes;
every ``Error`` has a code, and a ``param`` whenever a field is at fault; no message contains
the marker.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagellm_protocol import ProtocolError, StreamEvent, StreamEventStart, decode, encode
from sagellm_protocol.registry import MESSAGE_TYPES, STREAM_EVENT_TYPES
from sagellm_protocol.sse import SSEDecoder, encode_event
from sagellm_protocol.testing import example

MARKER = "ZqX-marker-7731"
"""Planted in the input; must never appear in an error message."""

TYPE_NAMES = [*MESSAGE_TYPES, "StreamEvent"]

CORPUS = Path(__file__).resolve().parent / "corpus" / "adversarial.jsonl"
"""The adversarial corpus: small cases from a fixed seed, written by ``python -m scripts.fuzz
corpus`` and replayed by the tests."""


@dataclass(frozen=True)
class Case:
    """One fuzz input: the type to decode as and the bytes (or, rarely, a str)."""

    type_name: str
    data: bytes | str
    recipe: str


def message_type(name: str) -> Any:
    return StreamEvent if name == "StreamEvent" else MESSAGE_TYPES[name]


def _seed_message(rng: random.Random, name: str) -> dict[str, Any]:
    if name == "StreamEvent":
        name = rng.choice(list(STREAM_EVENT_TYPES.values())).__name__
    value: dict[str, Any] = json.loads(encode(example(MESSAGE_TYPES[name])))
    return value


def _plant_marker(rng: random.Random, value: Any) -> Any:
    """Put the marker into one string of ``value`` (or add a string field holding it)."""
    if isinstance(value, dict):
        strings = [key for key, item in value.items() if isinstance(item, str)]
        if strings and rng.random() < 0.8:
            key = rng.choice(strings)
            return {**value, key: value[key] + MARKER}
        nested = [key for key, item in value.items() if isinstance(item, (dict, list))]
        if nested and rng.random() < 0.5:
            key = rng.choice(nested)
            return {**value, key: _plant_marker(rng, value[key])}
        return {**value, rng.choice(["zz_unknown", "metadata", "prompt"]): MARKER}
    if isinstance(value, list) and value:
        index = rng.randrange(len(value))
        return [*value[:index], _plant_marker(rng, value[index]), *value[index + 1 :]]
    return MARKER


HOSTILE_VALUES: list[Callable[[random.Random], str]] = [
    lambda rng: "true",
    lambda rng: '"128"',
    lambda rng: "8.0",
    lambda rng: "-1",
    lambda rng: "null",
    lambda rng: "[]",
    lambda rng: "{}",
    lambda rng: "1" + "0" * rng.choice([20, 400, 4400, 5000]),
    lambda rng: "-1" + "0" * 5000,
    lambda rng: "1e999",
    lambda rng: rng.choice(["NaN", "Infinity", "-Infinity"]),
    lambda rng: json.dumps("x" * rng.choice([257, 10_000, 300_000]) + MARKER),
    lambda rng: "[" * (depth := rng.choice([40, 1000, 20_000])) + "1" + "]" * depth,
    lambda rng: '{"a":' * (depth := rng.choice([33, 40, 1000])) + json.dumps(MARKER) + "}" * depth,
    lambda rng: json.dumps(MARKER) + "\\ud800",
    lambda rng: '"\\ud800' + MARKER + '"',
    lambda rng: '"\\udc00"',
    lambda rng: '"a\\u0000b' + MARKER + '"',
    lambda rng: '"' + MARKER + '\x00"',
    lambda rng: '"\\x41"',
    lambda rng: json.dumps({"nested": [MARKER, {"k": float("nan")}]}, allow_nan=True),
]


def _mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """Replace one field's value, duplicate a key, or add a field, at the text level."""
    value = json.loads(text)
    if not isinstance(value, dict) or not value:
        return text, "unchanged"
    key = rng.choice(list(value))
    hostile = rng.choice(HOSTILE_VALUES)(rng)
    choice = rng.random()
    if choice < 0.6:
        value[key] = "@@HOSTILE@@"
        recipe = f"replace {key}"
    elif choice < 0.8:
        body = json.dumps(value, ensure_ascii=False)
        duplicate = (
            f"{json.dumps(key)}: {json.dumps(value[key]) if rng.random() < 0.5 else hostile}"
        )
        return body[:-1] + ", " + duplicate + "}", f"duplicate {key}"
    else:
        value[rng.choice(["zz_extra", "metadata", "chunk_tokens"])] = "@@HOSTILE@@"
        recipe = "add a field"
    return json.dumps(value, ensure_ascii=False).replace('"@@HOSTILE@@"', hostile), recipe


def _mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    choice = rng.random()
    if choice < 0.25 and data:
        cut = rng.randrange(len(data))
        return data[:cut], f"truncate at {cut}"
    if choice < 0.45:
        position = rng.randrange(len(data) + 1)
        junk = rng.choice(
            [b"\xff", b"\xc3", b"\xe4\xbd", b"\xed\xa0\x80", b"\x00", b"\xf0\x9f\x99"]
        )
        return data[:position] + junk + data[position:], "insert invalid UTF-8 or NUL"
    if choice < 0.55:
        return b"\xef\xbb\xbf" + data, "byte order mark"
    if choice < 0.7 and data:
        position = rng.randrange(len(data))
        return data[:position] + bytes([rng.randrange(256)]) + data[position + 1 :], "flip a byte"
    if choice < 0.8:
        return data + rng.choice([b"}", b" trailing", b"\n{}", b"]"]), "trailing garbage"
    return data, "none"


def make_case(rng: random.Random) -> Case:
    """A random hostile input for a random type."""
    name = rng.choice(TYPE_NAMES)
    value = _plant_marker(rng, _seed_message(rng, name))
    text = json.dumps(value, ensure_ascii=rng.random() < 0.3)
    recipes = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text, recipe = _mutate_text(rng, text) if _looks_like_object(text) else (text, "unchanged")
        recipes.append(recipe)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.5:
        data, recipe = _mutate_bytes(rng, data)
        recipes.append(recipe)
    if rng.random() < 0.1:
        as_text = data.decode("utf-8", "surrogateescape")  # a str that may hold lone surrogates
        return Case(name, as_text, "; ".join([*recipes, "as str"]))
    return Case(name, data, "; ".join(recipes))


def _looks_like_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):  # the harness's own parser, not the one under test
        return False


def _check_errors(exc: ProtocolError, where: str) -> None:
    assert exc.errors, where
    for error in exc.errors:
        assert error.code is not None, where
        assert error.message, where
        assert MARKER not in error.message, (
            f"{where}: the marker leaked into {error.message[:200]!r}"
        )
        assert MARKER not in str(exc), where
        if not error.message.startswith(("the message", "frame ")):
            assert error.param is not None, f"{where}: no param for {error.message[:200]!r}"


def check_decode(case: Case) -> str:
    """Decode ``case``; return "accepted" or "refused"; fail on anything else."""
    try:
        decode(message_type(case.type_name), case.data)
    except ProtocolError as exc:
        _check_errors(exc, f"{case.type_name} / {case.recipe}")
        return "refused"
    return "accepted"


def check_sse(case: Case, rng: random.Random) -> str:
    """Frame ``case`` (after a valid start frame) and feed it to SSEDecoder in random chunks."""
    start = encode_event(example(StreamEventStart))
    data = case.data.encode("utf-8", "surrogatepass") if isinstance(case.data, str) else case.data
    wire = start + b"event: delta\ndata: " + data.replace(b"\n", b" ") + b"\n\n"
    decoder = SSEDecoder()
    try:
        position = 0
        while position < len(wire):
            step = rng.choice([1, 7, 64, len(wire)])
            decoder.feed(wire[position : position + step])
            position += step
        decoder.close()
    except ProtocolError as exc:
        _check_errors(exc, f"SSE / {case.recipe}")
        return "refused"
    return "accepted"


def check_cli(case: Case, directory: Path) -> int:
    """Run ``sagellm-protocol validate`` in-process on ``case``; return its exit status."""
    from sagellm_protocol.cli import main

    path = directory / "input.jsonl"
    data = case.data.encode("utf-8", "surrogatepass") if isinstance(case.data, str) else case.data
    path.write_bytes(data)
    output, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(errors):
        status = main(["validate", str(path)])
    assert status in (0, 1, 2), status
    assert MARKER not in output.getvalue(), output.getvalue()[:300]
    assert MARKER not in errors.getvalue(), errors.getvalue()[:300]
    return status


def load_corpus() -> list[Case]:
    """The corpus cases, as the tests replay them."""
    cases = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        data = base64.b64decode(entry["data"])
        as_str = data.decode("utf-8", "surrogatepass") if entry["as_str"] else data
        cases.append(Case(entry["type"], as_str, entry["recipe"]))
    return cases
