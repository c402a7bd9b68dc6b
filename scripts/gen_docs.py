#!/usr/bin/env python3
"""Generate the tables of docs/protocol_v0.1.md and VERSIONING.md from the code, in place.

Each document is hand-written prose with generated blocks between markers::

    <!-- generated: message Request -->
    ... (rewritten by this script) ...
    <!-- end generated -->

Block kinds:

* ``message NAME``: the field table of a message type (name, type, required/default,
  constraint, unit, description), the rules across fields (the ``Rule:`` text of the class
  docstring) and an example: the first accepted golden vector of the type;
* ``enum NAME``: the values of an enum with their meaning (the member docstrings);
* ``errors``: the error code table (``ERROR_CODE_TABLE`` and the ``ErrorCode`` docstrings);
* ``types``: the list of every documented type with its one-line summary;
* ``schema-gaps``: what a JSON Schema validator makes of the golden vectors: every kind of rule
  it cannot state (``schema.SCHEMA_GAPS``) with the number of rejected vectors of that kind;
* ``verdicts``: the verdict of each kind of change the compatibility checker reports
  (``sagellm_protocol.compat``), for VERSIONING.md;
* ``parameters TABLE``: the fate of every parameter of an OpenAI request
  (``sagellm_protocol.openai_params``; TABLE is ``chat``, ``messages`` or ``completions``),
  for docs/openai.md.

Text outside the blocks is left as it is. In the protocol page, every public message type
(``registry.MESSAGE_TYPES`` and the nested ``Distribution``) and every enum used by a field
must have its block; VERSIONING.md must have the ``verdicts`` block, docs/openai.md the three
``parameters`` blocks.

``python scripts/gen_docs.py`` rewrites the documents (part of ``make schema``); ``--check``
changes nothing and exits 1 when a document differs from what the code produces; ``--doc
PATH`` takes the protocol page from another file.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import enum
import inspect
import json
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Union

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, Strict
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

import sagellm_protocol
from sagellm_protocol._naming import unit_of
from sagellm_protocol.compat import _VERDICTS, Kind
from sagellm_protocol.errors import ERROR_CODE_TABLE, ErrorCode
from sagellm_protocol.kv_hooks import KVDType, KVEvictReason, KVLayout
from sagellm_protocol.limits import MAX_METADATA_DEPTH
from sagellm_protocol.openai_params import (
    CHAT_MESSAGE_FIELDS,
    CHAT_PARAMETERS,
    COMPLETION_PARAMETERS,
    EXTENSIONS,
    Parameter,
)
from sagellm_protocol.registry import MESSAGE_TYPES
from sagellm_protocol.schema import BUNDLE_VERSION, SCHEMA_GAPS
from sagellm_protocol.summary import Distribution

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol_v0.1.md"
VERSIONING = ROOT / "VERSIONING.md"
OPENAI_DOC = ROOT / "docs" / "openai.md"
VECTORS = Path(sagellm_protocol.__file__).resolve().parent / "schemas" / BUNDLE_VERSION / "vectors"

_BLOCK = re.compile(
    r"(?P<open><!-- generated: (?P<spec>[^>]*?) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- end generated -->)",
    re.DOTALL,
)

Models = Mapping[str, type[BaseModel]]


def documented_types() -> dict[str, type[BaseModel]]:
    """Every type the document describes: the public message types, then ``Distribution``."""
    return {**MESSAGE_TYPES, "Distribution": Distribution}


DOCUMENTED_ENUMS: Mapping[str, type[enum.Enum]] = {
    "KVDType": KVDType,
    "KVLayout": KVLayout,
    "KVEvictReason": KVEvictReason,
}
"""Enums with an ``enum`` block (``ErrorCode`` has the ``errors`` table)."""


# --- types, as the tables write them ---------------------------------------------------------


def type_name(annotation: Any) -> str:
    """An annotation as the field tables write it (constraints dropped): ``float|None``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return type_name(args[0])
    if origin is Union or origin is types.UnionType:
        return "|".join(type_name(arg) for arg in args)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in args) + "]"
    if origin is list:
        return f"list[{type_name(args[0])}]"
    if origin is dict:
        return f"dict[{type_name(args[0])}, {type_name(args[1])}]"
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, type):
        return annotation.__name__
    raise ValueError(f"no table notation for {annotation!r}")


