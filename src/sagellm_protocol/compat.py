"""Breaking-change checker for schema bundles (like ``buf breaking`` for protobuf).

``compare_bundles(old_dir, new_dir)`` lists every difference between two bundles in the
layout of ``sagellm_protocol.schema`` (one ``<Type>.json`` per message type, ``index.json``
optional), generated from these models or any other pydantic models, with a verdict for
each direction:

* **old sender -> new receiver** (the gate): everything OLD accepts, NEW must accept. A change
  that breaks it (a field removed while unknown fields are rejected, a field added as
  required, a range, length or enum narrowed, a type narrowed or changed, a default changed)
  makes ``CompatReport.exit_status()`` 1.
* **new sender -> old receiver** (a warning): what an old receiver would reject, and whether
  decoding with ``unknown="ignore"`` is enough (it is for an added field). With
  ``strict=True`` these gate too.

Types are compared in the order of their names, whatever the order of the files or of
``index.json``. Every document carries its own copy of the definitions it uses (``ErrorCode``
sits in ``Error.json``, ``Response.json``, ...), and each copy is compared: a change found in
every document that holds the definition is reported once under the definition's name
(``ErrorCode``), a change found in some of them only is reported for each of those files
(``Error.json#ErrorCode``).

Titles and descriptions are documentation, not contract, and are not compared.

A reviewed change can be let through: ``report.allow(load_allowances(path))`` marks each
change that an ``Allowance`` names exactly (kind, location, old and new value) as allowed, with
the allowance's reason; an allowed change neither breaks the gate nor warns. An allowance that
names no change is returned, so a gate can refuse stale ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

__all__ = [
    "MAX_LISTED_CHANGES",
    "Allowance",
    "Change",
    "CompatReport",
    "Kind",
    "compare_bundles",
    "load_allowances",
    "load_bundle",
]

Kind = Literal[
    "type_removed",
    "type_added",
    "field_removed",
    "field_added_required",
    "field_added_optional",
    "field_type_narrowed",
    "field_type_widened",
    "field_type_changed",
    "bound_narrowed",
    "bound_widened",
    "length_narrowed",
    "length_widened",
    "enum_value_removed",
    "enum_value_added",
    "required_to_optional",
    "optional_to_required",
    "default_changed",
    "discriminator_changed",
    "unknown_fields_forbidden",
    "unknown_fields_allowed",
    "pattern_changed",
]
"""Every kind of change the checker reports."""

OldToNew = Literal["compatible", "breaking"]
NewToOld = Literal["compatible", "incompatible"]


MAX_LISTED_CHANGES = 1000
"""Most changes a report lists (``CompatReport.lines`` and ``to_json``); the rest are counted."""


@dataclass(frozen=True)
class Change:
    """One difference between two bundles and what it does to each direction of traffic."""

    kind: Kind
    """What changed."""
    location: str
    """Type and field path, e.g. ``Request.max_tokens`` or ``Metrics.itl_list[]``; prefixed with
    the file, e.g. ``Response.json#Metrics.ttft_ms``, when only some of the documents that hold
    the definition changed it."""
    old: str | None
    """The old value (a bound, a type, an enum value ...), or None."""
    new: str | None
    """The new value, or None."""
    old_to_new: OldToNew
    """``breaking`` when a message OLD accepts is rejected or read differently by NEW."""
    new_to_old: NewToOld
    """``incompatible`` when a message NEW accepts may be rejected by OLD."""
    ignore_suffices: bool = False
    """For ``new_to_old == "incompatible"``: an old receiver decoding with
    ``unknown="ignore"`` accepts it after all."""
    allowed: str | None = None
    """Why a reviewed allowance lets this change through (see ``CompatReport.allow``), or
    None."""

    def describe(self) -> str:
        """One line: verdict, location, kind, old -> new, and what it means."""
        if self.old is not None and self.new is not None:
            values = f" ({self.old} -> {self.new})"
        else:
            values = f" ({self.old or self.new})" if self.old or self.new else ""
        what = f"{self.location}: {self.kind.replace('_', ' ')}{values}"
        if self.allowed is not None:
            return f"ALLOWED  {what}; {self.allowed}"
        if self.old_to_new == "breaking":
            return f"BREAKING {what}; old sender -> new receiver: {_BREAKING_REASON[self.kind]}"
        if self.new_to_old == "incompatible":
            remedy = (
                'decoding with unknown="ignore" is enough'
                if self.ignore_suffices
                else 'unknown="ignore" does not help'
            )
            reason = f"an old receiver rejects it ({remedy})"
            return f"WARNING  {what}; new sender -> old receiver: {reason}"
        return f"OK       {what}"


_VERDICTS: dict[str, tuple[OldToNew, NewToOld]] = {
    "type_removed": ("breaking", "compatible"),
    "type_added": ("compatible", "incompatible"),
    "field_added_required": ("breaking", "incompatible"),
    "field_added_optional": ("compatible", "incompatible"),
    "field_type_narrowed": ("breaking", "compatible"),
    "field_type_widened": ("compatible", "incompatible"),
    "field_type_changed": ("breaking", "incompatible"),
    "bound_narrowed": ("breaking", "compatible"),
    "bound_widened": ("compatible", "incompatible"),
    "length_narrowed": ("breaking", "compatible"),
    "length_widened": ("compatible", "incompatible"),
    "enum_value_removed": ("breaking", "compatible"),
    "enum_value_added": ("compatible", "incompatible"),
    "required_to_optional": ("compatible", "incompatible"),
    "optional_to_required": ("breaking", "compatible"),
    "default_changed": ("breaking", "compatible"),
    "unknown_fields_forbidden": ("breaking", "compatible"),
    "unknown_fields_allowed": ("compatible", "incompatible"),
    "pattern_changed": ("breaking", "incompatible"),
}
"""Verdicts (old sender -> new receiver, new sender -> old receiver) of the kinds whose
verdicts do not depend on context; field_removed and discriminator_changed are decided where
they are found."""

_BREAKING_REASON: dict[str, str] = {
    "type_removed": "the new receiver no longer knows this type",
    "field_removed": "the new receiver rejects the field as unknown",
    "field_added_required": "old senders do not send the new required field",
    "field_type_narrowed": "values old senders may send are rejected now",
    "field_type_changed": "values old senders may send are rejected now",
    "bound_narrowed": "values old senders may send are rejected now",
    "length_narrowed": "values old senders may send are rejected now",
    "enum_value_removed": "old senders may send the removed value",
    "optional_to_required": "old senders may leave the field out",
    "default_changed": "a message that leaves the field out means something else now",
    "discriminator_changed": "old senders' tags select another type or none",
    "unknown_fields_forbidden": "fields old receivers accepted are rejected now",
    "pattern_changed": "values old senders may send may be rejected now",
}


@dataclass(frozen=True)
class Allowance:
    """A reviewed change that the gate lets through: exactly which change, and why."""

    kind: Kind
    """The kind of the change."""
    location: str
    """Its location, as ``Change.location`` writes it."""
    old: str | None
    """Its old value, as ``Change.old`` writes it."""
    new: str | None
    """Its new value, as ``Change.new`` writes it."""
    reason: str
    """Why the change is allowed (shown in the report)."""

    def matches(self, change: Change) -> bool:
        """True when ``change`` is the change this allowance names."""
        return (self.kind, self.location, self.old, self.new) == (
            change.kind,
            change.location,
            change.old,
            change.new,
        )


def load_allowances(path: str | Path) -> list[Allowance]:
    """The allowances in a JSON file: ``{"allowed": [{"kind", "location", "old", "new",
    "reason"}, ...]}`` (other top-level members, such as ``release``, are documentation)."""
    content = json.loads(Path(path).read_text(encoding="utf-8"))
    entries = content.get("allowed") if isinstance(content, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: no list of allowed changes under 'allowed'")
    allowances = []
    for number, entry in enumerate(entries):
        keys = {"kind", "location", "old", "new", "reason"}
        if not isinstance(entry, dict) or set(entry) != keys:
            raise ValueError(f"{path}: allowed[{number}] must have exactly {sorted(keys)}")
        if entry["kind"] not in get_args(Kind):
            raise ValueError(f"{path}: allowed[{number}]: unknown kind {entry['kind']!r}")
        if not all(isinstance(entry[key], (str, type(None))) for key in ("old", "new")):
            raise ValueError(f"{path}: allowed[{number}]: old and new are strings or null")
        if not isinstance(entry["location"], str):
            raise ValueError(f"{path}: allowed[{number}]: location is a string")
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise ValueError(f"{path}: allowed[{number}] needs a reason")
        allowances.append(Allowance(**entry))
    return allowances


@dataclass
class CompatReport:
    """Every change between two bundles, in a stable order."""

    changes: list[Change] = field(default_factory=list)
    """All changes found."""

    @property
    def breaking(self) -> list[Change]:
        """Changes that break old sender -> new receiver (the gate), unless allowed."""
        return [
            change
            for change in self.changes
            if change.old_to_new == "breaking" and change.allowed is None
        ]

    @property
    def warnings(self) -> list[Change]:
        """Changes an old receiver would reject from a new sender (not breaking), unless
        allowed."""
        return [
            change
            for change in self.changes
            if change.old_to_new != "breaking"
            and change.new_to_old == "incompatible"
            and change.allowed is None
        ]

    @property
    def allowed(self) -> list[Change]:
        """Changes that an allowance lets through."""
        return [change for change in self.changes if change.allowed is not None]

    def allow(self, allowances: list[Allowance]) -> list[Allowance]:
        """Mark every change an allowance names as allowed; return the allowances that name
        no change (stale: the change they allowed is gone, so they should go too)."""
        unused = []
        for allowance in allowances:
            found = False
            for index, change in enumerate(self.changes):
                if allowance.matches(change):
                    self.changes[index] = replace(change, allowed=allowance.reason)
                    found = True
            if not found:
                unused.append(allowance)
        return unused

    def exit_status(self, *, strict: bool = False) -> int:
        """1 when a change breaks the gate (or, with ``strict``, any warning), else 0."""
        return 1 if self.breaking or (strict and self.warnings) else 0

    def lines(self) -> list[str]:
        """One line per change (at most ``MAX_LISTED_CHANGES``, then one line counting the
        rest), then a summary line."""
        summary = (
            f"{len(self.changes)} change(s): {len(self.breaking)} breaking "
            f"(old sender -> new receiver), {len(self.warnings)} warning(s) "
            "(new sender -> old receiver)"
        )
        if self.allowed:
            summary += f", {len(self.allowed)} allowed"
        listed = [change.describe() for change in self.changes[:MAX_LISTED_CHANGES]]
        left = len(self.changes) - len(listed)
        if left:
            listed.append(f"and {left} more change{'s' if left != 1 else ''}")
        return [*listed, summary]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-compatible data: the changes (at most ``MAX_LISTED_CHANGES``;
        ``more`` counts the rest) and the counts."""
        return {
            "changes": [asdict(change) for change in self.changes[:MAX_LISTED_CHANGES]],
            "more": max(0, len(self.changes) - MAX_LISTED_CHANGES),
            "breaking": len(self.breaking),
            "warnings": len(self.warnings),
            "allowed": len(self.allowed),
        }


