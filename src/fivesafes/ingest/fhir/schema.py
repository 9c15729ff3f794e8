"""The R4 definitions (``r4.json.gz``) compiled into lookup tables the validator walks.

Why compiled: the validator looks at every property of every record, so each element's
definition is turned once, at import, into a :class:`Field` holding everything the walk
needs (its checker or complex type, array or not, choice group), and each type into a
:class:`ComplexType` with a dict from JSON property name to field.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from fivesafes.ingest.fhir.contained import URI_TYPES
from fivesafes.ingest.fhir.narrative import check_xhtml, markdown_html
from fivesafes.ingest.fhir.primitives import Checker, Problem, bound_checker, compile_checkers

SCHEMA_FILE = "r4.json.gz"
RESOURCE = "Resource"
# How the walk treats a field: compared by identity in the hot loop.
PRIMITIVE, COMPLEX, ARRAY, SINGLE_RESOURCE = "primitive", "complex", "array", "resource"
# A single URI-typed primitive: checked as a primitive, and a "#id" value is a local reference.
URI = "uri"


@dataclass(slots=True)
class Field:
    """One JSON property of a complex type.

    Exactly one of ``check`` (primitive), ``ctype`` (complex type or backbone element) is
    set, or neither for an element holding a whole resource (``contained``,
    ``Bundle.entry.resource``).
    """

    name: str
    type_name: str
    array: bool
    max: int | None
    group: str | None
    check: Checker | None = None
    # The type graph is cyclic (Questionnaire.item.item): keep it out of repr and ==.
    ctype: ComplexType | None = field(default=None, repr=False, compare=False)
    kind: str = SINGLE_RESOURCE
    # canonical, uri, url, oid or uuid: "#id" values refer to contained resources (dom-3).
    uri: bool = False


@dataclass(slots=True)
class ComplexType:
    """A resource, datatype or backbone element: its fields and what it requires."""

    name: str
    fields: dict[str, Field] = field(default_factory=dict, repr=False, compare=False)
    # (label, property names any one of which satisfies the requirement)
    required: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)
    hooks: tuple[Any, ...] = ()
    # The id/extension part of a primitive (``_birthDate``): its value lives beside it, so
    # an object with only an id still satisfies ele-1.
    primitive: bool = False
    # json name -> (kind, checker or complex type, choice group, field): unpacked in one step
    # by the walk, which is cheaper than reading the attributes one by one.
    table: dict[str, tuple[str, Any, str | None, Field]] = field(
        default_factory=dict, repr=False, compare=False
    )


@dataclass(frozen=True, slots=True)
class Schema:
    """Everything compiled from the R4 definitions."""

    meta: dict[str, Any]
    types: dict[str, ComplexType]
    resources: frozenset[str]
    core_extensions: dict[str, tuple[str, ...]]


def _markdown(text_check: Checker) -> Checker:
    """The markdown checker: a string that also embeds no HTML."""

    def check_markdown(value: Any) -> Problem | None:
        problem = text_check(value)
        if problem is None and "<" in value:
            return markdown_html(value)
        return problem

    return check_markdown


def _cardinality(maximum: str) -> tuple[bool, int | None]:
    if maximum == "*":
        return True, None
    count = int(maximum)
    return count > 1, (count if count > 1 else None)


@cache
def load_schema() -> Schema:
    """Read and compile the packaged R4 schema (once per process)."""
    raw = resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    checkers = compile_checkers(data["primitives"])
    checkers["xhtml"] = check_xhtml
    checkers["markdown"] = _markdown(checkers["markdown"])
    value_sets = {url: frozenset(codes) for url, codes in data["value_sets"].items()}
    types = {name: ComplexType(name) for name in data["types"]}
    for name, definition in data["types"].items():
        ctype = types[name]
        required: list[tuple[str, tuple[str, ...]]] = []
        groups: dict[str, list[str]] = {}
        group_min: dict[str, int] = {}
        for json_name, type_name, minimum, maximum, group, value_set in definition["elements"]:
            array, limit = _cardinality(maximum)
            entry = Field(json_name, type_name, array, limit, group)
            if type_name in checkers:
                entry.check = checkers[type_name]
                if value_set is not None:
                    entry.check = bound_checker(entry.check, value_sets[value_set], value_set)
            elif type_name != RESOURCE:
                entry.ctype = types[type_name]
            entry.uri = type_name in URI_TYPES
            if array:
                entry.kind = ARRAY
            elif entry.check is not None:
                entry.kind = URI if entry.uri else PRIMITIVE
            elif entry.ctype is not None:
                entry.kind = COMPLEX
            ctype.fields[json_name] = entry
            names: tuple[str, ...] = (json_name, "_" + json_name) if entry.check else (json_name,)
            if group is not None:
                groups.setdefault(group, []).extend(names)
                group_min[group] = minimum
            elif minimum:
                required.append((json_name, names))
        for group, members in groups.items():
            if group_min[group]:
                required.append((group + "[x]", tuple(members)))
        ctype.required = tuple(required)
        ctype.primitive = name in checkers
        ctype.table = {
            name: (entry.kind, entry.check or entry.ctype, entry.group, entry)
            for name, entry in ctype.fields.items()
        }
    return Schema(
        meta=data["meta"],
        types=types,
        resources=frozenset(data["resources"]),
        core_extensions={url: tuple(kinds) for url, kinds in data["extensions"].items()},
    )
