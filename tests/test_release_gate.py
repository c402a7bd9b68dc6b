"""The compatibility gate: the current bundle against every released one."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from sagellm_protocol import ProtocolError, StreamEvent, __version__, decode, encode
from sagellm_protocol.compat import (
    Allowance,
    CompatReport,
    compare_bundles,
    load_allowances,
    load_bundle,
)
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "src" / "sagellm_protocol" / "schemas"
CURRENT = SCHEMAS / "v0.1"


def _releases() -> list[Path]:
    def key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.name.split("."))

    return sorted((SCHEMAS / "releases").iterdir(), key=key)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _allowances(release: Path) -> list[Allowance]:
    """The reviewed changes since ``release`` that the gate lets through (``allowed/``)."""
    path = SCHEMAS / "allowed" / f"{release.name}.json"
    return load_allowances(path) if path.exists() else []


def _gate(release: Path) -> CompatReport:
    """What ``make compat`` reports for ``release``: every change, the allowed ones marked."""
    report = compare_bundles(release, CURRENT)
    assert report.allow(_allowances(release)) == [], f"stale allowance for {release.name}"
    return report


def test_released_bundles_are_complete() -> None:
    releases = _releases()
    assert releases, "no released bundle in schemas/releases"
    for release in releases:
        assert load_bundle(release)


def test_every_allowance_file_belongs_to_a_release() -> None:
    releases = {release.name for release in _releases()}
    for path in (SCHEMAS / "allowed").glob("*.json"):
        assert path.stem in releases, path.name
        assert json.loads(path.read_text(encoding="utf-8"))["release"] == path.stem


def test_no_breaking_change_since_any_release() -> None:
    for release in _releases():
        breaking = _gate(release).breaking
        assert breaking == [], "\n".join(f"{release.name}: {c.describe()}" for c in breaking)


def test_a_schema_change_bumps_the_version() -> None:
    last = _releases()[-1]
    report = _gate(last)
    if [change for change in report.changes if change.allowed is None]:
        assert _version(__version__) > _version(last.name), (
            f"the schemas changed since {last.name}: bump the package version past it"
        )
    else:
        assert _version(__version__) >= _version(last.name)


# --- the one allowed change since 0.1.0: the stream event union requires the tag ---------------

RELEASE_0_1_0 = SCHEMAS / "releases" / "0.1.0"
UNION_MEMBERS = ("StreamEventStart", "StreamEventDelta", "StreamEventEnd")


def test_the_0_1_0_allowance_is_the_union_tag_alone() -> None:
    report = compare_bundles(RELEASE_0_1_0, CURRENT)
    report.allow(_allowances(RELEASE_0_1_0))
    assert [(c.kind, c.location, c.old, c.new) for c in report.allowed] == [
        ("optional_to_required", f"StreamEvent.json#{name}.event", "optional", "required")
        for name in UNION_MEMBERS
    ]


@pytest.mark.parametrize("name", UNION_MEMBERS)
def test_the_0_1_0_union_schema_let_an_untagged_event_through(name: str) -> None:
    untagged = json.loads(encode(example(MESSAGE_TYPES[name])))
    del untagged["event"]
    released = json.loads((RELEASE_0_1_0 / "StreamEvent.json").read_text(encoding="utf-8"))
    current = json.loads((CURRENT / "StreamEvent.json").read_text(encoding="utf-8"))
    assert jsonschema.Draft202012Validator(released).is_valid(untagged)
    assert not jsonschema.Draft202012Validator(current).is_valid(untagged)
    with pytest.raises(ProtocolError):  # what the models have always done
        decode(StreamEvent, json.dumps(untagged))
