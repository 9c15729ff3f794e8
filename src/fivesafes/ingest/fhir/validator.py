"""FHIR R4 structural validation of one resource: the walk and the public API.

Why one recursive walk: every property of a record is visited exactly once, looked up in
its type's compiled field table (:mod:`fivesafes.ingest.fhir.schema`), and checked with the
cheapest test that decides it; cross-element rules run as per-type hooks after an element's
children. Paths are built only for objects we descend into and for findings, so valid data
costs little more than the dictionary lookups. Nothing is copied or mutated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from fivesafes.ingest.fhir import bundle, contained, extensions, invariants, ruleset
from fivesafes.ingest.fhir.context import Context
from fivesafes.ingest.fhir.primitives import Problem, describe
from fivesafes.ingest.fhir.schema import (
    ARRAY,
    COMPLEX,
    PRIMITIVE,
    URI,
    ComplexType,
    Field,
    load_schema,
)
from fivesafes.ingest.rules import Finding

_SCHEMA = load_schema()
_TYPES = _SCHEMA.types
_RESOURCES = _SCHEMA.resources
_UTF8_BOM = b"\xef\xbb\xbf"


def _install_hooks() -> None:
    """Attach the invariant, extension, contained and bundle checks to their types."""
    hooks: dict[str, list[Any]] = {}
    for table in (invariants.HOOKS, extensions.HOOKS, contained.HOOKS, bundle.HOOKS):
        for type_name, hook in table.items():
            hooks.setdefault(type_name, []).append(hook)
    for type_name, type_hooks in hooks.items():
        _TYPES[type_name].hooks = tuple(type_hooks)


_install_hooks()


def _primitive_extension(
    obj: dict[str, Any], key: str, value: Any, field: Field, path: str, ctx: Context
) -> None:
    """``_name``: the id/extensions of primitive ``name``, aligned with it when repeating."""
    element_type = _TYPES[field.type_name]
    here = f"{path}.{key}"
    if not field.array:
        if type(value) is dict and value:
            _walk(value, element_type, here, ctx)
        else:
            ctx.add(
                ruleset.TYPE, here, f"expected an object with id/extension, found {describe(value)}"
            )
        return
    if type(value) is not list or not value:
        ctx.add(ruleset.ARRAY, here, f"expected a non-empty array, found {describe(value)}")
        return
    values = obj.get(field.name)
    if type(values) is list and len(values) != len(value):
        ctx.add(
            ruleset.ARRAY,
            here,
            f"has {len(value)} items but {field.name} has {len(values)}; they must align",
        )
    for index, item in enumerate(value):
        if type(item) is dict and item:
            _walk(item, element_type, f"{here}[{index}]", ctx)
        elif item is not None:
            ctx.add(
                ruleset.TYPE,
                f"{here}[{index}]",
                f"expected an object or null, found {describe(item)}",
            )
        elif type(values) is not list or index >= len(values) or values[index] is None:
            ctx.add(ruleset.EMPTY, f"{here}[{index}]", "null here needs a value in " + field.name)


def _unknown(
    obj: dict[str, Any], key: str, value: Any, ctype: ComplexType, path: str, ctx: Context
) -> None:
    """A property with no field of that name: primitive extension, resourceType, or unknown."""
    if type(key) is not str:
        ctx.add(ruleset.UNKNOWN_ELEMENT, path, f"property name {key!r} is not a string")
        return
    if key[:1] == "_":
        field = ctype.fields.get(key[1:])
        if field is not None and field.check is not None:
            _primitive_extension(obj, key, value, field, path, ctx)
            return
    elif key == "resourceType" and ctype.name in _RESOURCES:
        return
    ctx.add(
        ruleset.UNKNOWN_ELEMENT,
        f"{path}.{key}",
        f"unknown property {key!r} (not defined for {ctype.name} in FHIR R4)",
    )


def _primitive_array(
    obj: dict[str, Any], field: Field, items: list[Any], path: str, ctx: Context
) -> None:
    check = field.check
    for index, item in enumerate(items):
        if item is None:
            extension = obj.get("_" + field.name)
            if type(extension) is not list or index >= len(extension) or extension[index] is None:
                ctx.add(ruleset.EMPTY, f"{path}[{index}]", "null is not allowed; omit the value")
            continue
        problem = check(item)  # type: ignore[misc]
        if problem is not None:
            ctx.add(problem[0], f"{path}[{index}]", problem[1])
        elif field.uri and item[:1] == "#":
            contained.note_uri_reference(item, f"{path}[{index}]", field.type_name, ctx)


def _report_primitive(field: Field, value: Any, problem: Problem, path: str, ctx: Context) -> None:
    """A single primitive's problem, named by shape first (null, array) then by value."""
    if value is None:
        ctx.add(ruleset.EMPTY, path, "null is not allowed; omit the property")
    elif type(value) is list:
        ctx.add(ruleset.ARRAY, path, f"expected a single {field.type_name}, found an array")
    else:
        ctx.add(problem[0], path, problem[1])


