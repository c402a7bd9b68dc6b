"""The documents agree with the code: the generated tables, and every Python example.

``docs/protocol_v0.1.md`` and VERSIONING.md must be exactly what ``scripts/gen_docs.py``
produces from the code, so changing a field (its constraint, default or docstring) or a verdict
of the compatibility checker without regenerating fails here. Every ```python block of
docs/*.md, MIGRATION.md and VERSIONING.md runs.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field, Strict

from sagellm_protocol import ErrorCode, Request, StreamEvent, decode
from sagellm_protocol.errors import ERROR_CODE_TABLE
from sagellm_protocol.registry import MESSAGE_TYPES

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol_v0.1.md"
VERSIONING = ROOT / "VERSIONING.md"
OPENAI_DOC = ROOT / "docs" / "openai.md"
SCRIPT = ROOT / "scripts" / "gen_docs.py"


gen_docs = load_script("gen_docs")


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


# --- the generated page -----------------------------------------------------------------------


def test_protocol_doc_is_what_the_generator_writes() -> None:
    current = _doc()
    expected = gen_docs.render(current)
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True), expected.splitlines(keepends=True), n=1
        )
    )
    assert expected == current, f"run python scripts/gen_docs.py\n{diff}"


def test_check_mode_passes_on_the_committed_doc() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_check_mode_fails_on_a_stale_doc(tmp_path: Path) -> None:
    stale = tmp_path / "protocol.md"
    row = "| `max_tokens` | `int` | required | integer > 0 |"
    assert row in _doc()
    changed = _doc().replace(row, "| `max_tokens` | `int` | required | integer >= 0 |")
    stale.write_text(changed, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--doc", str(stale)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "+| `max_tokens` | `int` | required | integer > 0 |" in result.stderr
    assert "differs from the code" in result.stderr


def test_regenerating_rewrites_only_the_blocks(tmp_path: Path) -> None:
    stale = tmp_path / "protocol.md"
    emptied = re.sub(
        r"(<!-- generated: message Request -->\n).*?(<!-- end generated -->)",
        r"\1\2",
        _doc(),
        count=1,
        flags=re.DOTALL,
    )
    stale.write_text(emptied, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--doc", str(stale)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert stale.read_text(encoding="utf-8") == _doc()


def test_versioning_verdict_table_is_what_the_generator_writes() -> None:
    current = VERSIONING.read_text(encoding="utf-8")
    assert gen_docs.render(current, required=gen_docs.versioning_blocks) == current


def test_changing_a_verdict_without_regenerating_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagellm_protocol import compat

    current = VERSIONING.read_text(encoding="utf-8")
    assert "| `bound_widened` | compatible | incompatible |" in current
    monkeypatch.setitem(compat._VERDICTS, "bound_widened", ("breaking", "incompatible"))
    changed = gen_docs.render(current, required=gen_docs.versioning_blocks)
    assert "| `bound_widened` | breaking | incompatible |" in changed.splitlines()


def test_versioning_needs_the_verdict_table() -> None:
    current = VERSIONING.read_text(encoding="utf-8")
    without = re.sub(
        r"<!-- generated: verdicts -->\n.*?<!-- end generated -->", "", current, flags=re.DOTALL
    )
    with pytest.raises(ValueError, match="verdicts"):
        gen_docs.render(without, required=gen_docs.versioning_blocks)


def test_openai_parameter_tables_are_what_the_generator_writes() -> None:
    current = OPENAI_DOC.read_text(encoding="utf-8")
    assert gen_docs.render(current, required=gen_docs.openai_blocks) == current


def test_changing_a_parameter_fate_without_regenerating_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sagellm_protocol import openai_params

    current = OPENAI_DOC.read_text(encoding="utf-8")
    assert "| `seed` | carried |" in current
    refused = openai_params.Parameter("seed", "refused", "must be null")
    monkeypatch.setitem(gen_docs.PARAMETER_TABLES, "chat", {"seed": refused})
    changed = gen_docs.render(current, required=gen_docs.openai_blocks)
    assert "| `seed` | refused | must be null |" in changed.splitlines()


def test_the_openai_page_needs_every_parameter_table() -> None:
    current = OPENAI_DOC.read_text(encoding="utf-8")
    without = re.sub(
        r"<!-- generated: parameters messages -->\n.*?<!-- end generated -->",
        "",
        current,
        flags=re.DOTALL,
    )
    with pytest.raises(ValueError, match="parameters messages"):
        gen_docs.render(without, required=gen_docs.openai_blocks)


class _StricterRequest(Request):
    __doc__ = Request.__doc__

    max_tokens: Annotated[int, Strict(), Field(gt=1)]
    """Most output tokens to generate, in tokens; > 0."""


def test_changing_a_constraint_without_regenerating_fails() -> None:
    models = {**gen_docs.documented_types(), "Request": _StricterRequest}
    current = _doc()
    changed = gen_docs.render(current, models)
    removed = [line for line in current.splitlines() if line not in changed.splitlines()]
    added = [line for line in changed.splitlines() if line not in current.splitlines()]
    assert [line.split(" | ")[:4] for line in removed] == [
        ["| `max_tokens`", "`int`", "required", "integer > 0"]
    ]
    assert [line.split(" | ")[:4] for line in added] == [
        ["| `max_tokens`", "`int`", "required", "integer > 1"]
    ]


def test_every_documented_type_needs_a_block() -> None:
    without = re.sub(
        r"<!-- generated: message Timestamps -->\n.*?<!-- end generated -->\n",
        "",
        _doc(),
        flags=re.DOTALL,
    )
    with pytest.raises(ValueError, match="message Timestamps"):
        gen_docs.render(without)


def test_an_unknown_block_is_an_error() -> None:
    text = _doc() + "\n<!-- generated: message Nonexistent -->\n<!-- end generated -->\n"
    with pytest.raises(ValueError, match="Nonexistent"):
        gen_docs.render(text)


_ERROR_CODES = ", ".join(f'`"{code.value}"`' for code in ErrorCode)
_IDENTIFIER = Annotated[str, Strict(), Field(min_length=1, max_length=256)]


@pytest.mark.parametrize(
    ("annotation", "text"),
    [
        (Annotated[int, Strict(), Field(ge=1, le=128)], "integer in [1, 128]"),
        (Annotated[float, Strict(), Field(gt=0, le=2)], "number in (0, 2]"),
        (Annotated[float, Strict(), Field(ge=0)], "number >= 0"),
        (Annotated[float, Field(lt=5)], "number (lax: coerced) < 5"),
        (_IDENTIFIER, "identifier: 1 to 256 characters"),
        (Annotated[str, Strict(), Field(min_length=1)], "string (non-empty)"),
        (Annotated[str, Strict()], "string (may be empty)"),
        (
            Annotated[list[Annotated[str, Strict()]], Field(min_length=1)],
            "array (non-empty), each item: string (may be empty)",
        ),
        (Annotated[bool, Strict()] | None, "boolean"),
        (ErrorCode, f"one of {_ERROR_CODES}"),
    ],
)
def test_constraint_text(annotation: object, text: str) -> None:
    assert gen_docs.constraint(annotation, []) == text


def _example_blocks() -> list[tuple[str, str]]:
    pattern = r"<!-- generated: message (\w+) -->\n.*?```json\n(.*?)```\n<!-- end generated -->"
    return re.findall(pattern, _doc(), re.DOTALL)


def test_every_message_has_an_example_that_decodes() -> None:
    examples = dict(_example_blocks())
    assert sorted(examples) == sorted(gen_docs.documented_types())
    for name, text in examples.items():
        model = gen_docs.documented_types()[name]
        assert decode(model, text) == decode(model, gen_docs.example_message(name)[0]), name


def test_the_error_table_is_the_code_table() -> None:
    rows = re.findall(r"^\| `(\w+)` \| .*? \| (\d{3}) \| `(\w+)` \| (yes|no) \|$", _doc(), re.M)
    assert rows == [
        (code.value, str(info.http_status), info.grpc_status, "yes" if info.retryable else "no")
        for code, info in ERROR_CODE_TABLE.items()
    ]


def test_the_stream_example_frames_are_what_encode_event_writes() -> None:
    from sagellm_protocol import Response
    from sagellm_protocol.sse import encode_event
    from sagellm_protocol.streaming import split_response
    from sagellm_protocol.testing import example

    match = re.search(r"The frames of a two-token answer:\n\n```text\n(.*?)```", _doc(), re.DOTALL)
    assert match
    events = split_response(example(Response), tokens_per_delta=2)
    assert match[1].encode() == b"".join(encode_event(event) for event in events)
    assert all(
        decode(StreamEvent, frame.split("data: ")[1]) for frame in match[1].split("\n\n")[:3]
    )


def test_the_doc_lists_every_message_type() -> None:
    headings = re.findall(r"^### (\w+)$", _doc(), re.MULTILINE)
    assert set(MESSAGE_TYPES) | {"Distribution"} <= set(headings)


# --- Python examples in the documents ---------------------------------------------------------

DOCUMENTS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "MIGRATION.md", ROOT / "VERSIONING.md"]


def _python_blocks() -> list[tuple[str, str]]:
    """(location, source) of every ```python block; other fences (json, text, sh) are skipped."""
    blocks = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{path.relative_to(ROOT)}:{line}", match[1]))
    return blocks


PYTHON_BLOCKS = _python_blocks()


@pytest.mark.parametrize(("where", "source"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_example_runs(where: str, source: str) -> None:
    exec(compile(source, where, "exec", dont_inherit=True), {"__name__": "doc_example"})


@pytest.mark.parametrize(
    "name", ["docs/protocol_v0.1.md", "docs/migration-examples.md", "VERSIONING.md"]
)
def test_document_has_python_examples(name: str) -> None:
    assert any(where.startswith(f"{name}:") for where, _ in PYTHON_BLOCKS), name


# --- MIGRATION.md: a table, a short entry per change, and a worked example for each -----------


def _sections(path: Path) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


MIGRATION = _sections(ROOT / "MIGRATION.md")
EXAMPLES = _sections(ROOT / "docs" / "migration-examples.md")


def test_every_migration_entry_has_a_worked_example() -> None:
    assert MIGRATION
    assert list(EXAMPLES) == list(MIGRATION)


@pytest.mark.parametrize("title", list(EXAMPLES))
def test_a_worked_example_shows_the_failing_call_and_the_fix(title: str) -> None:
    body = EXAMPLES[title]
    assert "```python\n" in body
    assert "pytest.raises(" in body  # the call that now fails
    assert "# fix:" in body  # and the change to make


def test_the_migration_table_lists_every_entry() -> None:
    text = (ROOT / "MIGRATION.md").read_text(encoding="utf-8")
    linked = re.findall(r"^\| \[.*?\]\(#([^)]+)\) \|", text, re.MULTILINE)
    entries = re.findall(r"\]\(docs/migration-examples\.md#([^)]+)\)", text)
    assert linked == entries  # one row per entry, in order; test_links checks the anchors
    assert len(entries) == len(MIGRATION)
