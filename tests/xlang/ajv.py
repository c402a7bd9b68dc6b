"""Ajv, installed once from the npm registry into a cache, and ``check_vectors.js`` run with it.

``package.json`` and ``package-lock.json`` beside this file pin Ajv and its dependencies to
exact versions. ``installed_modules()`` runs ``npm ci`` into ``.xlang/`` at the repository root
(git ignores it) the first time, and again only when the lock file changes. Any number of
processes may call it at once (pytest-xdist workers, several interpreters): an exclusive file
lock lets one install while the others wait, and the install goes to a staging directory that
replaces the old modules only when complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / ".xlang"
SCRIPT = HERE / "check_vectors.js"
PINNED = ("package.json", "package-lock.json")

SKIP_VARIABLE = "SAGELLM_SKIP_XLANG"
"""Set to 1 to skip the cross-language test where Node.js cannot be had (CI never sets it)."""

INSTALL_TIMEOUT = 600.0
RUN_TIMEOUT = 120.0


class NodeNotFoundError(Exception):
    """``node`` or ``npm`` is not on PATH."""


def tools() -> tuple[str, str]:
    """The paths of ``node`` and ``npm``; ``NodeNotFoundError`` names what is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if node is None or npm is None:
        raise NodeNotFoundError(
            f"the cross-language test needs Node.js: {' and '.join(missing)} not found on PATH. "
            f"Install Node.js 18 or later with npm, or set {SKIP_VARIABLE}=1 to skip the test."
        )
    return node, npm


def _wanted() -> str:
    """What the cache must have been installed from: the pinned files' digest."""
    digest = hashlib.sha256()
    for name in PINNED:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def installed_modules(cache: Path = CACHE) -> Path:
    """The ``node_modules`` directory holding the pinned Ajv, installed if needed."""
    modules, stamp = cache / "node_modules", cache / "installed-from"
    if stamp.is_file() and stamp.read_text() == _wanted() and modules.is_dir():
        return modules
    _, npm = tools()
    cache.mkdir(exist_ok=True)
    with (cache / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if stamp.is_file() and stamp.read_text() == _wanted() and modules.is_dir():
            return modules  # another process installed it while this one waited
        stamp.unlink(missing_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache))
        try:
            for name in PINNED:
                shutil.copyfile(HERE / name, staging / name)
            _npm_ci(npm, staging)
            shutil.rmtree(modules, ignore_errors=True)
            (staging / "node_modules").rename(modules)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        stamp.write_text(_wanted())
    return modules


def _npm_ci(npm: str, prefix: Path) -> None:
    command = [npm, "ci", "--prefix", str(prefix), "--ignore-scripts", "--no-audit", "--no-fund"]
    environment = {**os.environ, "NPM_CONFIG_UPDATE_NOTIFIER": "false"}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RuntimeError(f"npm ci failed (exit {result.returncode}):\n{tail}")


def check_vectors(bundle: Path, modules: Path) -> subprocess.CompletedProcess[str]:
    """``node check_vectors.js BUNDLE`` with Ajv from ``modules``."""
    node, _ = tools()
    return subprocess.run(
        [node, str(SCRIPT), str(bundle)],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(modules)},
        timeout=RUN_TIMEOUT,
        check=False,
    )
