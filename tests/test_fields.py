"""Fields added within 0.1.x follow the promise of VERSIONING.md, judged against every release.

A field that no released bundle has is new: it comes after the released fields and is optional
with default None. Everything else about released fields (present, same type, same default,
same required-ness) is the compatibility gate's job (``tests/test_release_gate.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from sagellm_protocol.compat import load_bundle
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.testing import example_data

RELEASES = (
    Path(__file__).resolve().parent.parent / "src" / "sagellm_protocol" / "schemas" / "releases"
)


def _released_fields() -> dict[str, set[str]]:
    """Every field name of each type in any released bundle."""
    found: dict[str, set[str]] = {}
    for release in RELEASES.iterdir():
        for name, schema in load_bundle(release).items():
            found.setdefault(name, set()).update(schema.get("properties", {}))
    return found


RELEASED = _released_fields()
TYPES = [name for name in MESSAGE_TYPES if name in RELEASED]


def _new_fields(model: type[BaseModel], released: set[str]) -> list[str]:
    return [name for name in model.model_fields if name not in released]


def _new_fields_last(model: type[BaseModel], released: set[str]) -> bool:
    """True when every new field comes after every released one."""
    fields = list(model.model_fields)
    new = _new_fields(model, released)
    return fields[len(fields) - len(new) :] == new


def test_every_released_type_is_still_a_message_type() -> None:
    assert set(RELEASED) - {"StreamEvent"} <= set(MESSAGE_TYPES)


@pytest.mark.parametrize("name", TYPES)
def test_new_fields_come_after_the_released_ones(name: str) -> None:
    assert _new_fields_last(MESSAGE_TYPES[name], RELEASED[name]), f"{name}: add fields at the end"


@pytest.mark.parametrize("name", TYPES)
def test_new_fields_are_optional_with_default_none(name: str) -> None:
    model = MESSAGE_TYPES[name]
    for field in _new_fields(model, RELEASED[name]):
        info = model.model_fields[field]
        assert not info.is_required(), f"{name}.{field}: a new field must be optional"
        assert info.default is None, f"{name}.{field}: a new field defaults to None"


def test_a_new_field_before_a_released_one_is_found() -> None:
    class Grown(BaseModel):
        kept: int = 0
        added: int | None = None

    assert _new_fields_last(Grown, {"kept"})
    assert not _new_fields_last(Grown, {"added"})


CREATED = [
    name
    for name, model in MESSAGE_TYPES.items()
    if (info := model.model_fields.get("created")) is not None and info.default_factory
]


def test_openai_responses_have_a_created_time() -> None:
    assert {"ChatCompletionResponse", "ChatCompletionStreamResponse", "ModelInfo"} <= set(CREATED)


@pytest.mark.parametrize("name", CREATED)
def test_created_defaults_to_now(name: str) -> None:
    data = example_data(MESSAGE_TYPES[name])
    del data["created"]
    before = int(time.time())
    created = MESSAGE_TYPES[name].model_validate(data).created  # type: ignore[attr-defined]
    assert before <= created <= int(time.time())
