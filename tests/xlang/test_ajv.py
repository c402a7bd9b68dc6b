"""The bundle in another language: the golden vectors through Ajv (JavaScript), schemas alone.

``check_vectors.js`` compiles every schema in Ajv's strict mode and gives each vector to the
schema of its type. Every accepted vector must pass, every rejection the schema can state
(``schema_states_rule``) must be refused, and the rejections it cannot state are counted by
kind (``schema_gap``). Needs Node.js and npm; Ajv comes from the npm registry, pinned by
``package-lock.json`` (see ``ajv.py``). Without Node.js the test fails, unless
``SAGELLM_SKIP_XLANG=1`` asks to skip it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sagellm_protocol.schema import BUNDLE_VERSION, SCHEMA_GAPS

from . import ajv

BUNDLE = ajv.ROOT / "src" / "sagellm_protocol" / "schemas" / BUNDLE_VERSION
RELEASE_0_1_0 = ajv.ROOT / "src" / "sagellm_protocol" / "schemas" / "releases" / "0.1.0"


@pytest.fixture(scope="module")
def modules() -> Path:
    if os.environ.get(ajv.SKIP_VARIABLE) == "1":
        pytest.skip(f"{ajv.SKIP_VARIABLE}=1: the cross-language test is skipped")
    try:
        ajv.tools()
    except ajv.NodeNotFoundError as exc:
        problem = str(exc)
    else:
        return ajv.installed_modules()
    pytest.fail(problem, pytrace=False)


def _run(bundle: Path, modules: Path) -> tuple[int, dict[str, Any]]:
    result = ajv.check_vectors(bundle, modules)
    assert result.stdout, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


@pytest.fixture(scope="module")
def report(modules: Path) -> dict[str, Any]:
    status, found = _run(BUNDLE, modules)
    assert status == (1 if found["disagreements"] or found["compile_errors"] else 0)
    return found


def _vectors() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((BUNDLE / "vectors").glob("*.json"))
    }


def test_ajv_is_the_pinned_version(report: dict[str, Any]) -> None:
    lock = json.loads((ajv.HERE / "package-lock.json").read_text(encoding="utf-8"))
    assert report["validator"] == f"ajv {lock['packages']['node_modules/ajv']['version']}"


def test_every_schema_compiles_in_strict_mode(report: dict[str, Any]) -> None:
    index = json.loads((BUNDLE / "index.json").read_text(encoding="utf-8"))
    assert report["compile_errors"] == {}
    assert report["compiled"] == index["types"]


def test_ajv_agrees_with_every_vector(report: dict[str, Any]) -> None:
    assert report["disagreements"] == []


def test_ajv_accepts_every_accepted_vector(report: dict[str, Any]) -> None:
    assert report["accepted"] == sum(len(c["accepted"]) for c in _vectors().values())


def test_ajv_refuses_every_rejection_the_schema_states(report: dict[str, Any]) -> None:
    rejected = [v for content in _vectors().values() for v in content["rejected"]]
    assert report["refused"] == sum(1 for v in rejected if v["schema_states_rule"])


def test_rejections_the_schema_cannot_state_are_counted_by_kind(report: dict[str, Any]) -> None:
    rejected = [v for content in _vectors().values() for v in content["rejected"]]
    unstated = Counter(v["schema_gap"] for v in rejected if not v["schema_states_rule"])
    assert report["unstated"] == dict(unstated)
    assert set(report["unstated"]) == set(SCHEMA_GAPS)


# --- the test can fail: a bundle with the faults of the 0.1.0 union schema ----------------------


def _bundle_with_union(tmp_path: Path, union: dict[str, Any]) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy)
    (copy / "StreamEvent.json").write_text(json.dumps(union), encoding="utf-8")
    return copy


def test_the_openapi_discriminator_does_not_compile(modules: Path, tmp_path: Path) -> None:
    released = json.loads((RELEASE_0_1_0 / "StreamEvent.json").read_text(encoding="utf-8"))
    status, found = _run(_bundle_with_union(tmp_path, released), modules)
    assert status == 1
    assert list(found["compile_errors"]) == ["StreamEvent"]
    assert 'unknown keyword: "discriminator"' in found["compile_errors"]["StreamEvent"]


def test_a_union_that_does_not_require_its_tag_disagrees(modules: Path, tmp_path: Path) -> None:
    released = json.loads((RELEASE_0_1_0 / "StreamEvent.json").read_text(encoding="utf-8"))
    del released["discriminator"]
    status, found = _run(_bundle_with_union(tmp_path, released), modules)
    assert status == 1
    assert found["disagreements"] == [
        {
            "type": "StreamEvent",
            "description": "event: the tag is required",
            "expected": "refused",
            "found": "accepted",
        }
    ]


# --- installing Ajv ---------------------------------------------------------------------------


def test_an_installed_cache_is_used_as_it_is(
    modules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_npm(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise AssertionError("npm ran although the cache is installed")

    monkeypatch.setattr(subprocess, "run", no_npm)
    assert ajv.installed_modules() == modules


def test_a_cache_from_another_lock_file_is_installed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_npm(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        (Path(command[command.index("--prefix") + 1]) / "node_modules" / "ajv").mkdir(parents=True)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_npm)
    monkeypatch.setattr(ajv, "tools", lambda: ("node", "npm"))
    (tmp_path / "node_modules" / "stale").mkdir(parents=True)
    (tmp_path / "installed-from").write_text("another lock file")
    modules = ajv.installed_modules(tmp_path)
    assert [command[:2] for command in calls] == [["npm", "ci"]]
    assert sorted(path.name for path in modules.iterdir()) == ["ajv"]
    assert ajv.installed_modules(tmp_path) == modules
    assert len(calls) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "installed-from",
        "lock",
        "node_modules",
    ]


def test_without_node_the_test_fails_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ajv.NodeNotFoundError, match="node and npm not found on PATH"):
        ajv.tools()
