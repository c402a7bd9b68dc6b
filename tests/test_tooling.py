"""The Level-0 rule, the snake_case rule, the hooks and the CI workflow are checked, and each
check can fail."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from pydantic import BaseModel

from sagellm_protocol._naming import bad_field_names

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


verify_level0 = load_script("verify_level0")


def _fake_wheel(directory: Path, name: str, requires: list[str], *, typed: bool = True) -> Path:
    wheel = directory / name
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("sagellm_protocol/__init__.py", "")
        if typed:
            archive.writestr("sagellm_protocol/py.typed", "")
        lines = ["Metadata-Version: 2.1", "Name: isagellm-protocol", "Version: 0.1.0"]
        lines += [f"Requires-Dist: {requirement}" for requirement in requires]
        archive.writestr("isagellm_protocol-0.1.0.dist-info/METADATA", "\n".join(lines) + "\n")
    return wheel


def test_verify_level0_passes_on_this_project() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "verify_level0.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_wheel_requiring_only_pydantic_passes(tmp_path: Path) -> None:
    wheel = _fake_wheel(
        tmp_path,
        "isagellm_protocol-0.1.0-py3-none-any.whl",
        ["pydantic>=2.7", 'hypothesis>=6; extra == "testing"'],
    )
    assert verify_level0.wheel_problems(wheel) == []


@pytest.mark.parametrize("extra", ["numpy", "torch>=2", "sagellm-backend", "typing-extensions"])
def test_wheel_requiring_anything_else_fails(tmp_path: Path, extra: str) -> None:
    wheel = _fake_wheel(
        tmp_path, "isagellm_protocol-0.1.0-py3-none-any.whl", ["pydantic>=2.7", extra]
    )
    problems = verify_level0.wheel_problems(wheel)
    assert len(problems) == 1
    assert extra in problems[0]


def test_platform_wheel_fails(tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path, "isagellm_protocol-0.1.0-cp311-none-any.whl", ["pydantic"])
    assert any("py3-none-any" in p for p in verify_level0.wheel_problems(wheel))


def test_wheel_without_py_typed_fails(tmp_path: Path) -> None:
    wheel = _fake_wheel(
        tmp_path, "isagellm_protocol-0.1.0-py3-none-any.whl", ["pydantic"], typed=False
    )
    assert any("py.typed" in p for p in verify_level0.wheel_problems(wheel))


def test_import_of_a_foreign_module_fails() -> None:
    stdlib = sysconfig.get_path("stdlib")
    loaded = {
        "json": f"{stdlib}/json/__init__.py",
        "_sysconfigdata__linux": f"{stdlib}/_sysconfigdata__linux.py",
        "pydantic_core": "/venv/lib/site-packages/pydantic_core/__init__.py",
        "numpy": "/venv/lib/site-packages/numpy/__init__.py",
        "hypothesis.strategies": "/venv/lib/site-packages/hypothesis/strategies/__init__.py",
    }
    problems = verify_level0.module_problems(loaded)
    assert len(problems) == 2
    assert "'numpy'" in problems[0]
    assert "'hypothesis.strategies'" in problems[1]


def test_import_loads_only_allowed_modules() -> None:
    assert verify_level0.import_problems() == []


def test_the_http_app_import_is_checked_too() -> None:
    assert verify_level0.IMPORTED_MODULES == ("sagellm_protocol", "sagellm_protocol.asgi")
    (problem,) = verify_level0.module_problems(
        {"uvicorn": "/venv/lib/site-packages/uvicorn/__init__.py"}, "sagellm_protocol.asgi"
    )
    assert problem.startswith("import sagellm_protocol.asgi loads 'uvicorn'")


def test_field_names_are_snake_case() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_field_names.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_field_name_check_flags_other_cases() -> None:
    class Bad(BaseModel):
        ok_name: int = 0
        camelCase: int = 0  # noqa: N815
        trailing_: int = 0
        double__under: int = 0
        digit1_ok: int = 0

    assert bad_field_names([Bad]) == [
        "Bad.camelCase",
        "Bad.trailing_",
        "Bad.double__under",
    ]


def test_pre_commit_hooks_are_local_only() -> None:
    text = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    repos = [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.strip().startswith("- repo:")
    ]
    assert repos == ["local"]
    for hook in ("ruff-format", "ruff-check", "mypy", "verify-level0", "field-names"):
        assert f"id: {hook}" in text


def _check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    """Validate a workflow file offline against check-jsonschema's vendored workflow schema."""
    checker = str(Path(sys.executable).parent / "check-jsonschema")
    command = [checker, "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_github_workflow_is_valid() -> None:
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    result = _check_workflow(workflow)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text(encoding="utf-8")
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f'"{version}"' in text


def test_broken_workflow_is_rejected(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps: 5\n", encoding="utf-8")
    assert _check_workflow(broken).returncode != 0


def test_import_probe_failure_is_a_clear_problem(tmp_path: Path) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text(
        "#!/bin/sh\necho 'ModuleNotFoundError: No module named sagellm_protocol' >&2\nexit 1\n"
    )
    fake_python.chmod(0o755)
    (problem,) = verify_level0.import_problems(str(fake_python))
    assert "failed in a clean interpreter" in problem
    assert "No module named sagellm_protocol" in problem
