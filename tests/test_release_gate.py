"""The compatibility gate: the current bundle against the last released one."""

from __future__ import annotations

from pathlib import Path

from sagellm_protocol import __version__
from sagellm_protocol.compat import compare_bundles, load_bundle

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "src" / "sagellm_protocol" / "schemas"
CURRENT = SCHEMAS / "v0.1"


def _releases() -> list[Path]:
    def key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.name.split("."))

    return sorted((SCHEMAS / "releases").iterdir(), key=key)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_released_bundles_are_complete() -> None:
    releases = _releases()
    assert releases, "no released bundle in schemas/releases"
    for release in releases:
        assert load_bundle(release)


def test_no_breaking_change_since_any_release() -> None:
    for release in _releases():
        breaking = compare_bundles(release, CURRENT).breaking
        assert breaking == [], "\n".join(f"{release.name}: {c.describe()}" for c in breaking)


def test_a_schema_change_bumps_the_version() -> None:
    last = _releases()[-1]
    report = compare_bundles(last, CURRENT)
    if report.changes:
        assert _version(__version__) > _version(last.name), (
            f"the schemas changed since {last.name}: bump the package version past it"
        )
    else:
        assert _version(__version__) >= _version(last.name)