def _complex_value(field: Field, value: Any, path: str, ctx: Context) -> None:
    """One value of a complex or resource element (the shape errors live here)."""
    if value is None:
        ctx.add(ruleset.EMPTY, path, "null is not allowed; omit the property")
    elif field.ctype is None:
        _resource(value, path, ctx, field.name == "contained")
    elif type(value) is not dict:
        ctx.add(
            ruleset.TYPE, path, f"expected an object ({field.type_name}), found {describe(value)}"
        )
    elif not value:
        ctx.add(ruleset.EMPTY, path, "an empty object is not allowed; omit the property")
    else:
        _walk(value, field.ctype, path, ctx)


def _array(obj: dict[str, Any], field: Field, value: Any, path: str, ctx: Context) -> None:
    """A repeating element: an array, not empty, within its maximum, each item checked."""
    if type(value) is not list:
        if value is None:
            ctx.add(ruleset.EMPTY, path, "null is not allowed; omit the property")
        else:
            message = f"expected an array of {field.type_name}, found {describe(value)}"
            ctx.add(ruleset.ARRAY, path, message)
        return
    if not value:
        ctx.add(ruleset.EMPTY, path, "an array must not be empty; omit the property")
        return
    if field.max is not None and len(value) > field.max:
        ctx.add(ruleset.CARDINALITY, path, f"{len(value)} values, at most {field.max} allowed")
    if field.check is not None:
        _primitive_array(obj, field, value, path, ctx)
        return
    ctype = field.ctype
    for index, item in enumerate(value):
        if ctype is not None and type(item) is dict and item:
            _walk(item, ctype, f"{path}[{index}]", ctx)
        else:
            _complex_value(field, item, f"{path}[{index}]", ctx)


def _choice(groups: dict[str, str], field: Field, key: str, path: str, ctx: Context) -> None:
    """Only one type of a choice element (``value[x]``) may be present."""
    seen = groups.setdefault(field.group, key)  # type: ignore[arg-type]
    if seen != key:
        ctx.add(
            ruleset.CARDINALITY,
            f"{path}.{key}",
            f"only one of {field.group}[x] is allowed; {seen} is also present",
        )


def _walk(obj: dict[str, Any], ctype: ComplexType, path: str, ctx: Context) -> None:
    """Check every property of one object against its type, then the type's rules.

    The common cases (a single primitive, a non-empty object) are decided inline; shape
    errors, arrays and resources go to the helpers above.
    """
    table = ctype.table
    groups: dict[str, str] | None = None
    ctx.properties += len(obj)
    for key, value in obj.items():
        spec = table.get(key)
        if spec is None:
            _unknown(obj, key, value, ctype, path, ctx)
            continue
        kind, target, group, field = spec
        if group is not None:
            if groups is None:
                groups = {group: key}
            else:
                _choice(groups, field, key, path, ctx)
        if kind is PRIMITIVE:
            problem = target(value)
            if problem is not None:
                _report_primitive(field, value, problem, path + "." + key, ctx)
        elif kind is URI:
            problem = target(value)
            if problem is not None:
                _report_primitive(field, value, problem, path + "." + key, ctx)
            elif value[:1] == "#":
                contained.note_uri_reference(value, path + "." + key, field.type_name, ctx)
        elif kind is COMPLEX and type(value) is dict and value:
            _walk(value, target, path + "." + key, ctx)
        elif kind is ARRAY:
            _array(obj, field, value, path + "." + key, ctx)
        elif type(value) is list:
            message = f"expected a single {field.type_name}, found an array (max 1)"
            ctx.add(ruleset.ARRAY, path + "." + key, message)
        else:
            _complex_value(field, value, path + "." + key, ctx)
    if ctype.required:
        for label, names in ctype.required:
            for name in names:
                if name in obj:
                    break
            else:
                ctx.add(
                    ruleset.CARDINALITY, f"{path}.{label}", "required element is missing (min 1)"
                )
    if len(obj) == 1 and "id" in obj and not ctype.primitive:
        ctx.add(ruleset.EMPTY, path, "ele-1 failed: an element must have a value or children")
    if ctype.hooks:
        for hook in ctype.hooks:
            hook(obj, path, ctx)


