"""Code lists: search the codes in the data, make a list, add and remove codes (each change a
new version), publish a version, and download a published one as OpenCodelists' CSV.

Each route calls one use case of :mod:`fivesafes.environment.codelists` with the caller's
bearer token: who may search, build and publish, and which counts a search may show, is decided
there, as for ``fivesafes codelist``. The search is ``/codes``, apart from ``/codelists/{slug}``,
so that no slug can stand for it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from fivesafes.api.deps import CallerDep, EnvironmentDep
from fivesafes.api.management import models
from fivesafes.environment import codelists

router = APIRouter(tags=["code lists"])
Slug = Annotated[str, Path(pattern=models.SLUG, description="The code list's slug")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version's number")]
CSV = "text/csv"


@router.get(
    "/codes",
    summary="Codes in the data by code or term, with rounded counts (an analyst on a project)",
    description="Codes held by fewer people than the disclosure profile's threshold are not "
    "listed, whatever the term: only counted, per column, in left_out.",
)
def search(
    env: EnvironmentDep,
    caller: CallerDep,
    term: Annotated[str, Query(min_length=1, max_length=128, description="In code or term")],
    system: Annotated[str | None, Query(max_length=32, description="A code system")] = None,
) -> models.CodeSearch:
    return models.CodeSearch.model_validate(codelists.search(env, caller, term, system))


@router.get("/codelists", summary="Every code list with its versions (an analyst on a project)")
def listing(env: EnvironmentDep, caller: CallerDep) -> list[models.Codelist]:
    return [models.Codelist.model_validate(c) for c in codelists.listing(env, caller)]


@router.post("/codelists", status_code=201, summary="A new, empty code list, owned by the caller")
def new(given: models.NewCodelist, env: EnvironmentDep, caller: CallerDep) -> models.Codelist:
    made = codelists.new(env, caller, given.name, given.system, given.slug)
    return models.Codelist.model_validate(made)


@router.get("/codelists/{slug}", summary="A code list and every version of it")
def show(slug: Slug, env: EnvironmentDep, caller: CallerDep) -> models.Codelist:
    return models.Codelist.model_validate(codelists.show(env, caller, slug))


@router.post(
    "/codelists/{slug}/additions",
    status_code=201,
    summary="A new version with these codes added (the list's owner)",
)
def add(
    slug: Slug, given: models.CodesToAdd, env: EnvironmentDep, caller: CallerDep
) -> models.CodelistVersion:
    return models.CodelistVersion.model_validate(codelists.add(env, caller, slug, given.codes))


@router.post(
    "/codelists/{slug}/removals",
    status_code=201,
    summary="A new version without these codes (the list's owner)",
)
def remove(
    slug: Slug, given: models.CodesToRemove, env: EnvironmentDep, caller: CallerDep
) -> models.CodelistVersion:
    return models.CodelistVersion.model_validate(codelists.remove(env, caller, slug, given.codes))


@router.post(
    "/codelists/{slug}/versions/{version}/publication",
    summary="Publish a version for studies to use, in the ledger (the list's owner)",
    description="Publishing a version again changes nothing and writes nothing.",
)
def publish(
    slug: Slug, version: Version, env: EnvironmentDep, caller: CallerDep
) -> models.CodelistVersion:
    done = codelists.publish(env, caller, f"{slug}/{version}")
    return models.CodelistVersion.model_validate(done)


@router.get(
    "/codelists/{slug}/versions/{version}/csv",
    summary="A published version as OpenCodelists' CSV (code,term), for a study's folder",
    response_class=Response,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "CSV"}},
)
def download(slug: Slug, version: Version, env: EnvironmentDep, caller: CallerDep) -> Response:
    text = codelists.export_csv(env, caller, f"{slug}/{version}")
    named = {"Content-Disposition": f'attachment; filename="{slug}-{version}.csv"'}
    return Response(text, media_type=CSV, headers=named)
