"""``/fhir/``: the FHIR R4 read API for direct care — read, vread, history, search,
``$everything``, people's choices as Consent, and the CapabilityStatement. Every answer is
``application/fhir+json``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from fivesafes.api import bundles
from fivesafes.api.capability import capability_statement
from fivesafes.api.consent import consent, parse_id
from fivesafes.api.deps import ConfigDep, CredentialDep, RecordsDep
from fivesafes.api.errors import FHIR_JSON, FhirResponse
from fivesafes.api.openapi import FHIR_RESPONSES
from fivesafes.api.searching import parse
from fivesafes.environment import care
from fivesafes.environment.records import NotFound
from fivesafes.store.resources import PARAMS

ResourceType = StrEnum("ResourceType", {t: t for t in sorted(PARAMS)})  # type: ignore[misc]
"""The resource types this server holds (the path parameter's allowed values)."""

router = APIRouter(
    prefix="/fhir", tags=["FHIR"], responses=FHIR_RESPONSES, default_response_class=FhirResponse
)
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$", description="The resource's id")]
Reason = Annotated[
    str | None,
    Header(
        alias="X-Break-Glass-Reason",
        description="Why a clinician reads a record outside their care: logged for review",
    ),
]
Prefer = Annotated[str | None, Header(description="handling=strict makes unknown parameters 400")]


def _fhir(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return FhirResponse(body, headers=headers)


@router.get("/metadata", summary="CapabilityStatement")
def metadata(config: ConfigDep) -> Response:
    """What this server supports, exactly (FHIR R4 CapabilityStatement)."""
    return _fhir(capability_statement(config.base_url, config.fhir_base, config.name))


PatientParam = Annotated[
    str | None,
    Query(
        pattern=r"^(Patient/)?[A-Za-z0-9\-\.]{1,64}$",
        description="One person's choices: Patient/{id} or {id}",
    ),
]


def _consents(fhir_base: str, found: list[care.Choices]) -> list[dict[str, Any]]:
    return [
        {
            "fullUrl": f"{fhir_base}/Consent/{body['id']}",
            "resource": body,
            "search": {"mode": "match"},
        }
        for person in found
        for body in (consent(state, person.patient) for state in person.states)
    ]


@router.get("/Consent", summary="Search Consent (people's opt-outs and consents to share)")
def search_consent(
    request: Request,
    records: RecordsDep,
    config: ConfigDep,
    token: CredentialDep,
    patient: PatientParam = None,
    reason: Reason = None,
) -> Response:
    """The choices of the people in the caller's care (a person: their own), each of the four
    (national opt-out, type-1 objection, sharing for care, for research) as a Consent whose
    ``status`` says whether it is made; without ``patient``, everyone in care who has made or
    withdrawn one."""
    pid = patient.rsplit("/", 1)[-1] if patient else None
    entries = _consents(config.fhir_base, care.choices(records, token, pid, reason=reason))
    query = f"?patient={pid}" if pid else ""
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": f"{config.fhir_base}/Consent{query}"}],
            "entry": entries,
        }
    )


@router.get("/Consent/{consent_id}", summary="Read a Consent")
def read_consent(
    consent_id: Id, records: RecordsDep, token: CredentialDep, reason: Reason = None
) -> Response:
    """One person's one choice, by the id a Consent search gives (``{patient}-{choice}``)."""
    parsed = parse_id(consent_id)
    if parsed is None:
        raise NotFound(f"Consent/{consent_id} is not known")
    pid, choice = parsed
    (person,) = care.choices(records, token, pid, reason=reason)
    state = next(s for s in person.states if s.choice is choice)
    return _fhir(consent(state, pid))


@router.get("/{resource_type}", summary="Search")
def search(
    request: Request,
    resource_type: ResourceType,
    records: RecordsDep,
    config: ConfigDep,
    token: CredentialDep,
    reason: Reason = None,
    prefer: Prefer = None,
) -> Response:
    """Search one resource type: a searchset Bundle with ``total`` and paging links."""
    rtype = str(resource_type.value)
    strict = bool(prefer and "handling=strict" in prefer.replace(" ", ""))
    wanted = parse(rtype, list(request.query_params.multi_items()), strict)
    found = care.search(
        records,
        token,
        wanted.query,
        include=wanted.include,
        revinclude=wanted.revinclude,
        reason=reason,
    )
    return _fhir(
        bundles.searchset(config.fhir_base, wanted, found.total, found.found, found.included)
    )


@router.get("/Patient/{patient_id}/$everything", summary="Patient $everything")
def everything(
    patient_id: Id,
    records: RecordsDep,
    config: ConfigDep,
    token: CredentialDep,
    reason: Reason = None,
) -> Response:
    """The Patient and every resource about them that the caller may see."""
    found = care.everything(records, token, patient_id, reason=reason)
    url = f"{config.fhir_base}/Patient/{patient_id}/$everything"
    return _fhir(bundles.collection(config.fhir_base, "searchset", found.found, url))


@router.get("/{resource_type}/{resource_id}", summary="Read")
def read(
    resource_type: ResourceType,
    resource_id: Id,
    records: RecordsDep,
    token: CredentialDep,
    reason: Reason = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The current version, with ``ETag`` (its versionId) and ``Last-Modified``."""
    found = care.read(records, token, str(resource_type.value), resource_id, reason=reason).found[0]
    headers = bundles.headers_for(found)
    if bundles.parse_etag(if_none_match) == found.version:
        return Response(status_code=304, headers=headers)
    return _fhir(bundles.resource(found), headers)


@router.get("/{resource_type}/{resource_id}/_history", summary="History of a resource")
def history(
    resource_type: ResourceType,
    resource_id: Id,
    records: RecordsDep,
    config: ConfigDep,
    token: CredentialDep,
    reason: Reason = None,
) -> Response:
    """Every version, newest first, as a history Bundle."""
    rtype = str(resource_type.value)
    found = care.read(records, token, rtype, resource_id, history=True, reason=reason)
    url = f"{config.fhir_base}/{rtype}/{resource_id}/_history"
    return _fhir(bundles.collection(config.fhir_base, "history", found.found, url))


@router.get("/{resource_type}/{resource_id}/_history/{version}", summary="Read a version (vread)")
def vread(
    resource_type: ResourceType,
    resource_id: Id,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    records: RecordsDep,
    token: CredentialDep,
    reason: Reason = None,
) -> Response:
    """One earlier (or the current) version of a resource."""
    rtype = str(resource_type.value)
    found = care.read(records, token, rtype, resource_id, version=version, reason=reason).found[0]
    return _fhir(bundles.resource(found), bundles.headers_for(found))


__all__ = ["FHIR_JSON", "router"]
