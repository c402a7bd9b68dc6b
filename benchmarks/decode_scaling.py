#!/usr/bin/env python3
"""Decode cost against input size: 1 KB, 1 MB and 10 MB messages (part of ``make fuzz``).

Times ``decode`` on inputs of each size (valid messages with one large field, and invalid
text that is refused), reports the median of repeated runs and the cost per MB, and writes
the table into docs/robustness.md. Linear cost shows as a flat cost per MB across sizes.
Run it with the development environment, where the package is installed:
``.venv/bin/python benchmarks/decode_scaling.py``.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pydantic

from sagellm_protocol import ProtocolError, Request, Response, decode, encode
from sagellm_protocol.testing import example

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "robustness.md"
SIZES = {"1 KB": 1_000, "1 MB": 1_000_000, "10 MB": 10_000_000}


def _request_with_prompt(size: int) -> bytes:
    base = encode(example(Request, prompt=""))
    return base.replace(
        b'"prompt":""', b'"prompt":"' + "é".encode() * ((size - len(base)) // 2) + b'"'
    )


def _response_with_tokens(size: int) -> bytes:
    base = encode(example(Response, output_text="", output_tokens=[]))
    count = max(1, (size - len(base)) // 7)  # "123456," is 7 bytes
    return base.replace(
        b'"output_tokens":[]', b'"output_tokens":[' + b",".join([b"123456"] * count) + b"]"
    )


def _request_with_metadata(size: int) -> bytes:
    base = json.loads(encode(example(Request)))
    count = max(1, size // 40)
    base["metadata"] = {f"key{i:08d}": [i, f"v{i}", 0.5] for i in range(count)}
    return json.dumps(base, separators=(",", ":")).encode()


def _invalid(size: int) -> bytes:
    return b'{"prompt":"' + b"x" * size  # never closed: refused at the end


INPUTS: dict[str, tuple[type, Callable[[int], bytes]]] = {
    "Request, large prompt (valid)": (Request, _request_with_prompt),
    "Response, long token list (valid)": (Response, _response_with_tokens),
    "Request, large metadata (valid)": (Request, _request_with_metadata),
    "unterminated JSON (refused)": (Request, _invalid),
}


def _time(message_type: type, data: bytes, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        with contextlib.suppress(ProtocolError):
            decode(message_type, data)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    rows = []
    for name, (message_type, build) in INPUTS.items():
        cells = []
        for label, size in SIZES.items():
            data = build(size)
            repeats = 200 if size <= 1_000 else 15 if size <= 1_000_000 else 5
            seconds = _time(message_type, data, repeats)
            per_mb = seconds / (len(data) / 1e6) * 1000
            cells.append(f"{seconds * 1000:.3f} ms ({per_mb:.1f} ms/MB)")
            print(
                f"{name:38} {label:>6}: {seconds * 1000:9.3f} ms, {per_mb:7.1f} ms per MB",
                flush=True,
            )
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = "| input | " + " | ".join(SIZES) + " |\n|---|" + "---|" * len(SIZES)
    machine = (
        f"{platform.machine()}, CPython {platform.python_version()}, pydantic {pydantic.VERSION}"
    )
    title = f"Median decode time (cost per MB of input), {machine}, {time.strftime('%Y-%m-%d')}:"
    table = f"{title}\n\n{header}\n" + "\n".join(rows)
    if DOC.exists():
        text = DOC.read_text(encoding="utf-8")
        block = f"<!-- scaling:begin -->\n{table}\n<!-- scaling:end -->"
        text = re.sub(
            r"<!-- scaling:begin -->.*?<!-- scaling:end -->", lambda _: block, text, flags=re.DOTALL
        )
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
