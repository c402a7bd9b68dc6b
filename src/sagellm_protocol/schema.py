"""The JSON Schema bundle of the contract: one schema per public message type.

A bundle directory holds ``<TypeName>.json`` for every type in ``registry.MESSAGE_TYPES``,
``StreamEvent.json`` for the union, and ``index.json`` (type names, package and contract
versions). Each schema is ``model_json_schema()``'s default output (draft 2020-12, validation
mode, nested models and enums under ``$defs``) wherever that output is standard JSON Schema;
``standard_json_schema`` is the one place that changes it, and says how. Files are written
deterministically: sorted keys, two-space indent, UTF-8, a final newline.

The bundle of this version ships inside the package (``schemas/v0.1/``, read it with
``bundled_schema``); ``python -m sagellm_protocol schema --out DIR`` writes it and
``schema --check DIR`` reports drift. Not imported by ``import sagellm_protocol``.

JSON Schema cannot state every rule of the contract: ``SCHEMA_GAPS`` lists the kinds of rule
that validators of other languages must add (the rules across fields, stated in each type's
``description``; integers written without a fraction; the ``metadata`` nesting limit), and
the golden vectors name the kind of every rejection a schema validator cannot make.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.version import VERSION as PYDANTIC_VERSION

from ._base import INTEGER_RULE
from ._version import PROTOCOL_VERSION, __version__
from .compat import compare_schemas, load_bundle
from .registry import MESSAGE_TYPES, STREAM_EVENT, UNIONS

__all__ = [
    "BUNDLE_VERSION",
    "INDEX_FILE",
    "SCHEMA_GAPS",
    "STREAM_EVENT_SCHEMA",
    "bundle_files",
    "bundled_schema",
    "check_bundle",
    "dumps",
    "json_schemas",
    "standard_json_schema",
    "write_bundle",
]

BUNDLE_VERSION = f"v{PROTOCOL_VERSION}"
"""Directory name of this contract version's bundle inside ``sagellm_protocol/schemas``."""

INDEX_FILE = "index.json"
"""Name of the bundle's index file."""

STREAM_EVENT_SCHEMA = STREAM_EVENT
"""Name of the schema of the stream event union."""

SCHEMA_GAPS: dict[str, str] = {
    "cross_field": "a rule across fields (the ``Rule:`` lines of a type's description)",
    "integer_as_float": (
        "an integer written with a fraction part, such as ``8.0``: JSON Schema's integer type "
        "accepts it, and most JSON parsers read it as ``8``"
    ),
    "metadata_depth": "``metadata`` nested more than 32 levels deep",
    "not_json": (
        "``NaN``, ``Infinity`` or ``-Infinity``, for which JSON has no literal: a JSON parser "
        "refuses the text before a schema sees it"
    ),
    "unpaired_surrogate": (
        "a string escape of an unpaired surrogate, such as ``\\ud800``, which is no Unicode "
        "text: JSON's grammar allows it and many parsers accept it"
    ),
}
"""Every kind of rule that a JSON Schema validator cannot state, by the name a golden vector
gives it (``schema_gap``), with what it is. A validator enforces every other rule as the
models do."""


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of the bundle by type name: the message types, then the unions
    (``StreamEvent``)."""
    schemas = {name: model.model_json_schema() for name, model in MESSAGE_TYPES.items()}
    for name, union in UNIONS.items():
        schemas[name] = TypeAdapter(union.alias).json_schema()
    return {name: standard_json_schema(schema) for name, schema in schemas.items()}


def standard_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (pydantic's output) as standard JSON Schema 2020-12; a changed copy.

    The only changes made to pydantic's output, so that a validator of any language reads the
    bundle as the models do (Ajv's strict mode compiles it, with no custom keyword):

    1. A tagged union loses the OpenAPI keyword ``discriminator``, which is not JSON Schema
       vocabulary, and each of its members requires the tag property. pydantic reads a union
       by its tag, so a union member without its tag is refused, but the member types alone
       default their tag (``StreamEventStart`` alone need not carry ``"event": "start"``). The
       members' ``const`` tags still tell them apart under ``oneOf``.
    2. A schema without a description gets one: a tagged union has no docstring to give it,
       so its description names the tag and its values, and states the integer rule every
       other schema states.

    Raises ``ValueError`` for a union member that is also used outside the union in the same
    document: requiring its tag there would refuse what the models accept.
    """
    result: dict[str, Any] = copy.deepcopy(schema)
    definitions: dict[str, Any] = result.get("$defs", {})
    uses = Counter(item["$ref"] for item in _objects(result) if isinstance(item.get("$ref"), str))
    unions = [item for item in _objects(result) if isinstance(item.get("discriminator"), dict)]
    for union in unions:
        tag = union["discriminator"]["propertyName"]
        mapping: dict[str, str] = union.pop("discriminator").get("mapping", {})
        for reference in mapping.values():
            name = reference.removeprefix("#/$defs/")
            if uses[reference] > 1:
                raise ValueError(f"{name} is used outside its tagged union: its tag stays optional")
            member = definitions[name]
            required = set(member.get("required", [])) | {tag}
            member["required"] = [field for field in member["properties"] if field in required]
        if union is result and "description" not in result:
            members = {ref: value for value, ref in mapping.items()}
            tags = [
                f'"{members[option["$ref"]]}" for {option["$ref"].removeprefix("#/$defs/")}'
                for option in result["oneOf"]
            ]
            result["description"] = (
                f"One of {len(tags)} message types, told apart by the {tag} property, which each "
                f"must carry: {', '.join(tags)}.\n\n{INTEGER_RULE}"
            )
    return result


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, itself included."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            yield item
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _index(names: list[str]) -> dict[str, Any]:
    return {
        "contract_version": PROTOCOL_VERSION,
        "package_version": __version__,
        "generated_by": f"pydantic {PYDANTIC_VERSION}",
        "json_schema_dialect": "https://json-schema.org/draft/2020-12/schema",
        "types": names,
    }


