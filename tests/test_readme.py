"""The README agrees with the code: its rule table, its error table and its examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagellm_protocol import ErrorCode

from .rules_table import RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(name: str) -> list[str]:
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", README, re.DOTALL)
    assert match, f"README has no {name} section"
    return [line for line in match[1].splitlines() if line.startswith("|")][2:]


def test_readme_rule_table_is_the_tested_table() -> None:
    expected = [rule.row for rule in RULES]
    assert _section("rules") == expected, "\n".join(expected)


def test_readme_error_table_matches_the_code_table() -> None:
    rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in _section("errors")]
    assert [row[0] for row in rows] == [code.value for code in ErrorCode]
    for value, _meaning, http, grpc, retryable in rows:
        code = ErrorCode(value)
        assert int(http) == code.http_status
        assert grpc == code.grpc_status
        assert retryable == ("yes" if code.retryable else "no")


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


@pytest.mark.parametrize(
    "source", PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))]
)
def test_readme_python_examples_run(source: str) -> None:
    exec(compile(source, "README.md", "exec"), {"__name__": "readme_example"})


def test_readme_has_python_examples() -> None:
    assert PYTHON_BLOCKS
