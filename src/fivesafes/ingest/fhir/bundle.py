"""Bundle and Parameters consistency: entries, links, fullUrls and internal references.

Why: a Bundle is a unit whose type decides what its entries must carry (bdl-1..12), and a
document, a message or a Parameters resource is self-contained by definition, so a
reference inside it that resolves to nothing is a broken record. The entries themselves
have already been validated as resources by the time these checks run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.context import Context
from fivesafes.ingest.fhir.primitives import is_absolute_uri

Json = dict[str, Any]
_RESTFUL = re.compile(
    r"(?P<base>https?://.+/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
)
_RELATIVE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")
_SELF_CONTAINED = frozenset({"document", "message"})
_REQUEST_TYPES = frozenset({"batch", "transaction", "history"})
_RESPONSE_TYPES = frozenset({"batch-response", "transaction-response", "history"})


def references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every (path, Reference.reference) inside a resource, contained ones included."""
    if type(value) is dict:
        target = value.get("reference")
        if type(target) is str:
            yield path + ".reference", target
        for key, inner in value.items():
            if type(inner) in (dict, list):
                yield from references(inner, f"{path}.{key}")
    elif type(value) is list:
        for index, inner in enumerate(value):
            yield from references(inner, f"{path}[{index}]")


def _rest_key(resource: Json) -> str | None:
    kind, ident = resource.get("resourceType"), resource.get("id")
    if type(kind) is str and type(ident) is str:
        return f"{kind}/{ident}"
    return None


def _entries(bundle: Json) -> Iterator[tuple[int, Json, Json | None]]:
    entries = bundle.get("entry")
    if type(entries) is not list:
        return
    for index, entry in enumerate(entries):
        if type(entry) is dict:
            resource = entry.get("resource")
            yield index, entry, resource if type(resource) is dict else None


def _check_links(bundle: Json, ctx: Context) -> None:
    links = bundle.get("link")
    if type(links) is not list:
        return
    seen: set[str] = set()
    for index, link in enumerate(links):
        relation = link.get("relation") if type(link) is dict else None
        if type(relation) is not str:
            continue
        if relation in seen:
            ctx.add(
                ruleset.BUNDLE,
                f"Bundle.link[{index}]",
                f"the link relation {relation!r} may occur only once",
            )
        seen.add(relation)


def _check_entry(kind: str, index: int, entry: Json, resource: Json | None, ctx: Context) -> None:
    path = f"Bundle.entry[{index}]"
    full_url = entry.get("fullUrl")
    if type(full_url) is str:
        if not is_absolute_uri(full_url):
            ctx.add(ruleset.BUNDLE, path + ".fullUrl", f"{full_url!r} must be an absolute URL")
        elif resource is not None and (match := _RESTFUL.fullmatch(full_url.split("/_history")[0])):
            rest = _rest_key(resource)
            if rest is not None and rest != f"{match['type']}/{match['id']}":
                ctx.add(
                    ruleset.BUNDLE,
                    path + ".fullUrl",
                    f"{full_url!r} is a RESTful URL, so it must end with the resource's type "
                    f"and id ({rest})",
                )
    if resource is None and not ("request" in entry or "response" in entry):
        ctx.add(
            ruleset.BUNDLE, path, "bdl-5 failed: an entry needs a resource, request or response"
        )
    if "search" in entry and kind != "searchset":
        ctx.add(ruleset.BUNDLE, path, "bdl-2 failed: entry.search is only for searchset bundles")
    if ("request" in entry) != (kind in _REQUEST_TYPES):
        need = "needs" if kind in _REQUEST_TYPES else "must not have"
        ctx.add(ruleset.BUNDLE, path, f"bdl-3 failed: an entry of a {kind} bundle {need} request")
    if ("response" in entry) != (kind in _RESPONSE_TYPES):
        need = "needs" if kind in _RESPONSE_TYPES else "must not have"
        ctx.add(ruleset.BUNDLE, path, f"bdl-4 failed: an entry of a {kind} bundle {need} response")
    search = entry.get("search")
    mode = search.get("mode") if type(search) is dict else None
    if resource is not None and mode == "outcome":
        if resource.get("resourceType") != "OperationOutcome":
            ctx.add(
                ruleset.BUNDLE,
                path + ".resource",
                "a search entry with mode 'outcome' must be an OperationOutcome",
            )
    elif resource is not None and mode == "match" and "id" not in resource:
        ctx.add(ruleset.BUNDLE, path + ".resource", "search results (mode 'match') must have ids")


