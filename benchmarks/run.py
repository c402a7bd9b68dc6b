#!/usr/bin/env python3
"""``make bench``: set up the benchmark environments, then run ``benchmarks/measure.py``.

Standard library only, so any Python 3 can start it. It builds, under ``.bench/`` (ignored by
git), with CPython 3.11 (the only Python the original wheel supports):

* ``.bench/original``: a virtual environment with the ORIGINAL package,
  ``isagellm-protocol==0.1.0`` from PyPI. Only its ``sagellm_protocol`` directory is used:
  measure.py imports it through a symlink, calls its public API and nothing else.
* ``.bench/runner``: a virtual environment with the same pydantic and msgspec, in which
  measure.py loads both packages into one process (this project's from ``src/``).

Each environment is built once and reused while its recipe is unchanged. Without CPython 3.11
or without the original wheel the run goes on: ours is measured against msgspec and the
pydantic-core floor, and docs/performance.md says why the original is missing.

    python3 benchmarks/run.py            # the full run (a few minutes), writes docs/performance.md
    python3 benchmarks/run.py --quick    # fewer rounds, to try the setup; writes nothing
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
ORIGINAL = "isagellm-protocol==0.1.0"
ORIGINAL_MINOR = (3, 11)


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python311() -> str | None:
    """A CPython 3.11: the newest one pyenv has, else ``python3.11`` on PATH, else None."""
    candidates: list[str] = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], check=False, capture_output=True, text=True)
        versions = Path(root.stdout.strip()) / "versions"
        if versions.is_dir():
            found = [
                (int(m[1]), entry)
                for entry in versions.iterdir()
                if (m := re.fullmatch(r"3\.11\.(\d+)", entry.name))
            ]
            candidates += [
                str(entry / "bin" / "python") for _, entry in sorted(found, reverse=True)
            ]
    on_path = shutil.which("python3.11")
    if on_path:
        candidates.append(on_path)
    if sys.version_info[:2] == ORIGINAL_MINOR:
        candidates.append(sys.executable)
    for python in candidates:
        if _version(python) == ORIGINAL_MINOR:
            return python
    return None


def _pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=False,
        capture_output=True,
        text=True,
    )


def ensure_venv(python: str, venv: Path, recipe: list[str]) -> tuple[Path | None, str]:
    """Create ``venv`` with ``python`` and ``pip install`` the ``recipe``; (python, problem)."""
    stamp = venv / ".recipe"
    wanted = "\n".join([python, *recipe])
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return venv_python, ""
    if venv.exists():
        shutil.rmtree(venv)
    _say(f"creating {venv.relative_to(ROOT)} ({' '.join(recipe)})")
    made = subprocess.run(
        [python, "-m", "venv", str(venv)], check=False, capture_output=True, text=True
    )
    if made.returncode != 0:
        return None, f"could not create a virtual environment: {made.stderr.strip()[-300:]}"
    installed = _pip(venv, "install", *recipe)
    if installed.returncode != 0:
        problem = (installed.stderr or installed.stdout).strip().splitlines()
        return None, "pip install failed: " + " ".join(problem[-3:])[-400:]
    stamp.write_text(wanted)
    return venv_python, ""


def _query(python: Path, code: str) -> str:
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds; write no report")
    args = parser.parse_args()

    python = find_python311()
    original_dir = ""
    original_problem = ""
    pydantic_pin = "pydantic"
    if python is None:
        python = sys.executable
        original_problem = (
            f"no CPython 3.11 found (pyenv or python3.11 on PATH); the original wheel "
            f"({ORIGINAL}) is built for CPython 3.11 only"
        )
    else:
        original, problem = ensure_venv(python, BENCH / "original", [ORIGINAL])
        if original is None:
            original_problem = f"{ORIGINAL} could not be installed: {problem}"
        else:
            original_dir = _query(
                original,
                "import os, sagellm_protocol; print(os.path.dirname(sagellm_protocol.__file__))",
            )
            # The runner gets the pydantic the original was installed with: one pydantic.
            pydantic_pin = "pydantic==" + _query(
                original, "import pydantic; print(pydantic.VERSION)"
            )
    # This project's package is not installed there: measure.py imports it from src/.
    runner, problem = ensure_venv(python, BENCH / "runner", [pydantic_pin, "msgspec"])
    if runner is None:
        _say(f"cannot set up the runner: {problem}")
        return 1
    if original_problem:
        _say(f"measuring without the original package: {original_problem}")
    command = [
        str(runner),
        str(ROOT / "benchmarks" / "measure.py"),
        "--src",
        str(ROOT / "src"),
        "--original",
        original_dir,
        "--original-problem",
        original_problem,
    ]
    if args.quick:
        command.append("--quick")
    else:
        command += ["--report", str(ROOT / "docs" / "performance.md")]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(command, check=False, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
