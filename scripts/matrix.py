#!/usr/bin/env python3
"""Set up virtual environments and run every check on every supported interpreter.

``python scripts/matrix.py setup``   create or update ``.venv`` (the development environment)
``python scripts/matrix.py test``    lint, type checks, Level-0 checks and the test suite:
                                     the full suite on the main interpreter (newest pydantic),
                                     the suite with a smaller hypothesis profile on every other
                                     CPython 3.10-3.13 found through pyenv, and once each against
                                     the pydantic floor and a pydantic release in between

Interpreters are run by their full path (``$(pyenv root)/versions/X/bin/python``); without
pyenv, ``python3`` alone is used. Standard library only, so any Python 3 can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_MINORS = (10, 11, 12, 13)
MAIN_MINOR = 12


@dataclass(frozen=True)
class Interpreter:
    """A CPython found on this machine."""

    version: str
    path: str

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])


def _version_of(python: str) -> str:
    return _query(python, "import platform; print(platform.python_version())")


def discover() -> list[Interpreter]:
    """The newest patch release of each supported minor version that pyenv has, else python3."""
    pyenv = shutil.which("pyenv")
    found: dict[int, tuple[tuple[int, ...], Interpreter]] = {}
    if pyenv:
        root = subprocess.run([pyenv, "root"], check=True, capture_output=True, text=True)
        versions = Path(root.stdout.strip()) / "versions"
        for entry in sorted(versions.iterdir()) if versions.is_dir() else []:
            match = re.fullmatch(r"3\.(\d+)\.(\d+)", entry.name)
            python = entry / "bin" / "python"
            if not match or not python.exists():
                continue
            minor, patch = int(match[1]), int(match[2])
            if minor in SUPPORTED_MINORS and (
                minor not in found or found[minor][0] < (minor, patch)
            ):
                found[minor] = ((minor, patch), Interpreter(entry.name, str(python)))
    if found:
        return [found[minor][1] for minor in sorted(found)]
    python3 = shutil.which("python3") or sys.executable
    return [Interpreter(_version_of(python3), python3)]


def main_interpreter(interpreters: list[Interpreter]) -> Interpreter:
    for interpreter in interpreters:
        if interpreter.minor == MAIN_MINOR:
            return interpreter
    return interpreters[-1]


def pydantic_floor() -> str:
    """The lowest pydantic the package declares (``pydantic>=X.Y`` in pyproject.toml)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"pydantic>=([0-9][0-9.]*)"', text)
    if not match:
        raise SystemExit("pyproject.toml: no pydantic>=X.Y requirement found")
    floor = match[1]
    return floor if floor.count(".") == 2 else f"{floor}.0"


def pydantic_between(floor: str, newest: str) -> str | None:
    """A pip requirement for the pydantic minor release halfway between ``floor`` and
    ``newest`` (its latest patch), or None when they are adjacent minors."""
    low, high = int(floor.split(".")[1]), int(newest.split(".")[1])
    if high - low < 2:
        return None
    return f"pydantic=={floor.split('.', maxsplit=1)[0]}.{(low + high) // 2}.*"


def installed_pydantic(venv_python: Path) -> str:
    """The pydantic version installed in a virtual environment."""
    return _query(str(venv_python), "import pydantic; print(pydantic.VERSION)")


def _query(python: str, code: str) -> str:
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def run(cmd: list[str], *, env: dict[str, str] | None = None, quiet: bool = False) -> bool:
    shown = " ".join(cmd)
    print(f"$ {shown}", flush=True)
    result = subprocess.run(
        cmd,
        check=False,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
    )
    if result.returncode != 0 and quiet and result.stdout:
        print(result.stdout)
    return result.returncode == 0


