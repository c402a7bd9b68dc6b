#!/usr/bin/env python3
"""Time and peak memory of hostile inputs at 1 MB and 16 MiB (part of ``make fuzz``).

Each row is one shape of hostile input (many wrong values, many unknown fields, duplicate
keys, metadata of many containers, deep nesting, ...), built at each size and decoded in a
fresh interpreter, so that its peak memory is its own: the table shows the wall time of the
decode and how much the process's peak resident memory grew during it, as a multiple of the
input size. Every row must stay within the budget (``BUDGET_SECONDS``, ``BUDGET_MEMORY``);
the command writes the table into docs/robustness.md and exits 1 if a row does not.

    .venv/bin/python benchmarks/hostile.py            # measure, write the table
    .venv/bin/python benchmarks/hostile.py --no-write # measure only
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydantic

from sagellm_protocol import ProtocolError, decode, encode
from sagellm_protocol.registry import message_type
from sagellm_protocol.testing import example

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "robustness.md"
MiB = 1024 * 1024
SIZES = {"1 MB": 1_000_000, "16 MiB": 16 * MiB}
BUDGET_SECONDS = 2.0
"""Most wall time one decode of an input up to the size limit may take here."""
BUDGET_MEMORY = 50
"""Most growth of peak memory during one decode, as a multiple of the input size."""


def _base(name: str, **fields: object) -> bytes:
    return encode(example(message_type(name), **fields))


def _fill(head: bytes, item: bytes, tail: bytes, size: int, separator: bytes = b",") -> bytes:
    """``head`` + ``item`` repeated (joined by ``separator``) + ``tail``, ``size`` bytes at most."""
    count = max(1, (size - len(head) - len(tail)) // (len(item) + len(separator)))
    return head + separator.join([item] * count) + tail


def _numbered(head: bytes, item: Callable[[int], bytes], tail: bytes, size: int) -> bytes:
    """Like ``_fill``, with ``item(i)`` as the i-th item (distinct keys)."""
    count = max(1, (size - len(head) - len(tail)) // (len(item(0)) + 1))
    return head + b",".join(item(i) for i in range(count)) + tail


def _request() -> bytes:
    """A valid Request without metadata, its closing brace cut off."""
    return _base("Request", metadata=None)[:-1]


def _wrong_tokens(size: int) -> bytes:
    base = _base("Response", output_text="", output_tokens=[])
    head, _, tail = base.partition(b'"output_tokens":[]')
    return _fill(head + b'"output_tokens":[', b"-1", b"]" + tail, size)


def _unknown_fields(size: int) -> bytes:
    return _numbered(_request() + b",", lambda i: b'"x%07d":0' % i, b"}", size)


def _wrong_chat_messages(size: int) -> bytes:
    return _fill(b'{"model":"m","messages":[', b'{"role":"robot"}', b"]}", size)


def _duplicate_keys(size: int) -> bytes:
    return _numbered(
        _request() + b',"metadata":{', lambda i: b'"k%07d":1,"k%07d":2' % (i, i), b"}}", size
    )


def _metadata_containers(size: int) -> bytes:
    return _fill(_request() + b',"metadata":{"k":[', b"[]", b"]}}", size)


def _metadata_keys(size: int) -> bytes:
    return _numbered(_request() + b',"metadata":{', lambda i: b'"k%07d":{}' % i, b"}}", size)


def _deep_and_wide(size: int) -> bytes:
    head = _request() + b',"metadata":{"k":' + b"[" * 30
    return _fill(head, b"1", b"]" * 30 + b"}}", size)


def _deep(size: int) -> bytes:
    return b'{"metadata":' + b"[" * (size - 13) + b"}"


def _long_prompt(size: int) -> bytes:
    base = _base("Request", prompt="")
    return base.replace(b'"prompt":""', b'"prompt":"' + b"x" * (size - len(base)) + b'"')


def _valid_tokens(size: int) -> bytes:
    base = _base("Response", output_text="", output_tokens=[])
    head, _, tail = base.partition(b'"output_tokens":[]')
    return _fill(head + b'"output_tokens":[', b"123456", b"]" + tail, size)


def _unterminated(size: int) -> bytes:
    return b'{"prompt":"' + b"x" * (size - 11)


# name: (message type, options, builder)
SHAPES: dict[str, tuple[str, dict[str, str], Callable[[int], bytes]]] = {
    "Response, every token id wrong": ("Response", {}, _wrong_tokens),
    "Request, distinct unknown fields": ("Request", {}, _unknown_fields),
    "Request, distinct unknown fields, unknown=ignore": (
        "Request",
        {"unknown": "ignore"},
        _unknown_fields,
    ),
    "ChatCompletionRequest, every message wrong": (
        "ChatCompletionRequest",
        {},
        _wrong_chat_messages,
    ),
    "Request, duplicated metadata keys, duplicate_keys=reject": (
        "Request",
        {"duplicate_keys": "reject"},
        _duplicate_keys,
    ),
    "Request, metadata of empty lists": ("Request", {}, _metadata_containers),
    "Request, metadata of many keys": ("Request", {}, _metadata_keys),
    "Request, metadata 31 deep and wide": ("Request", {}, _deep_and_wide),
    "Request, nesting as deep as the input": ("Request", {}, _deep),
    "unterminated JSON": ("Request", {}, _unterminated),
    "Request, long prompt (valid)": ("Request", {}, _long_prompt),
    "Response, long token list (valid)": ("Response", {}, _valid_tokens),
}


def _peak_memory() -> int:
    """The peak resident memory of this process so far, in bytes (Linux: ``VmHWM``; else
    ``ru_maxrss``, which a process may inherit from its parent across ``exec``)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kilobytes = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(kilobytes[1]) * 1024 if kilobytes else 0