def load_bundle(path: str | Path) -> dict[str, dict[str, Any]]:
    """The schemas of a bundle directory by type name (``index.json`` lists them if present)."""
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a bundle directory")
    index = directory / "index.json"
    if index.is_file():
        names = list(json.loads(index.read_text(encoding="utf-8"))["types"])
    else:
        names = sorted(entry.stem for entry in directory.glob("*.json"))
    schemas = {}
    for name in names:
        schema = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        if not isinstance(schema, dict):
            raise ValueError(f"{directory / name}.json: not a JSON Schema object")
        schemas[name] = schema
    return schemas


def compare_bundles(old_dir: str | Path, new_dir: str | Path) -> CompatReport:
    """Compare the bundle in ``old_dir`` with the one in ``new_dir``."""
    return compare_schemas(load_bundle(old_dir), load_bundle(new_dir))


def compare_schemas(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> CompatReport:
    """Compare two bundles given as ``{type name: schema}`` (in any order)."""
    comparer = _Comparer()
    for name in sorted(old.keys() - new.keys()):
        comparer.add("type_removed", name, name, None)
    for name in sorted(new.keys() - old.keys()):
        comparer.add("type_added", name, None, name)
    for name in sorted(old.keys() & new.keys()):
        comparer.compare_document(name, old[name], new[name])
    return CompatReport(comparer.changes())


# --- the comparison ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """A schema together with the document whose ``$defs`` its references point into."""

    schema: dict[str, Any]
    root: dict[str, Any]

    def resolved(self) -> tuple[_Node, str | None]:
        """Follow ``$ref`` (and a lone ``allOf`` wrapper); also return the definition's name."""
        schema, name = self.schema, None
        for _ in range(64):
            all_of = schema.get("allOf")
            if (
                isinstance(all_of, list)
                and len(all_of) == 1
                and set(schema) <= _ANNOTATIONS | {"allOf"}
            ):
                schema = all_of[0]
                continue
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                schema, name = _pointed_to(self.root, ref), ref.rsplit("/", 1)[-1]
                continue
            break
        return _Node(schema, self.root), name

    def options(self) -> list[_Node]:
        """The alternatives of a union (``anyOf``/``oneOf``, unresolved), or the schema itself."""
        for key in ("anyOf", "oneOf"):
            options = self.schema.get(key)
            if isinstance(options, list):
                return [_Node(option, self.root) for option in options]
        return [self]


def _pointed_to(root: dict[str, Any], ref: str) -> dict[str, Any]:
    """The schema object the JSON pointer ``ref`` (``#/$defs/Name``) names in ``root``;
    ``ValueError`` when it names nothing, or something that is not a schema object."""
    target: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        else:
            raise ValueError("a $ref points to nothing in its document")
    if not isinstance(target, dict):
        raise ValueError("a $ref points to something that is not a schema object")
    return target


_ANNOTATIONS = {"title", "description", "default", "examples", "$comment"}
_JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


def _kinds(node: _Node) -> set[str]:
    """The JSON types a (resolved, single) schema accepts."""
    schema = node.schema
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = (
        schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else None
    )
    if values is not None:
        return {_json_type(value) for value in values}
    if "properties" in schema or "additionalProperties" in schema:
        return {"object"}
    if "items" in schema or "prefixItems" in schema:
        return {"array"}
    return set(_JSON_TYPES)  # no type restriction


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _accepts(kinds: set[str], kind: str) -> bool:
    return kind in kinds or (kind == "integer" and "number" in kinds)


def _union_kinds(options: list[_Node]) -> set[str]:
    kinds: set[str] = set()
    for option in options:
        kinds |= _kinds(option.resolved()[0])
    return kinds


_Pair = tuple[str, str]
"""The names of an old and a new definition compared with each other."""


class _Comparer:
    """Compares documents one by one; each finding is kept with the definition it lies in."""

    def __init__(self) -> None:
        self._document = ""
        """The type name of the document being compared ("" outside any)."""
        self._seen: set[_Pair] = set()
        """Definitions compared in this document (each once, which also ends ``$ref`` cycles)."""
        self._owner: _Pair | None = None
        """The definition the comparison is in (None outside any)."""
        self._holders: dict[_Pair, set[str]] = {}
        """For each definition, the documents it was compared in."""
        self._occurrences: dict[tuple[_Pair | None, Change], int] = {}
        """How often each finding was made in this document."""
        self._found: dict[tuple[_Pair | None, Change, int], list[str]] = {}
        """Each finding (the definition, the change, its occurrence): the documents it was made
        in, in the order they were compared."""

    def compare_document(self, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Compare the old and the new document of type ``name``."""
        self._document, self._seen, self._occurrences = name, set(), {}
        self.compare(_Node(old, old), _Node(new, new), name, names=(name, name))

    def changes(self) -> list[Change]:
        """Every finding in the order first made: once if every document holding its definition
        made it, else once for each document that did, the file named in the location."""
        changes = []
        for (owner, change, _), documents in self._found.items():
            if owner is None or len(documents) == len(self._holders[owner]):
                changes.append(change)
            else:
                changes += [
                    replace(change, location=f"{document}.json#{change.location}")
                    for document in documents
                ]
        return changes

    def add(
        self,
        kind: Kind,
        location: str,
        old: Any = None,
        new: Any = None,
        *,
        verdicts: tuple[OldToNew, NewToOld] | None = None,
        ignore_suffices: bool = False,
    ) -> None:
        old_to_new, new_to_old = verdicts or _VERDICTS[kind]
        change = Change(
            kind, location, _text(old), _text(new), old_to_new, new_to_old, ignore_suffices
        )
        key = (self._owner, change)
        occurrence = self._occurrences[key] = self._occurrences.get(key, 0) + 1
        self._found.setdefault((self._owner, change, occurrence), []).append(self._document)

    def compare(self, old: _Node, new: _Node, location: str, *, names: _Pair | None = None) -> None:
        """Compare two schemas; ``names`` are the definition names of top-level schemas."""
        old, old_name = old.resolved()
        new, new_name = new.resolved()
        if names is not None and old_name is None and new_name is None:
            old_name, new_name = names
        owner = names
        if old_name is not None and new_name is not None:
            owner = (old_name, new_name)
            if owner in self._seen:
                return
            self._seen.add(owner)
            location = new_name
        if owner is None:
            self._compare_resolved(old, new, location)
            return
        outer, self._owner = self._owner, owner
        self._holders.setdefault(owner, set()).add(self._document)
        self._compare_resolved(old, new, location)
        self._owner = outer

    def _compare_resolved(self, old: _Node, new: _Node, location: str) -> None:
        self._compare_default(old.schema, new.schema, location)
        old_options, new_options = old.options(), new.options()
        self._compare_kinds(_union_kinds(old_options), _union_kinds(new_options), location)
        if old_options == [old] and new_options == [new]:
            self._compare_member(old, new, location)
        else:
            pairs = list(_pair(old_options, new_options))
            for old_option, new_option in pairs:
                self.compare(old_option, new_option, location)
            if _mapping(old.schema) is None or _mapping(new.schema) is None:
                self._compare_alternatives(old_options, new_options, pairs, location)
        self._compare_discriminator(old.schema, new.schema, location)

    def _compare_alternatives(
        self,
        old_options: list[_Node],
        new_options: list[_Node],
        pairs: list[tuple[_Node, _Node]],
        location: str,
    ) -> None:
        """Union alternatives removed or added without a change of JSON type (``A | B``)."""
        old_kinds, new_kinds = _union_kinds(old_options), _union_kinds(new_options)
        paired_old = [id(old_option) for old_option, _ in pairs]
        paired_new = [id(new_option) for _, new_option in pairs]
        for option in old_options:
            kinds = _kinds(option.resolved()[0])
            if id(option) not in paired_old and all(_accepts(new_kinds, k) for k in kinds):
                self.add("field_type_narrowed", location, _option_key(option), None)
        for option in new_options:
            kinds = _kinds(option.resolved()[0])
            if id(option) not in paired_new and all(_accepts(old_kinds, k) for k in kinds):
                self.add("field_type_widened", location, None, _option_key(option))

    def _compare_kinds(self, old: set[str], new: set[str], location: str) -> None:
        removed = sorted(kind for kind in old if not _accepts(new, kind))
        added = sorted(kind for kind in new if not _accepts(old, kind))
        old_text, new_text = "|".join(sorted(old)), "|".join(sorted(new))
        if removed and added:
            self.add("field_type_changed", location, old_text, new_text)
        elif removed:
            self.add("field_type_narrowed", location, old_text, new_text)
        elif added:
            self.add("field_type_widened", location, old_text, new_text)

    def _compare_default(self, old: dict[str, Any], new: dict[str, Any], location: str) -> None:
        if "default" in old and "default" in new and old["default"] != new["default"]:
            self.add("default_changed", location, old["default"], new["default"])

    def _compare_member(self, old: _Node, new: _Node, location: str) -> None:
        old_schema, new_schema = old.schema, new.schema
        self._compare_values(old_schema, new_schema, location)
        self._compare_bounds(old_schema, new_schema, location)
        for key_min, key_max in (
            ("minLength", "maxLength"),
            ("minItems", "maxItems"),
            ("minProperties", "maxProperties"),
        ):
            self._compare_range(old_schema, new_schema, location, key_min, key_max)
        if old_schema.get("pattern") != new_schema.get("pattern"):
            self.add(
                "pattern_changed", location, old_schema.get("pattern"), new_schema.get("pattern")
            )
        if "items" in old_schema and "items" in new_schema:
            self.compare(
                _Node(old_schema["items"], old.root),
                _Node(new_schema["items"], new.root),
                f"{location}[]",
            )
        if "object" in _kinds(old) and "object" in _kinds(new):
            self._compare_object(old, new, location)

    def _compare_values(self, old: dict[str, Any], new: dict[str, Any], location: str) -> None:
        old_values = _allowed_values(old)
        new_values = _allowed_values(new)
        if old_values is None and new_values is None:
            return
        if old_values is None:
            self.add("enum_value_removed", location, "any", _text(new_values))
            return
        if new_values is None:
            self.add("enum_value_added", location, _text(old_values), "any")
            return
        for value in old_values:
            if value not in new_values:
                self.add("enum_value_removed", location, value, None)
        for value in new_values:
            if value not in old_values:
                self.add("enum_value_added", location, None, value)

    def _compare_bounds(self, old: dict[str, Any], new: dict[str, Any], location: str) -> None:
        for side in ("lower", "upper"):
            old_bound, new_bound = _bound(old, side), _bound(new, side)
            if old_bound == new_bound:
                continue
            # A tighter bound accepts less: larger lower bound, smaller upper bound; at the same
            # value, an exclusive bound is tighter than an inclusive one.
            sign = 1 if side == "lower" else -1
            old_key = (sign * old_bound[0], old_bound[1])
            new_key = (sign * new_bound[0], new_bound[1])
            narrowed = new_key > old_key
            self.add(
                "bound_narrowed" if narrowed else "bound_widened",
                location,
                _describe_bound(old_bound, side),
                _describe_bound(new_bound, side),
            )

    def _compare_range(
        self, old: dict[str, Any], new: dict[str, Any], location: str, key_min: str, key_max: str
    ) -> None:
        for key, larger_is_tighter in ((key_min, True), (key_max, False)):
            old_value, new_value = old.get(key), new.get(key)
            if old_value == new_value:
                continue
            if old_value is None:
                narrowed = True
            elif new_value is None:
                narrowed = False
            else:
                narrowed = (new_value > old_value) == larger_is_tighter
            self.add(
                "length_narrowed" if narrowed else "length_widened",
                location,
                f"{key} {old_value}" if old_value is not None else f"no {key}",
                f"{key} {new_value}" if new_value is not None else f"no {key}",
            )

    def _compare_object(self, old: _Node, new: _Node, location: str) -> None:
        old_schema, new_schema = old.schema, new.schema
        old_props: dict[str, Any] = old_schema.get("properties", {})
        new_props: dict[str, Any] = new_schema.get("properties", {})
        old_required = set(old_schema.get("required", []))
        new_required = set(new_schema.get("required", []))
        old_closed = old_schema.get("additionalProperties") is False
        new_closed = new_schema.get("additionalProperties") is False
        for name in old_props:
            if name in new_props:
                continue
            # NEW rejects the field only if it rejects unknown fields; a new sender never sends
            # it, which an old receiver minds only if the field was required.
            self.add(
                "field_removed",
                f"{location}.{name}",
                name,
                verdicts=(
                    "breaking" if new_closed else "compatible",
                    "incompatible" if name in old_required else "compatible",
                ),
            )
        for name in new_props:
            if name in old_props:
                continue
            required = name in new_required
            # An old receiver minds a new field only if it rejects unknown fields, and then
            # decoding with unknown="ignore" is enough.
            self.add(
                "field_added_required" if required else "field_added_optional",
                f"{location}.{name}",
                None,
                name,
                verdicts=(
                    "breaking" if required else "compatible",
                    "incompatible" if old_closed else "compatible",
                ),
                ignore_suffices=old_closed,
            )
        for name, old_property in old_props.items():
            if name not in new_props:
                continue
            path = f"{location}.{name}"
            if name in old_required and name not in new_required:
                self.add("required_to_optional", path, "required", "optional")
            elif name in new_required and name not in old_required:
                self.add("optional_to_required", path, "optional", "required")
            self.compare(_Node(old_property, old.root), _Node(new_props[name], new.root), path)
        if old_closed and not new_closed:
            self.add("unknown_fields_allowed", location, "forbidden", "allowed")
        elif new_closed and not old_closed:
            self.add("unknown_fields_forbidden", location, "allowed", "forbidden")
        old_extra, new_extra = (
            old_schema.get("additionalProperties"),
            new_schema.get("additionalProperties"),
        )
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(_Node(old_extra, old.root), _Node(new_extra, new.root), f"{location}{{}}")

    def _compare_discriminator(
        self, old: dict[str, Any], new: dict[str, Any], location: str
    ) -> None:
        old_map = _mapping(old)
        new_map = _mapping(new)
        if old_map is None or new_map is None or old_map == new_map:
            return
        for tag, target in old_map.items():
            if tag not in new_map:
                self.add(
                    "discriminator_changed",
                    f"{location}[{tag}]",
                    target,
                    None,
                    verdicts=("breaking", "compatible"),
                )
            elif new_map[tag].rsplit("/", 1)[-1] != target.rsplit("/", 1)[-1]:
                self.add(
                    "discriminator_changed",
                    f"{location}[{tag}]",
                    target,
                    new_map[tag],
                    verdicts=("breaking", "incompatible"),
                )
        for tag, target in new_map.items():
            if tag not in old_map:
                self.add(
                    "discriminator_changed",
                    f"{location}[{tag}]",
                    None,
                    target,
                    verdicts=("compatible", "incompatible"),
                )


def _pair(old: list[_Node], new: list[_Node]) -> Iterator[tuple[_Node, _Node]]:
    """Pair union options that stand for the same alternative (same definition, else same type)."""
    used: set[int] = set()
    for old_option in old:
        old_key = _option_key(old_option)
        for index, new_option in enumerate(new):
            if index not in used and _option_key(new_option) == old_key:
                used.add(index)
                yield old_option, new_option
                break


def _option_key(option: _Node) -> str:
    node, name = option.resolved()
    title = name or node.schema.get("title")
    kinds = "|".join(sorted(_kinds(node)))
    if "object" in kinds and isinstance(title, str):
        return f"object:{title}"
    return kinds


def _allowed_values(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _bound(schema: dict[str, Any], side: str) -> tuple[float, bool]:
    """(value, exclusive) of the lower or upper bound; an absent bound is infinitely far."""
    inclusive_key, exclusive_key = (
        ("minimum", "exclusiveMinimum") if side == "lower" else ("maximum", "exclusiveMaximum")
    )
    candidates = []
    if isinstance(schema.get(inclusive_key), (int, float)):
        candidates.append((float(schema[inclusive_key]), False))
    if isinstance(schema.get(exclusive_key), (int, float)):
        candidates.append((float(schema[exclusive_key]), True))
    if not candidates:
        return (-math.inf, False) if side == "lower" else (math.inf, False)
    sign = 1 if side == "lower" else -1
    return max(candidates, key=lambda bound: (sign * bound[0], bound[1]))


def _describe_bound(bound: tuple[float, bool], side: str) -> str:
    value, exclusive = bound
    if math.isinf(value):
        return "none"
    symbol = (">" if exclusive else ">=") if side == "lower" else ("<" if exclusive else "<=")
    return f"{symbol} {_text(value)}"


def _mapping(schema: dict[str, Any]) -> dict[str, str] | None:
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, dict) and isinstance(discriminator.get("mapping"), dict):
        return dict(discriminator["mapping"])
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True)
