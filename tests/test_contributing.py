"""CONTRIBUTING.md's walk-through holds: adding an optional field to Request takes types.py,
``make schema``, a version bump and a CHANGELOG line, and nothing else for the generated files.

The test follows the walk-through on a copy of the repository (with the copy's ``src`` first on
``PYTHONPATH``), and runs the checks that guard the generated files: schema drift, golden
vectors, protocol page drift, the compatibility gate and the release gate. Before ``make
schema`` the generated-file checks must fail; after it every check must pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sagellm_protocol import Request

ROOT = Path(__file__).resolve().parent.parent
COPIED = ["src", "scripts", "tests", "docs", "Makefile", "VERSIONING.md", "CHANGELOG.md"]
COPIED += ["pyproject.toml"]
VECTORS = Path("src", "sagellm_protocol", "schemas", "v0.1", "vectors")
GENERATED_FILE_CHECKS = {"schema bundle", "golden vectors", "protocol page"}


def walkthrough_field() -> str:
    """The field of CONTRIBUTING.md's walk-through, indented as in a class body."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough:field -->\n( *)```python\n(.*?)\n *```", text, re.DOTALL)
    assert match, "CONTRIBUTING.md has no walk-through field"
    return "\n".join(line.removeprefix(match[1]) for line in match[2].splitlines())


def _copy(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def _add_field(copy: Path, field: str) -> None:
    path = copy / "src" / "sagellm_protocol" / "types.py"
    text = path.read_text(encoding="utf-8")
    end = text.index("\n\n\nclass ", text.index("class Request("))
    path.write_text(text[:end] + "\n" + field + text[end:], encoding="utf-8")


def _bump_patch_version(copy: Path) -> None:
    path = copy / "src" / "sagellm_protocol" / "_version.py"
    text = path.read_text(encoding="utf-8")

    def bump(match: re.Match[str]) -> str:
        return f'__version__ = "{match[1]}.{int(match[2]) + 1}"'

    bumped, count = re.subn(r'__version__ = "(\d+\.\d+)\.(\d+)"', bump, text)
    assert count == 1
    path.write_text(bumped, encoding="utf-8")


def _note_in_changelog(copy: Path, line: str) -> None:
    path = copy / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    noted, count = re.subn(r"(## \[Unreleased\]\n\n### Added\n)", rf"\1{line}\n", text, count=1)
    assert count == 1
    path.write_text(noted, encoding="utf-8")


def _run(copy: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))
    }
    env["PYTHONPATH"] = str(copy / "src")
    return subprocess.run(
        command, cwd=copy, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def _make(copy: Path, target: str) -> subprocess.CompletedProcess[str]:
    """``make TARGET`` with the running interpreter, without recreating an environment."""
    return _run(copy, "make", "-o", "setup", target, f"VENV_PY={sys.executable}")


def _texts(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.json")}


def _checks(copy: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each check that guards the generated files, by name (return code 0 when it passes)."""
    python = sys.executable
    fresh = copy / "fresh-vectors"
    vectors = _run(copy, python, "-m", "scripts.gen_vectors", "--out", str(fresh))
    if vectors.returncode == 0 and _texts(fresh) != _texts(copy / VECTORS):
        vectors.returncode = 1
        vectors.stderr += "the committed vectors differ from the generated ones"
    shutil.rmtree(fresh, ignore_errors=True)
    bundle = "src/sagellm_protocol/schemas/v0.1"
    return {
        "schema bundle": _run(copy, python, "-m", "sagellm_protocol", "schema", "--check", bundle),
        "golden vectors": vectors,
        "protocol page": _run(copy, python, "scripts/gen_docs.py", "--check"),
        "compatibility gate": _make(copy, "compat"),
        "release gate": _run(
            copy,
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_release_gate.py",
        ),
    }


def _failing(results: dict[str, subprocess.CompletedProcess[str]]) -> dict[str, str]:
    return {
        name: (result.stdout + result.stderr)[-2000:]
        for name, result in results.items()
        if result.returncode != 0
    }


def test_adding_an_optional_field_takes_types_make_schema_and_a_version_bump(
    tmp_path: Path,
) -> None:
    field = walkthrough_field()
    name = field.split(":")[0].strip()
    assert name not in Request.model_fields, (
        f"Request has {name} now: give the walk-through in CONTRIBUTING.md a new field"
    )
    copy = _copy(tmp_path)
    _add_field(copy, field)
    _bump_patch_version(copy)
    _note_in_changelog(copy, f"- `Request.{name}`, optional.")

    skipped = _failing(_checks(copy))
    assert set(skipped) == GENERATED_FILE_CHECKS, skipped

    schema = _make(copy, "schema")
    assert schema.returncode == 0, schema.stdout + schema.stderr
    results = _checks(copy)
    assert _failing(results) == {}
    compat = results["compatibility gate"].stdout
    assert f"WARNING  Request.{name}: field added optional" in compat, compat
    vectors = (copy / VECTORS / "Request.json").read_text(encoding="utf-8")
    assert f'"description": "{name}: ' in vectors, "no golden vectors for the new field"
