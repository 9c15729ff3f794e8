"""Contained resources and the local (``#id``) references that point at them.

Why: a contained resource has no identity outside its container, so R4 requires that it is
referenced from the container (dom-3), does not nest (dom-2), carries no version or security
metadata of its own (dom-4, dom-5), and that every ``#id`` reference finds it (ref-1).

dom-3 is judged as HL7's reference validator judges it. Its FHIRPath in R4 looks for
``'#' + id`` among every ``reference``, ``canonical``, ``uri`` and ``url`` in the container;
the reference validator does not run that expression (its code calls it slow and wrong) and
decides in code instead, which is what the verdicts in HL7's test cases record:

- a local reference is ``#id`` in a Reference, in any URI-typed element (``canonical``, ``uri``,
  ``url``, ``oid``, ``uuid``: a Questionnaire's ``answerValueSet: "#options-1"``), or in the
  narrative (``<a href="#id">``, ``<img src="#id">``);
- a contained resource is referenced when the container outside its contained resources refers
  to it, when it refers to the container itself (``#``), or when another contained resource that
  is referenced refers to it. A chain that never reaches the container does not count, and
  neither does a resource referring to itself.

References and canonicals must find their target (``ref-1``, and the reference validator's "no
matching target" for a canonical); a URI or a narrative link that matches no contained resource
may name something else in the resource, so it is not an error.
"""

from __future__ import annotations

import re
from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.context import Context, LocalRef

URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})
"""Primitive types whose ``#id`` values are local references (the reference validator's list)."""

_NARRATIVE_LINK = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']#([^"']+)["']""")


def note_local_reference(reference: dict[str, Any], path: str, ctx: Context) -> None:
    """Reference hook: remember ``#id`` references for the container's checks."""
    target = reference.get("reference")
    if type(target) is str and target[:1] == "#":
        ctx.local_refs.append(LocalRef(path + ".reference", target[1:], True))


def note_uri_reference(value: str, path: str, type_name: str, ctx: Context) -> None:
    """A URI-typed value ``#id``: canonicals must resolve, other URIs only count for dom-3."""
    ctx.local_refs.append(LocalRef(path, value[1:], type_name == "canonical"))


def note_narrative_links(narrative: dict[str, Any], path: str, ctx: Context) -> None:
    """Narrative hook: ``<a href="#id">`` and ``<img src="#id">`` count as references (dom-3)."""
    div = narrative.get("div")
    if type(div) is str and "#" in div:
        for match in _NARRATIVE_LINK.finditer(div):
            ctx.local_refs.append(LocalRef(path + ".div", match.group(1), False))


def _contained_ids(resource: dict[str, Any], path: str, ctx: Context) -> dict[str, int]:
    """Index of each contained resource by id, with dom-2/4/5 and id checks on each."""
    ids: dict[str, int] = {}
    contained = resource.get("contained")
    if type(contained) is not list:
        return ids
    for index, inner in enumerate(contained):
        if type(inner) is not dict:
            continue
        inner_path = f"{path}.contained[{index}]"
        inner_id = inner.get("id")
        if type(inner_id) is not str:
            ctx.add(ruleset.CONTAINED, inner_path, "a contained resource needs an id")
            continue
        if inner_id in ids:
            ctx.add(ruleset.CONTAINED, inner_path, f"contained id {inner_id!r} is used twice")
        else:
            ids[inner_id] = index
        if "contained" in inner:
            ctx.add(
                ruleset.CONTAINED, inner_path, "dom-2 failed: contained resources must not nest"
            )
        meta = inner.get("meta")
        if type(meta) is dict:
            if "versionId" in meta or "lastUpdated" in meta:
                ctx.add(
                    ruleset.CONTAINED,
                    inner_path,
                    "dom-4 failed: a contained resource has no meta.versionId or meta.lastUpdated",
                )
            if "security" in meta:
                ctx.add(
                    ruleset.CONTAINED,
                    inner_path,
                    "dom-5 failed: contained resources carry no meta.security; label the container",
                )
    return ids


def _owner(ref_path: str, prefix: str) -> int | None:
    """Which contained resource (by index) a reference sits in; None for the container itself."""
    if not ref_path.startswith(prefix):
        return None
    end = ref_path.index("]", len(prefix))
    return int(ref_path[len(prefix) : end])


def _referenced(ids: dict[str, int], refs: list[LocalRef], prefix: str) -> set[int]:
    """Contained resources the container reaches: directly, by a "#" back, or along a chain."""
    from_base: set[str] = set()
    targets_of: dict[int, set[str]] = {}
    for ref in refs:
        owner = _owner(ref.path, prefix)
        if owner is None:
            from_base.add(ref.target)
        else:
            targets_of.setdefault(owner, set()).add(ref.target)
    reached = {
        index
        for inner_id, index in ids.items()
        if inner_id in from_base or "" in targets_of.get(index, ())
    }
    frontier = list(reached)
    while frontier:
        owner = frontier.pop()
        for target in targets_of.get(owner, ()):
            index = ids.get(target)
            if index is not None and index not in reached:
                reached.add(index)
                frontier.append(index)
    return reached


def check_contained(resource: dict[str, Any], path: str, ctx: Context) -> None:
    """dom-2..5 and ref-1 for one container, using the local references seen inside it."""
    ids = _contained_ids(resource, path, ctx)
    for ref in ctx.local_refs:
        if ref.must_resolve and ref.target and ref.target not in ids:
            ctx.add(
                ruleset.CONTAINED,
                ref.path,
                f"ref-1 failed: local reference '#{ref.target}' matches no contained resource",
            )
    reached = _referenced(ids, ctx.local_refs, f"{path}.contained[")
    for inner_id, index in ids.items():
        if index not in reached:
            ctx.add(
                ruleset.CONTAINED,
                f"{path}.contained[{index}]",
                f"dom-3 failed: contained resource {inner_id!r} is not referenced from the "
                "resource and does not refer to it",
            )


HOOKS = {"Reference": note_local_reference, "Narrative": note_narrative_links}
