"""Contained resources and the local (``#id``) references that point at them.

Why: a contained resource has no identity outside its container, so R4 requires that it is
referenced from the container (dom-3), does not nest (dom-2), carries no version or security
metadata of its own (dom-4, dom-5), and that every ``#id`` reference finds it (ref-1).
"""

from __future__ import annotations

from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.context import Context


def note_local_reference(reference: dict[str, Any], path: str, ctx: Context) -> None:
    """Reference hook: remember ``#id`` references for the container's checks."""
    target = reference.get("reference")
    if type(target) is str and target[:1] == "#":
        ctx.local_refs.append((path + ".reference", target[1:]))


def _contained_ids(resource: dict[str, Any], path: str, ctx: Context) -> dict[str, str]:
    """Ids of the contained resources (by path), with dom-2/4/5 and id checks on each."""
    ids: dict[str, str] = {}
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
        ids[inner_id] = inner_path
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


def check_contained(resource: dict[str, Any], path: str, ctx: Context) -> None:
    """dom-2..5 and ref-1 for one container, using the local references seen inside it."""
    ids = _contained_ids(resource, path, ctx)
    referenced = set()
    for ref_path, target in ctx.local_refs:
        referenced.add(target)
        if target and target not in ids:
            ctx.add(
                ruleset.CONTAINED,
                ref_path,
                f"ref-1 failed: local reference '#{target}' matches no contained resource",
            )
    for inner_id, inner_path in ids.items():
        if inner_id in referenced:
            continue
        refers_back = any(p.startswith(inner_path + ".") and not t for p, t in ctx.local_refs)
        if not refers_back:
            ctx.add(
                ruleset.CONTAINED,
                inner_path,
                f"dom-3 failed: contained resource {inner_id!r} is not referenced from the "
                "resource and does not refer to it",
            )


HOOKS = {"Reference": note_local_reference}
