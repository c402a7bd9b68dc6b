"""Every public class, function and field is documented (field docstrings become descriptions)."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

import sagellm_protocol
from sagellm_protocol.registry import MESSAGE_TYPES

PUBLIC_OBJECTS = [
    (name, getattr(sagellm_protocol, name))
    for name in sagellm_protocol.__all__
    if inspect.isclass(getattr(sagellm_protocol, name))
    or inspect.isfunction(getattr(sagellm_protocol, name))
]


@pytest.mark.parametrize(("name", "obj"), PUBLIC_OBJECTS, ids=[n for n, _ in PUBLIC_OBJECTS])
def test_public_object_has_a_docstring(name: str, obj: object) -> None:
    assert inspect.getdoc(obj), name


FIELDS = [(model, name) for model in MESSAGE_TYPES.values() for name in model.model_fields]


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
def test_every_field_has_a_description(model: type[BaseModel], name: str) -> None:
    description = model.model_fields[name].description
    assert description
    assert description[0].isupper() or description[0] in "`(", description
