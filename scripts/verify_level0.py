#!/usr/bin/env python3
"""Verify the Level-0 rule: the package depends on pydantic and nothing else.

1. The built wheel is ``py3-none-any``, ships ``py.typed``, and its metadata requires nothing
   but pydantic (requirements behind an extra, such as ``testing``, are optional and allowed).
2. ``import sagellm_protocol``, and ``import sagellm_protocol.asgi`` (the HTTP app), each in a
   clean subprocess, load only modules of the standard library, of pydantic and of pydantic's
   own dependencies (and the package itself): serving needs no web framework.

Exit status 0 when both hold, 1 otherwise. ``--wheel PATH`` checks a given wheel instead of
building one.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sagellm_protocol"
ALLOWED_DISTRIBUTION = "pydantic"

IMPORTED_MODULES = ("sagellm_protocol", "sagellm_protocol.asgi")
"""The imports checked: the package, and the HTTP app with everything it serves through."""

_IMPORT_PROBE = """
import json, sys
before = set(sys.modules)
import {module}
new = sorted(set(sys.modules) - before)
print(json.dumps({{name: getattr(sys.modules[name], "__file__", None) for name in new}}))
"""


def build_wheel(directory: Path) -> Path:
    """Build the project's wheel into ``directory`` and return its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(directory), str(ROOT)],
        check=True,
    )
    (wheel,) = directory.glob("*.whl")
    return wheel


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return "" if match is None else re.sub(r"[-_.]+", "-", match[1]).lower()


def wheel_problems(wheel: Path) -> list[str]:
    """Every way ``wheel`` breaks the Level-0 packaging rule."""
    problems = []
    if not wheel.name.endswith("-py3-none-any.whl"):
        problems.append(f"{wheel.name}: not a pure-Python py3-none-any wheel")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        if f"{PACKAGE}/py.typed" not in names:
            problems.append(f"{wheel.name}: {PACKAGE}/py.typed is missing")
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata_name).decode("utf-8")
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = line.split(":", 1)[1].strip()
        if "extra ==" in requirement.replace('"', "'").replace("extra=='", "extra == '"):
            continue
        if _name(requirement) != ALLOWED_DISTRIBUTION:
            problems.append(f"{wheel.name}: requires {requirement!r}; only pydantic is allowed")
    return problems


def _top_level_modules(distribution: str) -> set[str]:
    """Top-level import names of an installed distribution, read from its RECORD."""
    modules = set()
    for file in metadata.distribution(distribution).files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first in {"..", "__pycache__"}:
            continue
        name = first.split(".")[0] if len(file.parts) == 1 else first
        if name.isidentifier():
            modules.add(name)
    return modules


def allowed_top_level_modules() -> set[str]:
    """Top-level modules of pydantic and of everything pydantic requires (transitively)."""
    allowed: set[str] = {PACKAGE}
    pending, seen = [ALLOWED_DISTRIBUTION], set()
    while pending:
        distribution = pending.pop()
        if distribution in seen:
            continue
        seen.add(distribution)
        try:
            allowed |= _top_level_modules(distribution)
            requirements = metadata.requires(distribution) or []
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python version
        pending += [_name(r) for r in requirements if "extra ==" not in r and "extra==" not in r]
    return allowed


def import_problems(python: str = sys.executable) -> list[str]:
    """Modules that the ``IMPORTED_MODULES`` load and the Level-0 rule does not allow."""
    problems = []
    for module in IMPORTED_MODULES:
        result = subprocess.run(
            [python, "-I", "-c", _IMPORT_PROBE.format(module=module)],
            check=False,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return [
                f"import {module} failed in a clean interpreter ({python}): {last}; "
                "is it installed?"
            ]
        loaded: dict[str, str | None] = json.loads(result.stdout)
        problems += module_problems(loaded, module)
    return problems


def module_problems(loaded: dict[str, str | None], imported: str = PACKAGE) -> list[str]:
    """Problems among ``loaded`` (module name -> file): modules outside stdlib and pydantic."""
    allowed = allowed_top_level_modules() | set(sys.stdlib_module_names)
    return [
        f"import {imported} loads {module!r}, which is neither the standard library nor pydantic's"
        for module, path in loaded.items()
        if module.split(".")[0] not in allowed and not _in_standard_library(path)
    ]


def _in_standard_library(path: str | None) -> bool:
    """True for a module file of the standard library (e.g. ``_sysconfigdata_*``)."""
    if path is None:
        return False
    stdlib = {Path(sysconfig.get_path(key)).resolve() for key in ("stdlib", "platstdlib")}
    resolved = Path(path).resolve()
    return "site-packages" not in resolved.parts and any(
        resolved.is_relative_to(directory) for directory in stdlib
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheel", type=Path, help="check this wheel instead of building one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or build_wheel(Path(tmp))
        problems = wheel_problems(wheel) + import_problems()
    for problem in problems:
        print(f"verify_level0: {problem}", file=sys.stderr)
    if not problems:
        print(
            "verify_level0: ok (wheel requires pydantic only; import sagellm_protocol and "
            "sagellm_protocol.asgi load stdlib + pydantic only)"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