# --- constraints ------------------------------------------------------------------------------


def _is_class(annotation: Any) -> bool:
    """A plain class; on Python 3.10 ``list[int]`` passes ``isinstance(..., type)`` too."""
    return isinstance(annotation, type) and typing.get_origin(annotation) is None


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _flatten(metadata: list[Any]) -> list[Any]:
    """Metadata items, with those of a nested ``Field(...)`` spliced in."""
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            flat.extend(_flatten(list(item.metadata)))
        else:
            flat.append(item)
    return flat


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The bare type and all its metadata (``Annotated`` layers and ``Optional`` removed)."""
    collected = _flatten(metadata)
    while True:
        annotation = _strip_optional(annotation)
        if typing.get_origin(annotation) is Annotated:
            base, *extra = typing.get_args(annotation)
            collected += _flatten(extra)
            annotation = base
            continue
        return annotation, collected


def _bounds(metadata: list[Any]) -> str:
    """``> 0``, ``>= 0``, ``in (0, 2]`` ... from the metadata; empty if unbounded."""
    lower: tuple[str, object] | None = None
    upper: tuple[str, object] | None = None
    for item in metadata:
        if isinstance(item, Gt):
            lower = ("(", item.gt)
        elif isinstance(item, Ge):
            lower = ("[", item.ge)
        elif isinstance(item, Lt):
            upper = (")", item.lt)
        elif isinstance(item, Le):
            upper = ("]", item.le)
    if lower and upper:
        return f"in {lower[0]}{lower[1]}, {upper[1]}{upper[0]}"
    if lower:
        return f"{'>' if lower[0] == '(' else '>='} {lower[1]}"
    if upper:
        return f"{'<' if upper[0] == ')' else '<='} {upper[1]}"
    return ""


def _lengths(metadata: list[Any]) -> tuple[int | None, int | None]:
    shortest = longest = None
    for item in metadata:
        if isinstance(item, MinLen):
            shortest = item.min_length
        elif isinstance(item, MaxLen):
            longest = item.max_length
    return shortest, longest


def _link(model: type[BaseModel]) -> str:
    return f"[`{model.__name__}`](#{model.__name__.lower()})"


def _quoted(value: Any) -> str:
    return f"`{json.dumps(value)}`"


def constraint(annotation: Any, metadata: list[Any]) -> str:
    """What a field accepts on the wire, in words: kind, strictness, bounds, lengths, values."""
    base, found = _unwrap(annotation, metadata)
    strict = any(isinstance(item, Strict) and item.strict for item in found)
    lax = "" if strict else " (lax: coerced)"
    bounds = _bounds(found)
    shortest, longest = _lengths(found)
    origin = typing.get_origin(base)
    if origin is Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(base) if arg is not type(None)]
        return "either " + "; or ".join(constraint(option, []) for option in options)
    if origin is typing.Literal:
        values = typing.get_args(base)
        if len(values) == 1:
            return f"always {_quoted(values[0])}"
        return "one of " + ", ".join(_quoted(value) for value in values)
    if origin is list:
        item = constraint(typing.get_args(base)[0], [])
        size = ""
        if shortest or longest is not None:
            size = _size(shortest, longest, "item")
        return f"array{size}, each item: {item}"
    if origin is dict:
        if any(type(item).__name__ == "_MetadataRules" for item in found):
            return (
                "object with string keys and JSON values (finite numbers only), nested at most "
                f"{MAX_METADATA_DEPTH} levels (the object itself is level 1)"
            )
        return "object"
    if _is_class(base) and issubclass(base, enum.Enum):
        return "one of " + ", ".join(_quoted(member.value) for member in base)
    if _is_class(base) and issubclass(base, BaseModel):
        article = "an" if base.__name__[0] in "AEIOU" else "a"
        return f"{article} {_link(base)} object"
    if base is type(None):
        return "always `null`"
    if base is bool:
        return f"boolean{lax}"
    if base is int:
        return " ".join(filter(None, [f"integer{lax}", bounds]))
    if base is float:
        return " ".join(filter(None, [f"number{lax}", bounds]))
    if base is str:
        if shortest == 1 and longest is not None:
            return f"identifier{lax}: 1 to {longest} characters"
        if shortest or longest is not None:
            return f"string{lax}{_size(shortest, longest, 'character')}"
        return f"string{lax} (may be empty)"
    raise ValueError(f"no constraint text for {base!r}")


def _size(shortest: int | None, longest: int | None, what: str) -> str:
    if shortest and longest is not None:
        return f" of {shortest} to {longest} {what}s"
    if shortest:
        return " (non-empty)" if shortest == 1 else f" of at least {shortest} {what}s"
    return f" of at most {longest} {what}s"


# --- docstrings -------------------------------------------------------------------------------


def _markdown(text: str) -> str:
    """reStructuredText literals (double backticks) as Markdown code spans."""
    return re.sub(r"``(.+?)``", r"`\1`", text)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _paragraphs(doc: str | None) -> list[str]:
    text = inspect.cleandoc(doc or "")
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text) if part.strip()]


def describe_class(model: type) -> tuple[list[str], list[str]]:
    """A class docstring split into its description paragraphs and its rule paragraphs.

    A rule starts at ``Rule:`` or ``Rules:`` and runs to the end of its paragraph.
    """
    text: list[str] = []
    rules: list[str] = []
    for paragraph in _paragraphs(model.__doc__):
        match = re.search(r"\bRules?: ", paragraph)
        if match is None:
            text.append(_markdown(paragraph))
            continue
        before = paragraph[: match.start()].strip()
        if before:
            text.append(_markdown(before))
        rules.append(_markdown(paragraph[match.end() :].strip()))
    return text, rules


def member_docstrings(enum_class: type[enum.Enum]) -> dict[str, str]:
    """The docstring under each member of an enum, read from its source."""
    source = textwrap.dedent(inspect.getsource(enum_class))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    found: dict[str, str] = {}
    for statement, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.targets[0].id] = " ".join(following.value.value.split())
    return found


# --- blocks -----------------------------------------------------------------------------------


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "now (current Unix time)"
    value = info.default
    assert value is not PydanticUndefined
    if value is None or isinstance(value, bool):
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def field_table(model: type[BaseModel]) -> list[str]:
    """The Markdown table of a model's fields."""
    lines = [
        "| field | type | required / default | constraint | unit | description |",
        "|---|---|---|---|---|---|",
    ]
    for name, info in model.model_fields.items():
        unit = unit_of(model, name)
        cells = [
            f"`{name}`",
            f"`{type_name(info.annotation)}`",
            _default(info),
            constraint(info.annotation, list(info.metadata)),
            unit.label if unit else "",
            _markdown(info.description or ""),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def example_message(name: str) -> tuple[dict[str, Any], str]:
    """The example of a type, and where it comes from: its first accepted golden vector.

    ``Distribution`` has no vector file of its own; its example is the ``ttft_ms`` of the
    ``MetricsSummary`` example.
    """
    if name == "Distribution":
        summary, _ = example_message("MetricsSummary")
        return summary["ttft_ms"], "the `ttft_ms` of the `MetricsSummary` example"
    content = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return content["accepted"][0]["message"], f"`vectors/{name}.json`, the first accepted vector"


def _ordered(model: type[BaseModel], data: Any) -> Any:
    """``data`` with object keys in field order (the vectors sort them)."""
    if not isinstance(data, dict):
        return data
    ordered: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in data:
            ordered[name] = _ordered_value(info.annotation, data[name])
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    return ordered


def _ordered_value(annotation: Any, value: Any) -> Any:
    base, _ = _unwrap(annotation, [])
    if typing.get_origin(base) is list and isinstance(value, list):
        item = typing.get_args(base)[0]
        return [_ordered_value(item, element) for element in value]
    if _is_class(base) and issubclass(base, BaseModel):
        return _ordered(base, value)
    return value


def pretty_json(value: Any, indent: int = 0, used: int = 0, width: int = 100) -> str:
    """JSON with one member per line where a value does not fit in ``width`` columns.

    ``indent`` is the indentation of the value's own lines, ``used`` the columns already
    taken on its first line.
    """
    flat = json.dumps(value, ensure_ascii=False)
    if used + len(flat) < width or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + 2
    pad = " " * inner
    if isinstance(value, dict):
        members = []
        for key, item in value.items():
            prefix = f"{pad}{json.dumps(key, ensure_ascii=False)}: "
            members.append(prefix + pretty_json(item, inner, len(prefix), width))
        return "{\n" + ",\n".join(members) + "\n" + " " * indent + "}"
    items = [pad + pretty_json(item, inner, inner, width) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def message_block(name: str, models: Models) -> list[str]:
    """Table, rules and example of one message type."""
    model = models[name]
    text, rules = describe_class(model)
    lines = [line for paragraph in text for line in (paragraph, "")]
    lines += [*field_table(model), ""]
    if rules:
        lines += ["Rules across fields:", ""]
        lines += [f"- {rule}" for rule in rules]
        lines.append("")
    message, source = example_message(name)
    lines += [
        f"Example ({source}):",
        "",
        "```json",
        pretty_json(_ordered(model, message)),
        "```",
    ]
    return lines


def enum_block(name: str) -> list[str]:
    """The values of an enum and their meaning."""
    enum_class = DOCUMENTED_ENUMS[name]
    meanings = member_docstrings(enum_class)
    lines = [line for p in _paragraphs(enum_class.__doc__) for line in (_markdown(p), "")]
    lines += ["| value | meaning |", "|---|---|"]
    lines += [
        f"| `{member.value}` | {_cell(meanings.get(member.name, ''))} |" for member in enum_class
    ]
    return lines


def errors_block() -> list[str]:
    """The error code table: meaning, HTTP status, gRPC status, retryable by default."""
    meanings = member_docstrings(ErrorCode)
    lines = [
        "| code | meaning | HTTP | gRPC | retryable |",
        "|---|---|---|---|---|",
    ]
    for code, info in ERROR_CODE_TABLE.items():
        retryable = "yes" if info.retryable else "no"
        lines.append(
            f"| `{code.value}` | {_cell(meanings[code.name])} | {info.http_status} "
            f"| `{info.grpc_status}` | {retryable} |"
        )
    return lines


def types_block(models: Models) -> list[str]:
    """Every documented type with a link and the first line of its docstring."""
    lines = ["| type | what it is |", "|---|---|"]
    for name, model in models.items():
        summary = _paragraphs(model.__doc__)[0]
        lines.append(f"| [`{name}`](#{name.lower()}) | {_cell(_markdown(summary))} |")
    return lines


def verdicts_block() -> list[str]:
    """Every kind of change ``compat`` reports, with its verdict for each direction of traffic.

    A kind whose verdict depends on where the change is found says so.
    """
    lines = [
        "| kind | old sender -> new receiver | new sender -> old receiver |",
        "|---|---|---|",
    ]
    for kind in typing.get_args(Kind):
        old_to_new, new_to_old = _VERDICTS.get(kind, ("depends (below)", "depends (below)"))
        lines.append(f"| `{kind}` | {old_to_new} | {new_to_old} |")
    return lines


PARAMETER_TABLES: dict[str, Mapping[str, Parameter]] = {
    "chat": CHAT_PARAMETERS,
    "messages": CHAT_MESSAGE_FIELDS,
    "completions": COMPLETION_PARAMETERS,
}
"""The parameter tables of docs/openai.md, by the name their block gives."""


def parameters_block(name: str) -> list[str]:
    """One parameter table: each parameter with its fate and what the adapter does with it."""
    lines = ["| parameter | fate | what the adapter does |", "|---|---|---|"]
    for parameter in PARAMETER_TABLES[name].values():
        detail = parameter.detail
        extension = " (sageLLM)" if parameter.name in EXTENSIONS else ""
        lines.append(
            f"| `{parameter.name}`{extension} | {parameter.fate} | {_cell(_markdown(detail))} |"
        )
    return lines


def schema_gaps_block() -> list[str]:
    """The golden vectors by what the schemas state, and each kind of rule they cannot."""
    contents = [json.loads(path.read_text("utf-8")) for path in sorted(VECTORS.glob("*.json"))]
    accepted = sum(len(content["accepted"]) for content in contents)
    rejected = [vector for content in contents for vector in content["rejected"]]
    stated = sum(1 for vector in rejected if vector["schema_states_rule"])
    summary = (
        f"Of the {len(rejected)} rejected golden vectors, a JSON Schema validator given the "
        f"bundle refuses {stated} (their `schema_states_rule` is true), and it accepts all "
        f"{accepted} accepted ones. The other {len(rejected) - stated} rejected vectors, by kind "
        "(`schema_gap`):"
    )
    lines = [
        *textwrap.wrap(summary, width=100, break_on_hyphens=False),
        "",
        "| `schema_gap` | rejected vectors | the rule a schema cannot state |",
        "|---|---|---|",
    ]
    for kind, meaning in SCHEMA_GAPS.items():
        count = sum(1 for vector in rejected if vector.get("schema_gap") == kind)
        lines.append(f"| `{kind}` | {count} | {_cell(_markdown(meaning))} |")
    return lines


def _body(spec: str, models: Models) -> list[str]:
    kind, _, name = spec.partition(" ")
    builders: dict[str, Callable[[], list[str]]] = {
        "message": lambda: message_block(name, models),
        "enum": lambda: enum_block(name),
        "errors": errors_block,
        "types": lambda: types_block(models),
        "schema-gaps": schema_gaps_block,
        "verdicts": verdicts_block,
        "parameters": lambda: parameters_block(name),
    }
    if kind not in builders:
        raise ValueError(f"unknown generated block kind {kind!r} in <!-- generated: {spec} -->")
    if kind == "message" and name not in models:
        raise ValueError(f"<!-- generated: {spec} -->: no message type {name!r}")
    if kind == "parameters" and name not in PARAMETER_TABLES:
        raise ValueError(f"<!-- generated: {spec} -->: no parameter table {name!r}")
    if kind == "enum" and name not in DOCUMENTED_ENUMS:
        raise ValueError(f"<!-- generated: {spec} -->: no documented enum {name!r}")
    return builders[kind]()


def protocol_blocks(models: Models) -> list[str]:
    """The blocks the protocol page must have: every type and enum, the errors, the types."""
    wanted = [f"message {name}" for name in models]
    wanted += [f"enum {name}" for name in DOCUMENTED_ENUMS]
    return [*wanted, "errors", "types", "schema-gaps"]


def render(
    text: str,
    models: Models | None = None,
    required: Callable[[Models], list[str]] = protocol_blocks,
) -> str:
    """``text`` with every generated block rewritten from ``models`` (default: the real ones).

    Raises ``ValueError`` when a block that ``required(models)`` names is missing (by default
    those of the protocol page), or a block names something unknown.
    """
    models = documented_types() if models is None else models
    specs = [match["spec"] for match in _BLOCK.finditer(text)]
    wanted = required(models)
    missing = [spec for spec in wanted if spec not in specs]
    if missing:
        listed = ", ".join(f"<!-- generated: {spec} -->" for spec in missing)
        raise ValueError(f"the document has no block for: {listed}")
    twice = sorted({spec for spec in specs if specs.count(spec) > 1})
    if twice:
        raise ValueError(f"blocks given more than once: {', '.join(twice)}")

    def replace(match: re.Match[str]) -> str:
        body = "\n".join(_body(match["spec"], models))
        return f"{match['open']}{body}\n{match['close']}"

    return _BLOCK.sub(replace, text)


def versioning_blocks(models: Models) -> list[str]:
    """The blocks VERSIONING.md must have: the verdict table."""
    return ["verdicts"]


def openai_blocks(models: Models) -> list[str]:
    """The blocks docs/openai.md must have: the parameter tables."""
    return [f"parameters {name}" for name in PARAMETER_TABLES]


def _update(path: Path, required: Callable[[Models], list[str]], *, check: bool) -> bool:
    """Rewrite one document (or with ``check`` compare it); False on drift or a bad block."""
    current = path.read_text(encoding="utf-8")
    try:
        expected = render(current, required=required)
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return False
    if expected == current:
        print(f"{path}: up to date")
        return True
    if not check:
        path.write_text(expected, encoding="utf-8")
        print(f"{path}: regenerated")
        return True
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path} (committed)",
        tofile=f"{path} (from the code)",
    )
    sys.stderr.writelines(diff)
    print(f"{path}: differs from the code; run python scripts/gen_docs.py", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    """Rewrite the documents, or with ``--check`` report drift (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    parser.add_argument("--doc", type=Path, default=DOC, help=f"the protocol page (default {DOC})")
    args = parser.parse_args(argv)
    pages = [
        (args.doc, protocol_blocks),
        (VERSIONING, versioning_blocks),
        (OPENAI_DOC, openai_blocks),
    ]
    results = [_update(path, required, check=args.check) for path, required in pages]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
