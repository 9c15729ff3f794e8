"""Small, total accessors for reading elements out of parsed FHIR JSON.

Flattening runs after structural validation, but it must still never raise on
odd input (a resource the validator has not seen, a fuzzed file): every
accessor here returns None rather than failing, and the caller decides what a
missing element means.
"""

from __future__ import annotations

from typing import Any

REFERENCE_SEPARATOR = "/"


def first(value: Any) -> Any:
    """The first item of a FHIR array, or the value itself when it is not an array."""
    if type(value) is list:
        return value[0] if value else None
    return value


def get(obj: Any, *path: str) -> Any:
    """Follow ``path`` through nested objects, taking the first item of any array on the way."""
    for key in path:
        if type(obj) is list:
            obj = obj[0] if obj else None
        if type(obj) is not dict:
            return None
        obj = obj.get(key)
    return obj


def text(obj: Any, *path: str) -> str | None:
    """A string element at ``path``, or None when absent or not a string."""
    value = first(get(obj, *path))
    return value if type(value) is str else None


def coding(obj: Any, *path: str) -> tuple[str | None, str | None]:
    """(system, code) of the first coding of the CodeableConcept at ``path``."""
    concept = first(get(obj, *path))
    if type(concept) is not dict:
        return None, None
    c = first(concept.get("coding"))
    if type(c) is not dict:
        return None, None
    system, code = c.get("system"), c.get("code")
    return (system if type(system) is str else None), (code if type(code) is str else None)


def all_codings(obj: Any, *path: str) -> list[tuple[str | None, str | None]]:
    """(system, code) of the first coding of every CodeableConcept in the array at ``path``."""
    concepts = get(obj, *path) if len(path) > 1 else (obj or {}).get(path[0])
    if not isinstance(concepts, list):
        concepts = [concepts] if concepts is not None else []
    found = []
    for concept in concepts:
        c = first(concept.get("coding")) if isinstance(concept, dict) else None
        if isinstance(c, dict):
            system, code = c.get("system"), c.get("code")
            found.append(
                (
                    system if isinstance(system, str) else None,
                    code if isinstance(code, str) else None,
                )
            )
    return found


def reference(obj: Any, *path: str) -> str | None:
    """The literal reference string (``Type/id``) at ``path``, or None."""
    ref = first(get(obj, *path))
    if type(ref) is dict:
        value = ref.get("reference")
        return value if type(value) is str else None
    return None


def split_reference(ref: str) -> tuple[str, str] | None:
    """("Type", "id") of a relative literal reference, None for any other form."""
    parts = ref.split(REFERENCE_SEPARATOR)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]
