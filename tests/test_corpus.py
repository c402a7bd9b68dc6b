"""The adversarial corpus (tests/corpus/adversarial.jsonl) is replayed on every run."""

from __future__ import annotations

import random

import pytest

from .fuzzing import Case, check_decode, check_sse, load_corpus

CASES: list[Case] = load_corpus()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 200
    assert len({case.type_name for case in CASES}) >= 20
    recipes = " ".join(case.recipe for case in CASES)
    for kind in ("truncate", "invalid UTF-8", "byte order mark", "duplicate", "replace", "as str"):
        assert kind in recipes, kind


def test_most_of_the_corpus_is_refused() -> None:
    verdicts = [check_decode(case) for case in CASES]
    assert verdicts.count("refused") > len(CASES) * 0.8


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.type_name}" for i, c in enumerate(CASES)])
def test_corpus_case(case: Case) -> None:
    check_decode(case)
    check_sse(case, random.Random(0))
