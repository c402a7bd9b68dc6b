"""The breaking-change checker: every kind of change, on small bundles of ad-hoc models."""

from __future__ import annotations

import functools
import json
import operator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sagellm_protocol.compat import (
    MAX_LISTED_CHANGES,
    Allowance,
    Change,
    compare_bundles,
    load_allowances,
)

from .scripts import run_cli

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "src" / "sagellm_protocol" / "schemas" / "v0.1"


def write(directory: Path, *models: type[BaseModel], index: bool = True) -> Path:
    """A bundle of ``models`` in ``directory``: one schema per model (and index.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    for model in models:
        (directory / f"{model.__name__}.json").write_text(json.dumps(model.model_json_schema()))
    if index:
        names = [model.__name__ for model in models]
        (directory / "index.json").write_text(json.dumps({"types": names}))
    return directory


def changes(tmp_path: Path, old: list[type[BaseModel]], new: list[type[BaseModel]]) -> list[Change]:
    report = compare_bundles(write(tmp_path / "old", *old), write(tmp_path / "new", *new))
    return report.changes


def only(found: list[Change]) -> Change:
    assert len(found) == 1, [c.describe() for c in found]
    return found[0]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# Each test builds an old and a new version of a message called "Msg".


def msg(base: type[BaseModel], **fields: Any) -> type[BaseModel]:
    annotations = {name: spec[0] for name, spec in fields.items()}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    namespace.update({name: spec[1] for name, spec in fields.items() if len(spec) > 1})
    return type("Msg", (base,), namespace)


def test_identical_bundles_have_no_changes(tmp_path: Path) -> None:
    found = changes(tmp_path, [msg(Closed, a=(int,))], [msg(Closed, a=(int,))])
    assert found == []


def test_type_removed_breaks(tmp_path: Path) -> None:
    other = type("Other", (Closed,), {"__annotations__": {"x": int}})
    change = only(changes(tmp_path, [msg(Closed, a=(int,)), other], [msg(Closed, a=(int,))]))
    assert (change.kind, change.location, change.old_to_new) == (
        "type_removed",
        "Other",
        "breaking",
    )


def test_type_added_is_a_warning(tmp_path: Path) -> None:
    other = type("Other", (Closed,), {"__annotations__": {"x": int}})
    change = only(changes(tmp_path, [msg(Closed, a=(int,))], [msg(Closed, a=(int,)), other]))
    assert (change.kind, change.old_to_new, change.new_to_old) == (
        "type_added",
        "compatible",
        "incompatible",
    )
    assert not change.ignore_suffices


def test_field_removed_breaks_a_closed_receiver(tmp_path: Path) -> None:
    change = only(
        changes(tmp_path, [msg(Closed, a=(int,), b=(int | None, None))], [msg(Closed, a=(int,))])
    )
    assert (change.kind, change.location, change.old_to_new, change.new_to_old) == (
        "field_removed",
        "Msg.b",
        "breaking",
        "compatible",
    )


def test_field_removed_from_an_open_receiver_is_compatible(tmp_path: Path) -> None:
    change = only(changes(tmp_path, [msg(Open, a=(int,), b=(int,))], [msg(Open, a=(int,))]))
    assert (change.kind, change.old_to_new, change.new_to_old) == (
        "field_removed",
        "compatible",
        "incompatible",
    )


def test_field_added_required_breaks(tmp_path: Path) -> None:
    change = only(changes(tmp_path, [msg(Closed, a=(int,))], [msg(Closed, a=(int,), b=(int,))]))
    assert (change.kind, change.location, change.old_to_new) == (
        "field_added_required",
        "Msg.b",
        "breaking",
    )


def test_field_added_optional_is_a_warning_that_ignore_fixes(tmp_path: Path) -> None:
    change = only(
        changes(tmp_path, [msg(Closed, a=(int,))], [msg(Closed, a=(int,), b=(int | None, None))])
    )
    assert (change.kind, change.old_to_new, change.new_to_old) == (
        "field_added_optional",
        "compatible",
        "incompatible",
    )
    assert change.ignore_suffices
    assert 'unknown="ignore" is enough' in change.describe()


@pytest.mark.parametrize(
    ("old", "new", "kind", "verdicts"),
    [
        (int, str, "field_type_changed", ("breaking", "incompatible")),
        (int, float, "field_type_widened", ("compatible", "incompatible")),
        (float, int, "field_type_narrowed", ("breaking", "compatible")),
        (int | None, int, "field_type_narrowed", ("breaking", "compatible")),
        (int, int | None, "field_type_widened", ("compatible", "incompatible")),
        (str, str | list[str], "field_type_widened", ("compatible", "incompatible")),
    ],
    ids=[
        "int->str",
        "int->float",
        "float->int",
        "nullable->non-null",
        "non-null->nullable",
        "str->str|list",
    ],
)
def test_field_type_changes(
    tmp_path: Path, old: Any, new: Any, kind: str, verdicts: tuple[str, str]
) -> None:
    change = only(changes(tmp_path, [msg(Closed, a=(old,))], [msg(Closed, a=(new,))]))
    assert (change.kind, change.location) == (kind, "Msg.a")
    assert (change.old_to_new, change.new_to_old) == verdicts


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (Field(gt=0), Field(gt=1), "bound_narrowed"),
        (Field(ge=0), Field(gt=0), "bound_narrowed"),
        (Field(gt=0), Field(ge=0), "bound_widened"),
        (Field(le=10), Field(le=5), "bound_narrowed"),
        (Field(le=10), Field(lt=10), "bound_narrowed"),
        (Field(le=10), Field(le=11), "bound_widened"),
        (Field(ge=0), Field(), "bound_widened"),
        (Field(), Field(lt=3), "bound_narrowed"),
    ],
    ids=[
        "gt0->gt1",
        "ge0->gt0",
        "gt0->ge0",
        "le10->le5",
        "le10->lt10",
        "le10->le11",
        "ge0->none",
        "none->lt3",
    ],
)
def test_numeric_bounds(tmp_path: Path, old: Any, new: Any, kind: str) -> None:
    change = only(
        changes(
            tmp_path,
            [msg(Closed, a=(Annotated[int, old],))],
            [msg(Closed, a=(Annotated[int, new],))],
        )
    )
    assert (change.kind, change.location) == (kind, "Msg.a")
    assert change.old_to_new == ("breaking" if kind.endswith("narrowed") else "compatible")
    assert change.new_to_old == ("compatible" if kind.endswith("narrowed") else "incompatible")


@pytest.mark.parametrize(
    ("annotation", "old", "new", "kind"),
    [
        (str, Field(max_length=10), Field(max_length=5), "length_narrowed"),
        (str, Field(max_length=10), Field(max_length=20), "length_widened"),
        (str, Field(), Field(min_length=1), "length_narrowed"),
        (list[int], Field(min_length=1), Field(), "length_widened"),
        (list[int], Field(max_length=3), Field(max_length=2), "length_narrowed"),
    ],
    ids=["str max 10->5", "str max 10->20", "str min none->1", "list min 1->none", "list max 3->2"],
)
def test_length_bounds(tmp_path: Path, annotation: Any, old: Any, new: Any, kind: str) -> None:
    old_model = msg(Closed, a=(Annotated[annotation, old],))
    new_model = msg(Closed, a=(Annotated[annotation, new],))
    change = only(changes(tmp_path, [old_model], [new_model]))
    assert (change.kind, change.location) == (kind, "Msg.a")


def test_enum_value_removed_and_added(tmp_path: Path) -> None:
    old_enum = Enum("Color", {"RED": "red", "BLUE": "blue"}, type=str)  # type: ignore[misc]
    new_enum = Enum("Color", {"RED": "red", "GREEN": "green"}, type=str)  # type: ignore[misc]
    found = changes(tmp_path, [msg(Closed, c=(old_enum,))], [msg(Closed, c=(new_enum,))])
    assert [(c.kind, c.location, c.old, c.new, c.old_to_new) for c in found] == [
        ("enum_value_removed", "Color", "blue", None, "breaking"),
        ("enum_value_added", "Color", None, "green", "compatible"),
    ]


def test_literal_value_removed(tmp_path: Path) -> None:
    old_model = msg(Closed, r=(Literal["stop", "length", "error"],))
    new_model = msg(Closed, r=(Literal["stop", "length"],))
    change = only(changes(tmp_path, [old_model], [new_model]))
    assert (change.kind, change.location, change.old, change.old_to_new) == (
        "enum_value_removed",
        "Msg.r",
        "error",
        "breaking",
    )


def test_literal_value_added_is_a_warning(tmp_path: Path) -> None:
    change = only(
        changes(tmp_path, [msg(Closed, r=(Literal["a"],))], [msg(Closed, r=(Literal["a", "b"],))])
    )
    assert (change.kind, change.new, change.old_to_new, change.new_to_old) == (
        "enum_value_added",
        "b",
        "compatible",
        "incompatible",
    )


def test_required_to_optional_and_back(tmp_path: Path) -> None:
    change = only(changes(tmp_path / "a", [msg(Closed, a=(int,))], [msg(Closed, a=(int, 0))]))
    assert (change.kind, change.old_to_new, change.new_to_old) == (
        "required_to_optional",
        "compatible",
        "incompatible",
    )
    change = only(changes(tmp_path / "b", [msg(Closed, a=(int, 0))], [msg(Closed, a=(int,))]))
    assert (change.kind, change.old_to_new) == ("optional_to_required", "breaking")


def test_default_changed_breaks(tmp_path: Path) -> None:
    change = only(changes(tmp_path, [msg(Closed, t=(float, 1.0))], [msg(Closed, t=(float, 0.7))]))
    assert (change.kind, change.location, change.old, change.new, change.old_to_new) == (
        "default_changed",
        "Msg.t",
        "1",
        "0.7",
        "breaking",
    )


def _event(tag: str) -> type[BaseModel]:
    return type(tag.title(), (Closed,), {"__annotations__": {"kind": Literal[tag]}, "kind": tag})


def _union(*tags: str) -> type[BaseModel]:
    union: Any = functools.reduce(operator.or_, [_event(tag) for tag in tags])
    return msg(Closed, e=(Annotated[union, Field(discriminator="kind")],))


def test_discriminator_tag_removed_breaks(tmp_path: Path) -> None:
    found = changes(tmp_path, [_union("start", "delta", "end")], [_union("start", "delta")])
    kinds = {(c.kind, c.location, c.old_to_new) for c in found}
    assert ("discriminator_changed", "Msg.e[end]", "breaking") in kinds


def test_discriminator_tag_added_is_a_warning(tmp_path: Path) -> None:
    found = changes(tmp_path, [_union("start", "delta")], [_union("start", "delta", "end")])
    assert [(c.kind, c.location, c.old_to_new, c.new_to_old) for c in found] == [
        ("discriminator_changed", "Msg.e[end]", "compatible", "incompatible")
    ]


def test_union_alternative_removed_without_a_json_type_change(tmp_path: Path) -> None:
    a = type("A", (Closed,), {"__annotations__": {"x": int}})
    b = type("B", (Closed,), {"__annotations__": {"y": str}})
    found = changes(tmp_path, [msg(Closed, v=(a | b,))], [msg(Closed, v=(a,))])
    assert ("field_type_narrowed", "Msg.v", "breaking") in {
        (c.kind, c.location, c.old_to_new) for c in found
    }


def test_unknown_fields_allowed_and_forbidden(tmp_path: Path) -> None:
    change = only(changes(tmp_path / "a", [msg(Closed, a=(int,))], [msg(Open, a=(int,))]))
    assert (change.kind, change.old_to_new, change.new_to_old) == (
        "unknown_fields_allowed",
        "compatible",
        "incompatible",
    )
    change = only(changes(tmp_path / "b", [msg(Open, a=(int,))], [msg(Closed, a=(int,))]))
    assert (change.kind, change.old_to_new) == ("unknown_fields_forbidden", "breaking")


def test_pattern_changed(tmp_path: Path) -> None:
    old_model = msg(Closed, a=(Annotated[str, Field(pattern="^a")],))
    new_model = msg(Closed, a=(Annotated[str, Field(pattern="^b")],))
    change = only(changes(tmp_path, [old_model], [new_model]))
    assert (change.kind, change.old_to_new) == ("pattern_changed", "breaking")


def _outer_and_inner(minimum: int) -> tuple[type[BaseModel], type[BaseModel]]:
    class Inner(Closed):
        n: Annotated[int, Field(ge=minimum)]

    class Outer(Closed):
        i: Inner
        j: list[Inner]

    return Outer, Inner


def test_nested_model_change_is_reported_once_under_its_name(tmp_path: Path) -> None:
    outer_old, inner_old = _outer_and_inner(minimum=0)
    outer_new, inner_new = _outer_and_inner(minimum=1)
    found = changes(tmp_path, [outer_old, inner_old], [outer_new, inner_new])
    assert [(c.kind, c.location) for c in found] == [("bound_narrowed", "Inner.n")]


def test_a_change_in_one_documents_copy_names_that_document(tmp_path: Path) -> None:
    outer_old, inner_old = _outer_and_inner(minimum=0)
    outer_new, inner_new = _outer_and_inner(minimum=1)
    in_outer = changes(tmp_path / "a", [outer_old, inner_old], [outer_new, inner_old])
    in_inner = changes(tmp_path / "b", [outer_old, inner_old], [outer_old, inner_new])
    assert [(c.kind, c.location) for c in in_outer + in_inner] == [
        ("bound_narrowed", "Outer.json#Inner.n"),
        ("bound_narrowed", "Inner.json#Inner.n"),
    ]


class Tree(Closed):
    label: Annotated[str, Field(max_length=8)]
    children: list[Tree] = []


class Forest(Closed):
    trees: list[Tree]


def test_a_recursive_definition_is_compared_in_each_document(tmp_path: Path) -> None:
    old = write(tmp_path / "old", Tree, Forest)
    new = write(tmp_path / "new", Tree, Forest)
    schema = json.loads((new / "Forest.json").read_text())
    schema["$defs"]["Tree"]["properties"]["label"]["maxLength"] = 16
    (new / "Forest.json").write_text(json.dumps(schema))
    assert [(c.kind, c.location) for c in compare_bundles(old, new).changes] == [
        ("length_widened", "Forest.json#Tree.label")
    ]


def test_list_items_are_compared(tmp_path: Path) -> None:
    old_model = msg(Closed, ids=(list[Annotated[int, Field(ge=0)]],))
    new_model = msg(Closed, ids=(list[Annotated[int, Field(ge=1)]],))
    change = only(changes(tmp_path, [old_model], [new_model]))
    assert (change.kind, change.location) == ("bound_narrowed", "Msg.ids[]")


def test_bundle_without_index(tmp_path: Path) -> None:
    old = write(tmp_path / "old", msg(Closed, a=(int,)), index=False)
    new = write(tmp_path / "new", msg(Closed, a=(str,)), index=False)
    assert [c.kind for c in compare_bundles(old, new).changes] == ["field_type_changed"]


def _raw_bundle(directory: Path, schemas: dict[str, dict[str, Any]]) -> Path:
    directory.mkdir(parents=True)
    for name, schema in schemas.items():
        (directory / f"{name}.json").write_text(json.dumps(schema))
    (directory / "index.json").write_text(json.dumps({"types": list(schemas)}))
    return directory


def _tagged(*, tag_required: bool) -> dict[str, Any]:
    required = ["kind", "x"] if tag_required else ["x"]
    return {
        "additionalProperties": False,
        "properties": {"kind": {"const": "a", "default": "a"}, "x": {"type": "integer"}},
        "required": required,
        "title": "A",
        "type": "object",
    }


def _member_and_union(*, tag_required: bool) -> dict[str, dict[str, Any]]:
    """A type ``A`` alone, and a union document whose copy of ``A`` may require the tag."""
    union = {"$defs": {"A": _tagged(tag_required=tag_required)}, "oneOf": [{"$ref": "#/$defs/A"}]}
    return {"A": _tagged(tag_required=False), "Union": union}


def test_a_definition_that_differs_from_its_namesake_is_compared_under_its_document(
    tmp_path: Path,
) -> None:
    old = _raw_bundle(tmp_path / "old", _member_and_union(tag_required=False))
    new = _raw_bundle(tmp_path / "new", _member_and_union(tag_required=True))
    found = compare_bundles(old, new).changes
    assert [(c.kind, c.location, c.old_to_new) for c in found] == [
        ("optional_to_required", "Union.json#A.kind", "breaking")
    ]


def _allowance(location: str = "Union.json#A.kind") -> Allowance:
    return Allowance("optional_to_required", location, "optional", "required", "a schema fix")


def test_an_allowed_change_neither_breaks_nor_warns(tmp_path: Path) -> None:
    old = _raw_bundle(tmp_path / "old", _member_and_union(tag_required=False))
    new = _raw_bundle(tmp_path / "new", _member_and_union(tag_required=True))
    report = compare_bundles(old, new)
    assert report.exit_status() == 1
    assert report.allow([_allowance()]) == []
    assert (report.breaking, report.warnings, report.exit_status(strict=True)) == ([], [], 0)
    assert [c.allowed for c in report.allowed] == ["a schema fix"]
    assert report.lines() == [
        "ALLOWED  Union.json#A.kind: optional to required (optional -> required); a schema fix",
        "1 change(s): 0 breaking (old sender -> new receiver), 0 warning(s) "
        "(new sender -> old receiver), 1 allowed",
    ]
    assert report.to_json()["allowed"] == 1


def test_an_allowance_that_names_no_change_is_returned(tmp_path: Path) -> None:
    old = _raw_bundle(tmp_path / "old", _member_and_union(tag_required=False))
    new = _raw_bundle(tmp_path / "new", _member_and_union(tag_required=True))
    report = compare_bundles(old, new)
    stale = _allowance("Union.json#A.x")
    assert report.allow([stale]) == [stale]
    assert report.allowed == []
    assert report.exit_status() == 1


ALLOWANCE_ENTRY = {
    "kind": "optional_to_required",
    "location": "Union.json#A.kind",
    "old": "optional",
    "new": "required",
    "reason": "a schema fix",
}
"""``_allowance()`` as an entry of an allowance file."""


def _allowance_file(path: Path, entries: Any) -> Path:
    path.write_text(json.dumps({"release": "0.0.1", "allowed": entries}))
    return path


def test_load_allowances_reads_each_entry(tmp_path: Path) -> None:
    path = _allowance_file(tmp_path / "a.json", [ALLOWANCE_ENTRY])
    assert load_allowances(path) == [_allowance()]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"kind": "optional_to_required", "location": "X.a", "old": None, "new": None},
            "must have exactly",
        ),
        (
            {"kind": "renamed", "location": "X.a", "old": None, "new": None, "reason": "r"},
            "unknown kind 'renamed'",
        ),
        (
            {"kind": "field_removed", "location": "X.a", "old": 1, "new": None, "reason": "r"},
            "old and new are strings or null",
        ),
        (
            {"kind": "field_removed", "location": "X.a", "old": None, "new": None, "reason": " "},
            "needs a reason",
        ),
    ],
)
def test_load_allowances_refuses_an_incomplete_entry(
    tmp_path: Path, entry: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        load_allowances(_allowance_file(tmp_path / "a.json", [entry]))


def test_cli_allow(tmp_path: Path) -> None:
    old = _raw_bundle(tmp_path / "old", _member_and_union(tag_required=False))
    new = _raw_bundle(tmp_path / "new", _member_and_union(tag_required=True))
    allowed = _allowance_file(tmp_path / "allowed.json", [ALLOWANCE_ENTRY])
    result = run_cli("compat", str(old), str(new), "--allow", str(allowed))
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("ALLOWED  Union.json#A.kind")
    result = run_cli("compat", str(old), str(old), "--allow", str(allowed))
    assert result.returncode == 1
    assert "which is not a change between these bundles (remove it)" in result.stderr
    broken = _allowance_file(tmp_path / "broken.json", "none")
    result = run_cli("compat", str(old), str(new), "--allow", str(broken))
    assert result.returncode == 2
    assert "cannot read the allowances" in result.stderr


def test_report_exit_status_and_json(tmp_path: Path) -> None:
    old = write(tmp_path / "old", msg(Closed, a=(int,)))
    widened = write(tmp_path / "widened", msg(Closed, a=(int,), b=(int | None, None)))
    report = compare_bundles(old, widened)
    assert report.exit_status() == 0
    assert report.exit_status(strict=True) == 1
    assert report.to_json()["warnings"] == 1
    assert report.lines()[-1].startswith("1 change(s): 0 breaking")


def test_cli_exit_codes(tmp_path: Path) -> None:
    old = write(tmp_path / "old", msg(Closed, a=(int,)))
    narrowed = write(tmp_path / "narrowed", msg(Closed, a=(Annotated[int, Field(ge=0)],)))
    widened = write(tmp_path / "widened", msg(Closed, a=(int,), b=(int | None, None)))
    assert run_cli("compat", str(old), str(old)).returncode == 0
    result = run_cli("compat", str(old), str(narrowed))
    assert result.returncode == 1
    assert "BREAKING Msg.a: bound narrowed (none -> >= 0)" in result.stdout
    result = run_cli("compat", str(old), str(widened))
    assert result.returncode == 0
    assert "WARNING  Msg.b: field added optional" in result.stdout
    assert run_cli("compat", str(old), str(widened), "--strict").returncode == 1
    result = run_cli("compat", str(old), str(narrowed), "--json")
    assert json.loads(result.stdout)["breaking"] == 1


def test_cli_missing_directory(tmp_path: Path) -> None:
    result = run_cli("compat", str(tmp_path / "nope"), str(tmp_path))
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"sagellm-protocol: error: {tmp_path / 'nope'}: no such directory"
    )
    assert "Traceback" not in result.stderr


# --- the acceptance scenario on a scratch copy of this package's own bundle ------------------


def _scratch(tmp_path: Path, edit: Any) -> Path:
    copy = tmp_path / "scratch"
    copy.mkdir()
    for source in BUNDLE.glob("*.json"):
        (copy / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    edit(copy)
    return copy


def _edit(directory: Path, name: str, change: Any) -> None:
    path = directory / f"{name}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema), encoding="utf-8")


def _remove_not_implemented(directory: Path, names: list[str]) -> None:
    for name in names:
        _edit(directory, name, lambda s: s["$defs"]["ErrorCode"]["enum"].remove("not_implemented"))


SCRATCH_EDITS: list[tuple[str, Any, int, str]] = [
    (
        "remove a field",
        lambda d: _edit(d, "Request", lambda s: s["properties"].pop("top_p")),
        1,
        "BREAKING Request.top_p: field removed",
    ),
    (
        "add a required field",
        lambda d: _edit(
            d,
            "Request",
            lambda s: (
                s["properties"].update(priority={"type": "integer"}),
                s["required"].append("priority"),
            ),
        ),
        1,
        "BREAKING Request.priority: field added required",
    ),
    (
        "narrow a range",
        lambda d: _edit(
            d, "ChatCompletionRequest", lambda s: s["properties"]["n"].update(maximum=64)
        ),
        1,
        "BREAKING ChatCompletionRequest.n: bound narrowed (<= 128 -> <= 64)",
    ),
    (
        "remove an enum value",
        lambda d: _edit(
            d, "KVAllocateParams", lambda s: s["$defs"]["KVDType"]["enum"].remove("fp8")
        ),
        1,
        "BREAKING KVDType: enum value removed (fp8)",
    ),
    (
        "remove an enum value from one file's copy",
        lambda d: _remove_not_implemented(d, ["Error"]),
        1,
        "BREAKING Error.json#ErrorCode: enum value removed (not_implemented)",
    ),
    (
        "narrow a bound in one file's copy",
        lambda d: _edit(
            d,
            "Response",
            lambda s: s["$defs"]["Metrics"]["properties"]["error_rate"].update(maximum=0.5),
        ),
        1,
        "BREAKING Response.json#Metrics.error_rate: bound narrowed (<= 1 -> <= 0.5)",
    ),
    (
        "make a field required in one file's copy",
        lambda d: _edit(
            d, "StreamEventEnd", lambda s: s["$defs"]["Error"]["required"].append("param")
        ),
        1,
        "BREAKING StreamEventEnd.json#Error.param: optional to required",
    ),
    (
        "make a field required in the file of its own type only",
        lambda d: _edit(d, "Error", lambda s: s["required"].append("param")),
        1,
        "BREAKING Error.json#Error.param: optional to required",
    ),
    (
        "add an optional field",
        lambda d: _edit(
            d,
            "Request",
            lambda s: s["properties"].update(
                priority={"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
            ),
        ),
        0,
        "WARNING  Request.priority: field added optional (priority); new sender -> old receiver: "
        'an old receiver rejects it (decoding with unknown="ignore" is enough)',
    ),
    (
        "widen a range",
        lambda d: _edit(
            d, "ChatCompletionRequest", lambda s: s["properties"]["n"].update(maximum=256)
        ),
        0,
        "WARNING  ChatCompletionRequest.n: bound widened (<= 128 -> <= 256)",
    ),
]


@pytest.mark.parametrize(
    ("what", "edit", "status", "line"), SCRATCH_EDITS, ids=[e[0] for e in SCRATCH_EDITS]
)
def test_scratch_copy_of_the_bundle(
    tmp_path: Path, what: str, edit: Any, status: int, line: str
) -> None:
    scratch = _scratch(tmp_path, edit)
    result = run_cli("compat", str(BUNDLE), str(scratch))
    assert result.returncode == status, result.stdout
    assert any(output.startswith(line) for output in result.stdout.splitlines()), result.stdout


def test_a_change_in_every_copy_is_reported_once_under_the_definitions_name(
    tmp_path: Path,
) -> None:
    holders = ["Error", "Response", "StreamEvent", "StreamEventEnd"]
    scratch = _scratch(tmp_path, lambda d: _remove_not_implemented(d, holders))
    found = compare_bundles(BUNDLE, scratch).changes
    assert [(c.kind, c.location, c.old) for c in found] == [
        ("enum_value_removed", "ErrorCode", "not_implemented")
    ]


def test_a_change_in_some_copies_is_reported_for_each_of_those_files(tmp_path: Path) -> None:
    scratch = _scratch(tmp_path, lambda d: _remove_not_implemented(d, ["StreamEvent", "Error"]))
    found = compare_bundles(BUNDLE, scratch).changes
    assert [(c.kind, c.location) for c in found] == [
        ("enum_value_removed", "Error.json#ErrorCode"),
        ("enum_value_removed", "StreamEvent.json#ErrorCode"),
    ]


def _listed(source: Path, directory: Path, types: list[str]) -> Path:
    """A copy of the bundle in ``source`` whose index lists ``types`` in that order."""
    directory.mkdir()
    for path in source.glob("*.json"):
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    index["types"] = types
    (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return directory


def test_verdict_and_order_do_not_depend_on_the_listing_order(tmp_path: Path) -> None:
    scratch = _scratch(tmp_path, lambda d: _remove_not_implemented(d, ["Error"]))
    _edit(scratch, "ChatCompletionRequest", lambda s: s["properties"]["n"].update(maximum=256))
    types: list[str] = json.loads((BUNDLE / "index.json").read_text(encoding="utf-8"))["types"]
    orders = {
        "as generated": types,
        "alphabetical": sorted(types),
        "reverse alphabetical": sorted(types, reverse=True),
    }
    reports = {
        (old_order, new_order): compare_bundles(
            _listed(BUNDLE, tmp_path / f"old {old_order} {new_order}", old_types),
            _listed(scratch, tmp_path / f"new {old_order} {new_order}", new_types),
        )
        for old_order, old_types in orders.items()
        for new_order, new_types in orders.items()
    }
    assert {pair: report.exit_status() for pair, report in reports.items()} == dict.fromkeys(
        reports, 1
    )
    lines = {pair: report.lines() for pair, report in reports.items()}
    assert [line.split(":")[0] for line in lines["as generated", "as generated"][:-1]] == [
        "WARNING  ChatCompletionRequest.n",
        "BREAKING Error.json#ErrorCode",
    ]
    assert all(found == lines["as generated", "as generated"] for found in lines.values()), lines


def _bundle(directory: Path, schemas: dict[str, Any]) -> Path:
    directory.mkdir()
    for name, schema in schemas.items():
        (directory / f"{name}.json").write_text(json.dumps(schema), encoding="utf-8")
    return directory


def _referring(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"a": {"$ref": ref}},
        "$defs": {"items": [{"type": "string"}], "text": "x"},
    }


@pytest.mark.parametrize("ref", ["#/$defs/missing", "#/$defs/text", "#/$defs/items/1"])
def test_a_ref_that_names_no_schema_is_a_clear_error(tmp_path: Path, ref: str) -> None:
    old = _bundle(tmp_path / "old", {"M": _referring(ref)})
    new = _bundle(tmp_path / "new", {"M": {"properties": {"a": {"type": "integer"}}}})
    result = run_cli("compat", str(old), str(new))
    assert result.returncode == 2
    assert "cannot read the bundles: a $ref points to" in result.stderr


def test_a_ref_into_a_list_is_followed(tmp_path: Path) -> None:
    old = _bundle(tmp_path / "old", {"M": _referring("#/$defs/items/0")})
    schema = _referring("#/$defs/items/0")
    schema["$defs"]["items"] = [{"type": "integer"}]
    report = compare_bundles(old, _bundle(tmp_path / "new", {"M": schema}))
    assert [change.kind for change in report.breaking] == ["field_type_changed"]


def test_a_report_lists_at_most_the_cap_and_counts_the_rest(tmp_path: Path) -> None:
    count = MAX_LISTED_CHANGES + 5
    old = _bundle(tmp_path / "old", {f"T{i}": {"type": "object"} for i in range(count)})
    new = _bundle(tmp_path / "new", {})
    report = compare_bundles(old, new)
    lines = report.lines()
    assert len(lines) == MAX_LISTED_CHANGES + 2
    assert lines[-2] == "and 5 more changes"
    assert len(report.to_json()["changes"]) == MAX_LISTED_CHANGES
    assert report.to_json()["more"] == 5
