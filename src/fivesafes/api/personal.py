"""``/personal/``: a person's own record, details, choices and shared data, in the manner of
NHS England's Personal Demographics Service (JSON Patch with ``If-Match``; ``X-Request-ID``
mandatory on changes, echoed, and applied once; ``X-Correlation-ID`` echoed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from fivesafes.api import bundles
from fivesafes.api.consent import consent
from fivesafes.api.deps import CredentialDep, RecordsDep
from fivesafes.api.errors import FhirResponse
from fivesafes.api.openapi import FHIR_RESPONSES
from fivesafes.environment import personal
from fivesafes.environment.records import Invalid
from fivesafes.governance.choices import Choice

router = APIRouter(
    prefix="/personal",
    tags=["personal"],
    responses=FHIR_RESPONSES,
    default_response_class=FhirResponse,
)
NhsNumber = Annotated[str, Path(pattern=r"^[0-9]{10}$", description="Your own NHS number")]
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
RequestId = Annotated[str | None, Header(alias="X-Request-ID", description="A UUID, echoed back")]
ChangeId = Annotated[
    str,
    Header(
        alias="X-Request-ID",
        pattern=UUID_PATTERN,
        description="A UUID, mandatory for a change; a retry with the same one is applied once",
    ),
]
CorrelationId = Annotated[str | None, Header(alias="X-Correlation-ID")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='W/"<versionId>"')]


def _echo(request_id: str | None, correlation_id: str | None) -> dict[str, str]:
    echoed = {}
    if request_id:
        echoed["X-Request-ID"] = request_id
    if correlation_id:
        echoed["X-Correlation-ID"] = correlation_id
    return echoed


@router.get("/Patient/{nhs_number}", summary="Read your own record")
def read_own(
    nhs_number: NhsNumber,
    records: RecordsDep,
    token: CredentialDep,
    request_id: RequestId = None,
    correlation_id: CorrelationId = None,
) -> Response:
    found = personal.own_record(records, token, nhs_number)
    headers = {**bundles.headers_for(found), **_echo(request_id, correlation_id)}
    return FhirResponse(bundles.resource(found), headers=headers)


@router.patch(
    "/Patient/{nhs_number}",
    summary="Change your own details (JSON Patch)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json-patch+json": {
                    "schema": {"type": "array", "items": {"type": "object"}}
                },
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "array", "items": {"type": "object"}},
                            {"type": "object", "properties": {"patches": {"type": "array"}}},
                        ]
                    }
                },
            },
        }
    },
)
async def change_own(
    request: Request,
    nhs_number: NhsNumber,
    records: RecordsDep,
    token: CredentialDep,
    request_id: ChangeId,
    if_match: IfMatch = None,
    correlation_id: CorrelationId = None,
) -> Response:
    """Change your address, telecom, contact preferences, language and interpreter need, or
    emergency contacts; anything else is refused with ``INVALID_UPDATE`` naming the path."""
    try:
        body = await request.json()
    except ValueError:
        raise Invalid("the body is not JSON", code="INVALID_UPDATE") from None
    applied = await run_in_threadpool(
        personal.change_own,
        records,
        token,
        nhs_number,
        body,
        if_match=bundles.parse_etag(if_match),
        request_id=request_id,
    )
    headers = {"ETag": bundles.etag(applied.version), **_echo(request_id, correlation_id)}
    resource = dict(applied.resource)
    resource["meta"] = {**(resource.get("meta") or {}), "versionId": str(applied.version)}
    return FhirResponse(resource, headers=headers)


class ConsentChoice(BaseModel):
    """The part of a Consent that says whether a choice is made (``active``) or not."""

    model_config = ConfigDict(extra="allow")
    resourceType: Literal["Consent"]
    status: Literal["active", "inactive"]


@router.get("/Consent", summary="Your opt-outs and consents")
def my_choices(records: RecordsDep, token: CredentialDep) -> Response:
    states = personal.choices(records, token, None)
    entries = [{"resource": consent(s)} for s in states]
    return FhirResponse(
        {"resourceType": "Bundle", "type": "collection", "total": len(entries), "entry": entries}
    )


@router.put("/Consent/{choice}", summary="Make or withdraw one choice")
def set_choice(
    choice: Choice,
    records: RecordsDep,
    token: CredentialDep,
    body: Annotated[ConsentChoice, Body()],
    request_id: ChangeId,
    correlation_id: CorrelationId = None,
) -> Response:
    """``status`` ``active`` makes the choice (an opt-out held, consent given), ``inactive``
    withdraws it; it holds from the very next extraction and the very next clinician read."""
    state = personal.set_choice(records, token, None, choice, body.status == "active")
    return FhirResponse(consent(state), headers=_echo(request_id, correlation_id))


def _shared_answer(shared: personal.Shared) -> dict[str, Any]:
    issues = [
        {
            "severity": "error",
            "code": "invalid",
            "diagnostics": f"record {n}: {issue.code}: {issue.message}",
            **({"expression": [issue.path]} if issue.path else {}),
        }
        for n, issue in shared.rejected
    ]
    issues.insert(
        0,
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"kept {len(shared.kept)}, rejected {len(shared.rejected)}",
        },
    )
    return {
        "resourceType": "OperationOutcome",
        "issue": issues,
        "extension": [
            {"url": "https://fivesafes.org/fhir/StructureDefinition/kept", "valueString": rid}
            for rid in shared.kept
        ],
    }


@router.post("/Observation", summary="Share one Observation you collected")
def share_one(
    records: RecordsDep,
    token: CredentialDep,
    body: Annotated[dict[str, Any], Body()],
    device: Annotated[str, Query(max_length=100)] = "unspecified device",
) -> Response:
    shared = personal.share(records, token, None, [body], device=device)
    status = 201 if shared.kept else 400
    return FhirResponse(_shared_answer(shared), status_code=status)


@router.post("/$upload", summary="Share many records you collected (a Bundle)")
def upload(
    records: RecordsDep,
    token: CredentialDep,
    body: Annotated[dict[str, Any], Body()],
    device: Annotated[str, Query(max_length=100)] = "unspecified device",
) -> Response:
    """A Bundle of Observations (sleep, steps, heart rate): each checked like a load; the good
    ones are kept and the answer lists the rejected ones with rule and path."""
    if body.get("resourceType") != "Bundle" or not isinstance(body.get("entry"), list):
        raise Invalid("send a Bundle whose entries hold the resources", code="INVALID_VALUE")
    resources = [e.get("resource") if isinstance(e, dict) else None for e in body["entry"]]
    shared = personal.share(records, token, None, resources, device=device)
    return FhirResponse(_shared_answer(shared), status_code=200)


@router.delete("/Observation/{observation_id}", summary="Delete data you shared", status_code=204)
def delete_one(
    observation_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")],
    records: RecordsDep,
    token: CredentialDep,
) -> Response:
    personal.delete_shared(records, token, None, observation_id)
    return Response(status_code=204)


USAGE_SCHEMA = {
    "type": "object",
    "required": ["reads"],
    "properties": {"reads": {"type": "array", "items": {"type": "object"}}},
}


@router.get(
    "/usage",
    summary="How your data is used: who read your record, and why",
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {"schema": USAGE_SCHEMA}}}},
)
def usage(records: RecordsDep, token: CredentialDep) -> Response:
    found = personal.usage(records, token, None)
    reads = [
        {
            "time": r.time,
            "reader": r.reader,
            "resource_types": list(r.resource_types),
            "relationship": r.relationship,
            **({"reason": r.reason} if r.reason else {}),
            "ledger_index": r.index,
        }
        for r in found.reads
    ]
    return JSONResponse({"reads": reads})