def ensure_venv(python: str, venv: Path, extras: str, constraint: str | None = None) -> Path:
    """Create ``venv`` if needed and install the package with ``extras``; return its python."""
    stamp_text = "\n".join(
        [
            python,
            extras,
            constraint or "",
            hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest(),
        ]
    )
    stamp = venv / ".installed"
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and stamp.exists() and stamp.read_text() == stamp_text:
        return venv_python
    if venv_python.exists() and _version_of(str(venv_python)) != _version_of(python):
        shutil.rmtree(venv)  # built by another interpreter: start again
    if not venv_python.exists() and not run([python, "-m", "venv", str(venv)]):
        raise SystemExit(f"could not create {venv}")
    pip = [str(venv_python), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", "--upgrade", "pip"], quiet=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    install = [*pip, "install", "-q", "-e", target]
    if constraint:
        install.append(constraint)
    if not run(install, quiet=True):
        raise SystemExit(f"could not install the package into {venv}")
    stamp.write_text(stamp_text)
    return venv_python


def setup() -> Path:
    """The development environment ``.venv``: the main interpreter with the dev extras."""
    interpreter = main_interpreter(discover())
    return ensure_venv(interpreter.path, ROOT / ".venv", "dev")


def _bin(venv_python: Path, tool: str) -> str:
    return str(venv_python.parent / tool)


def main_checks(venv_python: Path) -> list[tuple[str, bool]]:
    py = str(venv_python)
    checks = [
        ("ruff format", [_bin(venv_python, "ruff"), "format", "--check", "."]),
        ("ruff check", [_bin(venv_python, "ruff"), "check", "."]),
        ("mypy", [_bin(venv_python, "mypy")]),
        ("verify_level0", [py, "scripts/verify_level0.py"]),
        ("field names", [py, "scripts/check_field_names.py"]),
    ]
    return [(name, run(cmd)) for name, cmd in checks]


def pytest(venv_python: Path, profile: str) -> bool:
    return run(
        [str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto"],
        env={"HYPOTHESIS_PROFILE": profile},
    )


def test() -> int:
    started = time.monotonic()
    interpreters = discover()
    main = main_interpreter(interpreters)
    results: list[tuple[str, bool]] = []

    print(
        f"== Python {main.version} (main): lint, type checks, Level-0 checks, full suite",
        flush=True,
    )
    venv_python = setup()
    checks = main_checks(venv_python)
    suite_ok = pytest(venv_python, "full")  # run even when a check failed: report everything
    results.append((f"Python {main.version}", all(ok for _, ok in checks) and suite_ok))
    for name, ok in checks:
        if not ok:
            print(f"   failed: {name}")

    for interpreter in interpreters:
        if interpreter is main:
            continue
        print(f"== Python {interpreter.version}: suite (quick profile)", flush=True)
        venv = ROOT / ".venvs" / interpreter.version
        results.append(
            (
                f"Python {interpreter.version}",
                pytest(ensure_venv(interpreter.path, venv, "test"), "quick"),
            )
        )

    # The package leans on pydantic internals in one module (``_pydantic``); its tests must
    # hold on the lowest supported pydantic, the newest (the main run) and one in between.
    floor = pydantic_floor()
    newest = installed_pydantic(venv_python)
    oldest = interpreters[0]
    runs = [(oldest, f"pydantic=={floor}", f"pydantic {floor} (the declared floor)")]
    between = pydantic_between(floor, newest)
    if between is not None:
        other = interpreters[1] if len(interpreters) > 1 else oldest
        runs.append((other, between, f"{between} (between the floor and {newest})"))
    for interpreter, constraint, label in runs:
        print(f"== Python {interpreter.version} with {label}", flush=True)
        name = constraint.replace("==", "-").replace(".*", "")
        venv = ROOT / ".venvs" / f"{interpreter.version}-{name}"
        python = ensure_venv(interpreter.path, venv, "test", constraint=constraint)
        shown = f"Python {interpreter.version} with pydantic {installed_pydantic(python)}"
        results.append((shown, pytest(python, "quick")))

    print()
    for label, ok in results:
        print(f"{label}: {'passed' if ok else 'FAILED'}")
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if all(ok for _, ok in results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["setup", "test"])
    args = parser.parse_args()
    if args.command == "setup":
        print(setup())
        return 0
    return test()


if __name__ == "__main__":
    sys.exit(main())