def _resource(resource: Any, path: str, ctx: Context, is_contained: bool = False) -> None:
    """One resource: its type, its elements, and its contained resources."""
    if type(resource) is not dict:
        ctx.add(
            ruleset.TYPE, path, f"expected a resource (JSON object), found {describe(resource)}"
        )
        return
    kind = resource.get("resourceType")
    if kind is None:
        ctx.add(ruleset.RESOURCE_TYPE, path, "resourceType is missing")
        return
    if type(kind) is not str or kind not in _RESOURCES:
        shown = repr(kind) if type(kind) is str else describe(kind)
        where = f"{path}.resourceType" if path else "resourceType"
        ctx.add(ruleset.RESOURCE_TYPE, where, f"{shown} is not an FHIR R4 resource type")
        return
    if is_contained:
        _walk(resource, _TYPES[kind], path, ctx)
        return
    outer = ctx.local_refs
    ctx.local_refs = []
    _walk(resource, _TYPES[kind], path or kind, ctx)
    if ctx.local_refs or "contained" in resource:
        contained.check_contained(resource, path or kind, ctx)
    ctx.local_refs = outer


class FhirValidator:
    """An R4 structural validator with its own registry of known extensions.

    Most callers use the module-level :func:`validate_resource`; a separate instance is for
    when a different set of registered extensions is needed (e.g. a test).
    """

    def __init__(self) -> None:
        self.extensions = extensions.ExtensionRegistry(
            _SCHEMA.core_extensions,
            [name for name in _TYPES if "." not in name and name not in _RESOURCES],
        )

    def register_extension(self, url: str, value_types: Iterable[str]) -> None:
        """Make an extension known with the FHIR types its value[x] may take.

        An empty ``value_types`` registers a complex extension (nested extensions only).
        """
        self.extensions.register(url, value_types)

    def validate_resource(self, resource: object, text: bytes | None = None) -> list[Finding]:
        """All structural findings for one parsed FHIR JSON resource; [] means valid R4.

        ``text`` is the JSON the resource was parsed from, when known: a property name repeated
        in one object of it is then a finding too (parsing keeps only the last value).
        """
        ctx = Context(self.extensions)
        try:
            _resource(resource, "", ctx)
        except RecursionError:
            ctx.add(ruleset.JSON, "", "the record is nested too deeply to be FHIR")
            return ctx.findings
        if text is not None and _may_repeat(text, ctx.properties):
            name = repeated_property(text)
            if name is not None:
                where = _resource_type(resource)
                ctx.add(
                    ruleset.JSON,
                    where,
                    f"the property {name!r} appears twice in one object; JSON keeps only the "
                    "last value, so the other would be lost",
                )
        return ctx.findings

    def validate_json(self, data: bytes | str) -> list[Finding]:
        """Parse one JSON document and validate it; unparseable input is a ``fhir.json`` finding."""
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM) :]
        try:
            resource = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            if raw.lstrip()[:1] == b"<":
                message = "this looks like XML; the loader accepts FHIR JSON only"
            else:
                message = f"not valid JSON: {error}"
            return [Finding(ruleset.JSON.id, "", message)]
        if type(resource) is not dict:
            return [
                Finding(ruleset.JSON.id, "", f"expected a JSON object, found {describe(resource)}")
            ]
        return self.validate_resource(resource, raw)


_WHITE_TO_SPACE = bytes.maketrans(b"\t\r\n", b"   ")


def _may_repeat(text: bytes, walked: int) -> bool:
    """Whether the text may hold more property names than the walk met (cheap; exact test after).

    In compact JSON every property name, and nothing else, ends in ``":`` (an escaped quote
    before a colon inside a string only raises the count), so a count equal to the names walked
    means no name is repeated. A name written with white space before its colon is not counted,
    so text with any goes to the exact test. Two passes over the bytes, both in C.
    """
    return text.count(b'":') != walked or b" :" in text.translate(_WHITE_TO_SPACE)


def repeated_property(text: bytes) -> str | None:
    """The first property name that appears twice in one object of a JSON text, if any."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in items]
        if not repeated and len(set(names)) != len(names):
            repeated.append(next(n for i, n in enumerate(names) if n in names[:i]))
        return dict(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None
    return repeated[0] if repeated else None


def _resource_type(resource: object) -> str:
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return kind if isinstance(kind, str) else ""


_DEFAULT = FhirValidator()


def validate_resource(resource: object) -> list[Finding]:
    """All structural findings for one parsed FHIR JSON resource; [] means valid R4."""
    return _DEFAULT.validate_resource(resource)


def validate_json(data: bytes | str) -> list[Finding]:
    """Parse and validate one FHIR JSON document (bytes or text)."""
    return _DEFAULT.validate_json(data)


def register_extension(url: str, value_types: Iterable[str]) -> None:
    """Make an extension (e.g. UK Core) known to the default validator."""
    _DEFAULT.register_extension(url, value_types)


def known_resource_types() -> frozenset[str]:
    """The R4 resource types a record may have."""
    return _RESOURCES
