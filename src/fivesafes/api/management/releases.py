"""Release requests: ask for outputs of a job to be released (or keep a draft), submit a draft,
see requests as the caller may (others' votes sealed), and publish an approved one."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query

from fivesafes.api.deps import CallerDep, EnvironmentDep
from fivesafes.api.management import models
from fivesafes.environment import releases
from fivesafes.ledger import Receipt
from fivesafes.release import State

router = APIRouter(tags=["releases"])
ReleaseId = Annotated[str, Path(pattern=models.NAME, description="The release request's id")]


def receipt(given: Receipt) -> models.Receipt:
    """A ledger receipt as the API shows it: the entry as JSON, hashes in hex."""
    proof = given.proof
    return models.Receipt(
        index=given.index,
        entry=orjson.loads(given.entry),
        proof=None
        if proof is None
        else models.InclusionProof(
            index=proof.index,
            tree_size=proof.tree_size,
            leaf_hash=proof.leaf_hash.hex(),
            path=[p.hex() for p in proof.path],
        ),
        checkpoint=given.checkpoint,
    )


@router.post("/releases", status_code=201, summary="Ask for outputs of a job to be released")
def request(
    given: models.ReleaseRequest, env: EnvironmentDep, caller: CallerDep
) -> models.Requested:
    made = releases.request(
        env,
        caller,
        given.project_id,
        given.job_id,
        given.files,
        given.justification,
        given.exceptions,
        draft=given.draft,
    )
    return models.Requested(
        release_id=made.release_id,
        receipt=None if made.receipt is None else receipt(made.receipt),
    )


@router.get("/releases", summary="The release requests the caller may see, oldest first")
def listing(
    env: EnvironmentDep,
    caller: CallerDep,
    project_id: Annotated[str | None, Query(pattern=models.NAME)] = None,
    state: State | None = None,
) -> list[models.Release]:
    found = releases.listing(env, caller, project_id, state)
    return [models.Release.model_validate(r) for r in found]


@router.get("/releases/{release_id}", summary="One release request as the caller may see it")
def show(release_id: ReleaseId, env: EnvironmentDep, caller: CallerDep) -> models.Release:
    return models.Release.model_validate(releases.show(env, caller, release_id))


@router.post(
    "/releases/{release_id}/submission", summary="Submit a draft for review (its requester)"
)
def submit(
    release_id: ReleaseId, given: models.DraftSubmission, env: EnvironmentDep, caller: CallerDep
) -> models.Receipt:
    return receipt(releases.submit_draft(env, caller, release_id, given.exceptions))


@router.post(
    "/releases/{release_id}/vote-statements",
    status_code=201,
    summary="Prepare an output checker's vote for them to sign with their own key (a checker)",
    description="The exact statement the environment will record, with its canonical bytes to "
    "sign where the key is kept: the key is never sent. Every check of a vote is made now (an "
    "output checker, off the project, who has not voted on the request); the statement pins "
    "the request's hash, the verdict, the comments' hash, the checker, their key, a nonce and "
    "an expiry.",
)
def prepare_vote(
    release_id: ReleaseId,
    given: models.VoteStatementRequest,
    env: EnvironmentDep,
    caller: CallerDep,
) -> models.PreparedStatement:
    made = releases.vote_statement(
        env, caller, release_id, given.verdict, given.comments, given.key_id
    )
    return models.PreparedStatement.of(made)


@router.post(
    "/releases/{release_id}/votes",
    status_code=201,
    summary="Cast a prepared vote with the checker's signature (the same checker)",
    description="Cast only if the statement is exactly what the environment prepared and would "
    "record now, has not expired, and the signature verifies against the checker's registered "
    "key; the vote stays sealed until the request is decided.",
)
def cast_vote(
    release_id: ReleaseId, given: models.SignedVote, env: EnvironmentDep, caller: CallerDep
) -> models.VoteCast:
    state = releases.signed_vote(
        env, caller, release_id, given.statement, given.comments, given.signature, given.seal
    )
    return models.VoteCast(release_id=release_id, state=state)


@router.post(
    "/releases/{release_id}/publication",
    summary="Publish an approved request to the project's released outputs, signed and logged",
)
def publish(release_id: ReleaseId, env: EnvironmentDep, caller: CallerDep) -> models.Publication:
    done = releases.publish(env, caller, release_id)
    return models.Publication(
        release_id=done.release_id,
        files=done.files,
        receipt=receipt(done.receipt),
        already=done.already,
    )
