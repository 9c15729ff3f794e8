"""The catalogue as the caller's role allows: exact for a data custodian, rounded and
suppressed for anyone else (and without a token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fivesafes.api.deps import EnvironmentDep, credential
from fivesafes.api.management import models
from fivesafes.environment.catalogue import catalogue_of, codes_of

router = APIRouter(tags=["catalogue"])
MaybeCaller = Annotated[str | None, Depends(credential)]


@router.get("/catalogue", summary="Every dataset held: columns, counts, coverage, loads")
def catalogue(env: EnvironmentDep, caller: MaybeCaller) -> models.Catalogue:
    found = catalogue_of(env, caller)
    return models.Catalogue.model_validate(found)


@router.get("/catalogue/codes", summary="Which codes occur in each coded column, and how often")
def codes(
    env: EnvironmentDep,
    caller: MaybeCaller,
    column: Annotated[
        str | None, Query(max_length=128, description="A table, or table.column")
    ] = None,
    search: Annotated[
        str | None, Query(max_length=128, description="In the code or its term")
    ] = None,
) -> models.CodeUsage:
    found = codes_of(env, caller, column, search)
    return models.CodeUsage.model_validate(found)
