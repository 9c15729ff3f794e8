"""Rendering what the environment returns as FHIR: resources with their ``meta``, Bundles with
absolute links from the configured public base URL, ETags and Last-Modified."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from fivesafes.api.searching import SearchRequest
from fivesafes.store.resources import Stored

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
ALWAYS = frozenset({"resourceType", "id", "meta"})


def instant(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def resource(found: Stored, elements: Sequence[str] = ()) -> dict[str, Any]:
    """The resource as served: its stored content with ``meta.versionId``/``lastUpdated``."""
    body = dict(found.resource)
    meta = dict(body.get("meta") or {})
    meta["versionId"] = str(found.version)
    meta["lastUpdated"] = instant(found.last_updated)
    if elements:
        body = {k: v for k, v in body.items() if k in ALWAYS or k in elements}
        meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    body["meta"] = meta
    return body


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_etag(header: str | None) -> int | None:
    """The version in an ``If-Match``/``If-None-Match`` header (``W/"3"``, ``"3"`` or ``3``)."""
    if header is None:
        return None
    text = header.strip()
    text = text[2:] if text.startswith("W/") else text
    text = text.strip('"')
    return int(text) if text.isdigit() else -1


def headers_for(found: Stored) -> dict[str, str]:
    moment = found.last_updated
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return {"ETag": etag(found.version), "Last-Modified": format_datetime(aware, usegmt=True)}


def _link(base: str, rtype: str, request: SearchRequest, offset: int) -> str:
    pairs = [*request.kept, ("_count", str(request.query.count))]
    if offset:
        pairs.append(("_offset", str(offset)))
    return f"{base}/{rtype}?{urlencode(pairs)}"


def outcome_entry(warnings: Sequence[str]) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "warning", "code": "not-supported", "diagnostics": w} for w in warnings
            ],
        },
        "search": {"mode": "outcome"},
    }


def searchset(
    fhir_base: str,
    request: SearchRequest,
    total: int,
    matches: Sequence[Stored],
    included: Sequence[Stored] = (),
) -> dict[str, Any]:
    """A searchset Bundle: ``total``, absolute self/next/previous links, entries, warnings."""
    rtype, query = request.query.rtype, request.query
    links = [{"relation": "self", "url": _link(fhir_base, rtype, request, query.offset)}]
    if not request.summary_count and query.count:
        if query.offset + query.count < total:
            links.append(
                {
                    "relation": "next",
                    "url": _link(fhir_base, rtype, request, query.offset + query.count),
                }
            )
        if query.offset > 0:
            previous = max(query.offset - query.count, 0)
            links.append(
                {"relation": "previous", "url": _link(fhir_base, rtype, request, previous)}
            )
    entries = [
        {
            "fullUrl": f"{fhir_base}/{m.resource_type}/{m.id}",
            "resource": resource(m, request.elements),
            "search": {"mode": mode},
        }
        for group, mode in ((matches, "match"), (included, "include"))
        for m in group
    ]
    if request.warnings:
        entries.append(outcome_entry(request.warnings))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return bundle


def collection(fhir_base: str, kind: str, items: Sequence[Stored], self_url: str) -> dict[str, Any]:
    """A history or ``$everything`` Bundle."""
    entries = []
    for item in items:
        entry: dict[str, Any] = {"fullUrl": f"{fhir_base}/{item.resource_type}/{item.id}"}
        if kind == "history":
            entry["request"] = {
                "method": "DELETE" if item.deleted else ("POST" if item.version == 1 else "PUT"),
                "url": f"{item.resource_type}/{item.id}",
            }
            entry["response"] = {
                "status": "204" if item.deleted else "200",
                "etag": etag(item.version),
            }
        if not item.deleted:
            entry["resource"] = resource(item)
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "total": len(items),
        "link": [{"relation": "self", "url": self_url}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle
