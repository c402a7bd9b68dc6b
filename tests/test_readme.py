"""The README is short, starts with the two commands, and every example in it runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")

MAX_README_BYTES = 10 * 1024


def test_readme_fits_in_10_kb() -> None:
    assert len(README_PATH.read_bytes()) <= MAX_README_BYTES


def test_quick_start_is_the_two_commands() -> None:
    match = re.search(r"^## Quick start\n(.*?)^## ", README, re.DOTALL | re.MULTILINE)
    assert match, "README has no Quick start section"
    blocks = re.findall(r"```sh\n(.*?)```", match[1], re.DOTALL)
    assert len(blocks) == 1
    commands = [line.split("#")[0].strip() for line in blocks[0].splitlines()]
    assert commands == ["make demo", "make test"]


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


@pytest.mark.parametrize(
    "source", PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))]
)
def test_readme_python_examples_run(source: str) -> None:
    exec(compile(source, "README.md", "exec"), {"__name__": "readme_example"})


def test_every_capability_section_has_an_example_and_a_link() -> None:
    sections = re.split(r"^## ", README, flags=re.MULTILINE)[1:]
    with_examples = [s for s in sections if "```python" in s]
    assert len(with_examples) >= 5
    for section in with_examples:
        title = section.splitlines()[0]
        assert re.search(r"\]\((docs/|[A-Z]+\.md)", section), f"{title}: link to its page"
