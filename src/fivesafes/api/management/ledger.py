"""The public ledger's reads: its checkpoints, its entries, an entry's inclusion proof and the
consistency proof between two sizes. Public, as the log itself is: no token is asked for."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query

from fivesafes.api.deps import EnvironmentDep
from fivesafes.api.management import models
from fivesafes.api.management.releases import receipt
from fivesafes.environment import public_ledger

router = APIRouter(prefix="/ledger", tags=["ledger"])
PAGE = 1000
"""The most entries one request answers."""


@router.get("/checkpoints", summary="Every signed checkpoint, smallest first")
def checkpoints(env: EnvironmentDep) -> list[models.Checkpoint]:
    return [models.Checkpoint.model_validate(c) for c in public_ledger.checkpoints(env)]


@router.get("/entries", summary="Entries, in index order (at most 1000 a request)")
def entries(
    env: EnvironmentDep,
    start: Annotated[int, Query(ge=0)] = 0,
    count: Annotated[int, Query(ge=1, le=PAGE)] = 100,
) -> list[dict[str, Any]]:
    return [orjson.loads(e) for e in public_ledger.entries(env, start, start + count)]


@router.get(
    "/entries/{index}",
    summary="One entry with its inclusion proof and the signed checkpoint it leads to",
)
def entry(index: Annotated[int, Path(ge=0)], env: EnvironmentDep) -> models.Receipt:
    return receipt(public_ledger.prove(env, index))


@router.get(
    "/consistency",
    summary="Proof that the log at old_size is a prefix of the log at new_size (default: now)",
)
def consistency(
    env: EnvironmentDep,
    old_size: Annotated[int, Query(ge=1)],
    new_size: Annotated[int | None, Query(ge=1)] = None,
) -> models.Consistency:
    proof = public_ledger.consistency(env, old_size, new_size)
    return models.Consistency(
        old_size=proof.old_size,
        new_size=proof.new_size,
        old_root=proof.old_root.hex(),
        new_root=proof.new_root.hex(),
        path=[p.hex() for p in proof.path],
    )