def dumps(value: Any) -> str:
    """The bundle's deterministic JSON text: sorted keys, two-space indent, final newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def bundle_files() -> dict[str, str]:
    """The text of every bundle file by file name (what ``write_bundle`` writes)."""
    schemas = json_schemas()
    files = {f"{name}.json": dumps(schema) for name, schema in schemas.items()}
    files[INDEX_FILE] = dumps(_index(list(schemas)))
    return files


def write_bundle(path: str | Path) -> list[Path]:
    """Write the bundle into directory ``path`` (created if needed); return the files written."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in bundle_files().items():
        target = directory / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def check_bundle(path: str | Path) -> list[str]:
    """Differences between the bundle in ``path`` and the models: an empty list if none.

    Under the pydantic version that generated the bundle (``index.json``, ``generated_by``)
    every file must be byte-identical to what ``write_bundle`` writes. Under another pydantic
    version, whose output may differ in form (wrapping, number notation), the schemas must
    describe the same contract: ``compat`` finds no change in either direction, and the index
    lists the same types and versions. Files in subdirectories (``vectors/``) are not checked.
    """
    directory = Path(path)
    if not directory.is_dir():
        return [f"{directory}: not a directory"]
    expected = bundle_files()
    present = {entry.name for entry in directory.glob("*.json")}
    problems = [f"{name}: missing" for name in expected if name not in present]
    problems += [f"{name}: not part of the bundle" for name in sorted(present - set(expected))]
    if problems:
        return problems
    index = json.loads((directory / INDEX_FILE).read_text(encoding="utf-8"))
    if index.get("generated_by") == f"pydantic {PYDANTIC_VERSION}":
        return [
            f"{name}: differs from the models (regenerate the bundle)"
            for name, text in expected.items()
            if (directory / name).read_text(encoding="utf-8") != text
        ]
    current = json.loads(expected[INDEX_FILE])
    problems = [
        f"{INDEX_FILE}: {key} is {index.get(key)!r}, the models say {current[key]!r}"
        for key in ("contract_version", "package_version", "types")
        if index.get(key) != current[key]
    ]
    report = compare_schemas(load_bundle(directory), json_schemas())
    problems += [
        f"{change.location.split('.')[0]}.json: {change.describe()}" for change in report.changes
    ]
    return problems


def bundled_schema(name: str, *, version: str = BUNDLE_VERSION) -> dict[str, Any]:
    """A schema of the bundle shipped in the package, e.g. ``bundled_schema("Request")``.

    ``name`` is a type name or ``index``; ``version`` a bundle directory (default: this
    contract version's).
    """
    package = resources.files(__package__)
    text = package.joinpath("schemas").joinpath(version).joinpath(f"{name}.json").read_text("utf-8")
    value: dict[str, Any] = json.loads(text)
    return value
