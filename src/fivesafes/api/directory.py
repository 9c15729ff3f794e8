"""``/directory/``: organisations' own entries — public to read and search, written only by the
organisation's own administrators."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request
from fastapi.responses import Response

from fivesafes.api import bundles
from fivesafes.api.deps import ConfigDep, CredentialDep, RecordsDep
from fivesafes.api.errors import FhirResponse
from fivesafes.api.openapi import FHIR_RESPONSES
from fivesafes.api.searching import parse
from fivesafes.environment import directory
from fivesafes.governance.scopes import DIRECTORY_TYPES

DirectoryType = StrEnum("DirectoryType", {t: t for t in DIRECTORY_TYPES})  # type: ignore[misc]
router = APIRouter(
    prefix="/directory",
    tags=["directory"],
    responses=FHIR_RESPONSES,
    default_response_class=FhirResponse,
)
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")]


@router.get("/{resource_type}", summary="Search the directory (no token needed)")
def search(
    request: Request, resource_type: DirectoryType, records: RecordsDep, config: ConfigDep
) -> Response:
    rtype = str(resource_type.value)
    wanted = parse(rtype, list(request.query_params.multi_items()), strict=False)
    total, found = directory.search(records, wanted.query)
    base = config.base_url.rstrip("/") + "/directory"
    return FhirResponse(bundles.searchset(base, wanted, total, found))


@router.get("/{resource_type}/{resource_id}", summary="Read a directory entry (no token needed)")
def read(resource_type: DirectoryType, resource_id: Id, records: RecordsDep) -> Response:
    found = directory.read(records, str(resource_type.value), resource_id)
    return FhirResponse(bundles.resource(found), headers=bundles.headers_for(found))


def _written(result: directory.Written) -> Response:
    resource = dict(result.resource)
    resource["meta"] = {**(resource.get("meta") or {}), "versionId": str(result.version)}
    return FhirResponse(
        resource,
        status_code=201 if result.created else 200,
        headers={"ETag": bundles.etag(result.version)},
    )


@router.post("/{resource_type}", summary="Create an entry for your organisation", status_code=201)
def create(
    resource_type: DirectoryType,
    records: RecordsDep,
    token: CredentialDep,
    body: Annotated[dict[str, Any], Body()],
) -> Response:
    if body.get("resourceType") != resource_type.value:
        body = {**body, "resourceType": str(resource_type.value)}
    return _written(directory.write(records, token, body))


@router.put("/{resource_type}/{resource_id}", summary="Update an entry of your organisation")
def update(
    resource_type: DirectoryType,
    resource_id: Id,
    records: RecordsDep,
    token: CredentialDep,
    body: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> Response:
    if body.get("resourceType") != resource_type.value:
        body = {**body, "resourceType": str(resource_type.value)}
    return _written(
        directory.write(
            records, token, body, rid=resource_id, if_match=bundles.parse_etag(if_match)
        )
    )