def _child(name: str, path: str) -> None:
    """Decode the input in ``path`` as shape ``name``; print seconds, peak growth, verdict."""
    type_name, options, _ = SHAPES[name]
    data = Path(path).read_bytes()
    model = message_type(type_name)
    ignored: list[str] = []
    extra: dict[str, object] = dict(options)
    if options.get("unknown") == "ignore":
        extra["ignored"] = ignored
    decode(model, _base(type_name))  # build the decoder first: its cost is not the input's
    before = _peak_memory()
    started = time.perf_counter()
    try:
        decode(model, data, **extra)  # type: ignore[call-overload]
        verdict = "accepted"
    except ProtocolError as exc:
        verdict = f"refused ({len(exc.errors)} listed, {exc.more} more)"
    seconds = time.perf_counter() - started
    grown = _peak_memory() - before
    print(json.dumps({"seconds": seconds, "grown": grown, "verdict": verdict}))


def _measure(name: str, size: int) -> dict[str, object]:
    data = SHAPES[name][2](size)
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(data)
        file.flush()
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, file.name],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    result: dict[str, object] = json.loads(out.stdout)
    result["size"] = len(data)
    return result


def _cell(result: dict[str, object]) -> tuple[str, bool]:
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    multiple = float(result["grown"]) / float(result["size"])  # type: ignore[arg-type]
    ok = seconds <= BUDGET_SECONDS and multiple <= BUDGET_MEMORY
    return f"{seconds:.2f} s, {multiple:.1f}x", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("SHAPE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="do not write the table")
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    rows = []
    failed = False
    for name in SHAPES:
        cells, verdict = [], ""
        for size in SIZES.values():
            result = _measure(name, size)
            cell, ok = _cell(result)
            failed = failed or not ok
            cells.append(cell if ok else f"**{cell}** (over budget)")
            verdict = str(result["verdict"])
        rows.append(f"| {name} | {' | '.join(cells)} | {verdict} |")
        print(rows[-1], flush=True)
    header = (
        f"Wall time of one decode and growth of peak memory during it (a multiple of the input "
        f"size), each in a fresh process; {platform.machine()}, CPython "
        f"{platform.python_version()}, pydantic {pydantic.VERSION}, {time.strftime('%Y-%m-%d')}. "
        f"Budget: {BUDGET_SECONDS:g} s and {BUDGET_MEMORY}x.\n\n"
        f"| input | {' | '.join(SIZES)} | verdict at 16 MiB |\n|---|---|---|---|\n"
    )
    table = header + "\n".join(rows)
    if not args.no_write:
        text = DOC.read_text(encoding="utf-8")
        text = re.sub(
            r"(<!-- hostile:begin -->\n).*?(\n<!-- hostile:end -->)",
            lambda match: match.group(1) + table + match.group(2),
            text,
            flags=re.S,
        )
        DOC.write_text(text, encoding="utf-8")
    print("every row within the budget" if not failed else "some rows are over the budget")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
