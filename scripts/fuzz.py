#!/usr/bin/env python3
"""Fuzzing campaigns against every decode path (``make fuzz``), and the adversarial corpus.

Run from the repository root as a module, so that it can import the tests' fuzzing helpers:

``python -m scripts.fuzz run [--cases N] [--seed S]``
    N hostile inputs (default 100,000) through ``decode`` (every case), ``SSEDecoder`` (every
    fourth case) and ``sagellm-protocol validate`` (every fiftieth). Prints a summary and
    records it in docs/robustness.md. Exit 1 if any case fails the oracle (tests/fuzzing.py).

``python -m scripts.fuzz corpus [--count N]``
    Writes the adversarial corpus tests/corpus/adversarial.jsonl (N small cases, default 250,
    from a fixed seed) that the test suite replays in CI.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tests.fuzzing import CORPUS, check_cli, check_decode, check_sse, make_case

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "robustness.md"
CORPUS_SEED = 20261128
MAX_CORPUS_CASE = 8 * 1024  # bytes; larger inputs are built by recipes in the tests


def corpus(count: int) -> int:
    rng = random.Random(CORPUS_SEED)
    lines: list[str] = []
    while len(lines) < count:
        case = make_case(rng)
        data = (
            case.data.encode("utf-8", "surrogatepass") if isinstance(case.data, str) else case.data
        )
        if len(data) > MAX_CORPUS_CASE:
            continue
        entry = {
            "type": case.type_name,
            "recipe": case.recipe,
            "as_str": isinstance(case.data, str),
            "data": base64.b64encode(data).decode("ascii"),
        }
        lines.append(json.dumps(entry, sort_keys=True))
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    CORPUS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} cases to {CORPUS.relative_to(ROOT)}")
    return 0


def run(cases: int, seed: int) -> int:
    rng = random.Random(seed)
    counts = {"accepted": 0, "refused": 0, "sse": 0, "cli": 0}
    failures: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        for index in range(cases):
            case = make_case(rng)
            try:
                counts[check_decode(case)] += 1
                if index % 4 == 0:
                    check_sse(case, rng)
                    counts["sse"] += 1
                if index % 50 == 0:
                    check_cli(case, Path(directory))
                    counts["cli"] += 1
            except Exception:  # every escape is a finding to report
                trace = traceback.format_exc(limit=3)
                failures.append(f"case {index} ({case.type_name}, {case.recipe}): {trace}")
            if (index + 1) % 10_000 == 0:
                print(f"  {index + 1} cases, {len(failures)} failures", flush=True)
    elapsed = time.perf_counter() - started
    summary = (
        f"{cases:,} inputs tried (seed {seed}): {counts['accepted']:,} decoded, "
        f"{counts['refused']:,} refused with ProtocolError; {counts['sse']:,} also framed "
        f"through SSEDecoder, {counts['cli']:,} through `sagellm-protocol validate`; "
        f"failures found: {len(failures)}; {elapsed:.0f} s."
    )
    print(summary)
    for failure in failures[:20]:
        print(failure)
    _record(summary)
    return 1 if failures else 0


def _record(summary: str) -> None:
    if not DOC.exists():
        return
    text = DOC.read_text(encoding="utf-8")
    stamp = time.strftime("%Y-%m-%d")
    block = f"<!-- fuzz:begin -->\nLast `make fuzz` run ({stamp}): {summary}\n<!-- fuzz:end -->"
    text, replaced = re.subn(
        r"<!-- fuzz:begin -->.*?<!-- fuzz:end -->", lambda _: block, text, flags=re.DOTALL
    )
    if replaced:
        DOC.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run a fuzzing campaign")
    run_parser.add_argument("--cases", type=int, default=100_000)
    run_parser.add_argument("--seed", type=int, default=1)
    corpus_parser = commands.add_parser("corpus", help="write the adversarial corpus")
    corpus_parser.add_argument("--count", type=int, default=250)
    args = parser.parse_args()
    if args.command == "corpus":
        return corpus(args.count)
    return run(args.cases, args.seed)


if __name__ == "__main__":
    sys.exit(main())