def _check_document(bundle: Json, kind: str, first: Json | None, ctx: Context) -> None:
    if kind == "document":
        identifier = bundle.get("identifier")
        if type(identifier) is not dict or "system" not in identifier or "value" not in identifier:
            ctx.add(
                ruleset.BUNDLE,
                "Bundle",
                "bdl-9 failed: a document needs an identifier with a system and a value",
            )
        if "timestamp" not in bundle:
            ctx.add(ruleset.BUNDLE, "Bundle", "bdl-10 failed: a document needs a timestamp")
        if first is None or first.get("resourceType") != "Composition":
            ctx.add(ruleset.BUNDLE, "Bundle", "bdl-11 failed: a document starts with a Composition")
    elif kind == "message" and (first is None or first.get("resourceType") != "MessageHeader"):
        ctx.add(ruleset.BUNDLE, "Bundle", "bdl-12 failed: a message starts with a MessageHeader")


def _resolves(target: str, base: str | None, full_urls: set[str], rest_keys: set[str]) -> bool:
    """Whether a reference finds an entry, by fullUrl or (relative) by type/id."""
    target = target.split("#")[0]
    if not target or target in full_urls:
        return True
    if is_absolute_uri(target):
        # Only urn: identifiers must be in the bundle; http(s) ones may live on a server.
        return not target.startswith("urn:")
    if _RELATIVE.fullmatch(target) is None:
        return True
    plain = target.split("/_history")[0]
    return (base is not None and base + plain in full_urls) or plain in rest_keys


def check_bundle(bundle: Json, path: str, ctx: Context) -> None:
    """Bundle hook: links, entries, document/message shape and internal references."""
    kind = bundle.get("type")
    if type(kind) is not str:
        return
    _check_links(bundle, ctx)
    if "total" in bundle and kind not in ("searchset", "history"):
        ctx.add(
            ruleset.BUNDLE,
            "Bundle.total",
            "bdl-1 failed: total is only for search results and history",
        )
    full_urls: dict[str, int] = {}
    rest_keys: set[str] = set()
    first: Json | None = None
    for index, entry, resource in _entries(bundle):
        _check_entry(kind, index, entry, resource, ctx)
        if index == 0:
            first = resource
        full_url = entry.get("fullUrl")
        if type(full_url) is str:
            version = (resource or {}).get("meta", {})
            key = f"{full_url}|{version.get('versionId') if type(version) is dict else None}"
            if key in full_urls and kind != "history":
                ctx.add(
                    ruleset.BUNDLE,
                    f"Bundle.entry[{index}].fullUrl",
                    f"bdl-7 failed: {full_url!r} is also the fullUrl of entry {full_urls[key]}",
                )
            full_urls.setdefault(key, index)
        if resource is not None and (rest := _rest_key(resource)):
            rest_keys.add(rest)
    _check_document(bundle, kind, first, ctx)
    if kind in _SELF_CONTAINED:
        urls = {key.rsplit("|", 1)[0] for key in full_urls}
        for index, entry, resource in _entries(bundle):
            if resource is None:
                continue
            full_url = entry.get("fullUrl")
            match = _RESTFUL.fullmatch(full_url) if type(full_url) is str else None
            base = match["base"] if match else None
            for ref_path, target in references(resource, f"Bundle.entry[{index}].resource"):
                if not _resolves(target, base, urls, rest_keys):
                    ctx.add(
                        ruleset.REFERENCE,
                        ref_path,
                        f"{target!r} does not resolve to an entry of this {kind} bundle",
                    )


def check_parameters(parameters: Json, path: str, ctx: Context) -> None:
    """Parameters hook: relative references between its resources must resolve."""
    found: list[tuple[str, Json]] = []
    entries = parameters.get("parameter")
    if type(entries) is not list:
        return
    for index, parameter in enumerate(entries):
        resource = parameter.get("resource") if type(parameter) is dict else None
        if type(resource) is dict:
            found.append((f"{path}.parameter[{index}].resource", resource))
    rest_keys = {key for _, resource in found if (key := _rest_key(resource))}
    for resource_path, resource in found:
        for ref_path, target in references(resource, resource_path):
            if not _resolves(target, None, set(), rest_keys):
                ctx.add(
                    ruleset.REFERENCE,
                    ref_path,
                    f"{target!r} does not resolve to a resource in these Parameters",
                )


HOOKS = {"Bundle": check_bundle, "Parameters": check_parameters}
