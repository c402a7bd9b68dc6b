"""The documents cite only what the repository contains: every relative link (and its anchor)
and every file path a document names exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [
        *(ROOT / name for name in ("README.md", "CONTRIBUTING.md", "MIGRATION.md")),
        *(ROOT / name for name in ("VERSIONING.md", "SECURITY.md", "CHANGELOG.md")),
        *(ROOT / "docs").glob("*.md"),
        ROOT / "benchmarks" / "notes.md",
    ]
)
# Files of other projects, cited as the source of their definitions, by document.
OTHER_PROJECTS = {
    "docs/metrics.md": ("vllm/", "genai_perf/", "guidellm/", "benchmarks/benchmark_serving.py"),
}
# Made by the tools, never part of the repository.
_NOT_CONTENT = {".git", ".venv", ".venvs", ".bench", "build", "dist", "__pycache__"}
_NOT_CONTENT |= {".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}

_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_PYTHON = re.compile(r"^```python\n.*?^```", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_URL = re.compile(r"[a-z]+://\S+")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_PATH = re.compile(
    r"(?<![\w/.<{*$-])"
    r"(?:[\w.][\w.-]*/)*(?:\w[\w.-]*\.(?:py|md|json|jsonl|toml|yml|yaml|txt)|[\w.][\w.-]*/)"
    r"(?![\w/<{*])"
)


def repository_paths(root: Path) -> set[str]:
    """Every file and directory of the repository, relative to its root, with ``/``."""
    found: set[str] = set()
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in _NOT_CONTENT]
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        found.update(prefix + name for name in (*subdirectories, *files))
    return found


PATHS = repository_paths(ROOT)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown document's headings (repeated headings get -1, -2, ...)."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        base = slug(heading)
        name, count = base, 0
        while name in found:
            count += 1
            name = f"{base}-{count}"
        found.add(name)
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links of ``path`` whose file (inside ``root``) or heading does not exist."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", path.read_text(encoding="utf-8")))
    broken = []
    for target in _LINK.findall(text):
        if _URL.match(target) or target.startswith("mailto:"):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        inside = linked.exists() and root in (linked, *linked.parents)
        if not inside or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    return broken


def _exists(named: str, paths: set[str]) -> bool:
    """Whether a path of the repository is ``named``, or ends with it (a path inside the
    package or the bundle, such as ``vectors/Request.json``, names it by its tail)."""
    name = named.removeprefix("./").rstrip("/")
    return any(path == name or path.endswith("/" + name) for path in paths)


def missing_paths(path: Path, paths: set[str] = PATHS, other: tuple[str, ...] = ()) -> list[str]:
    """File paths named in ``path`` (in prose, tables and shell examples; Python examples hold
    strings, not paths) that are not among ``paths`` and do not start with one of ``other``."""
    text = _PYTHON.sub("", _URL.sub("", path.read_text(encoding="utf-8")))
    text = _LINK.sub("", text)  # links are checked, anchors included, by broken_links
    named = {name for name in _PATH.findall(text) if not name.startswith(other)}
    return sorted(name for name in named if not _exists(name, paths))


IDS = [str(path.relative_to(ROOT)) for path in DOCUMENTS]


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_relative_link_exists(path: Path) -> None:
    assert broken_links(path) == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=IDS)
def test_every_named_file_exists(path: Path) -> None:
    other = OTHER_PROJECTS.get(path.relative_to(ROOT).as_posix(), ())
    assert missing_paths(path, PATHS, other) == []


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "protocol_v0.1.md").write_text("# Protocol\n\n## General rules\n")
    (tmp_path / "src" / "schemas" / "v0.1").mkdir(parents=True)
    (tmp_path / "src" / "schemas" / "v0.1" / "index.json").write_text("{}")
    document = tmp_path / "docs" / "page.md"
    document.write_text(
        "# Title\n\nSee [the page](protocol_v0.1.md#general-rules), [this](#title),\n"
        "[gone](protocol_v0.2.md), [no heading](protocol_v0.1.md#no-such-heading),\n"
        "[outside](../../elsewhere.md), `NOTES.md`, tests/test_nothing.py, docs/page.md\n"
        "and `schemas/v0.1/index.json`.\n",
        encoding="utf-8",
    )
    assert broken_links(document, tmp_path) == [
        "protocol_v0.2.md",
        "protocol_v0.1.md#no-such-heading",
        "../../elsewhere.md",
    ]
    paths = repository_paths(tmp_path)
    assert missing_paths(document, paths) == ["NOTES.md", "tests/test_nothing.py"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Token ids and token counts are >= 0", "token-ids-and-token-counts-are--0"),
        ("model_copy(update=...) is validated", "model_copyupdate-is-validated"),
        (
            'finish_reason is "error" exactly when error is given',
            "finish_reason-is-error-exactly-when-error-is-given",
        ),
        (
            "Migrating from the original `isagellm-protocol` 0.1.0",
            "migrating-from-the-original-isagellm-protocol-010",
        ),
    ],
)
def test_anchor_of_a_heading(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
