"""Releases as use cases: check, request, review and publish the outputs of a job.

A release names a job held in the environment and files among its outputs, never files in a
folder of the analyst's own (there are none: :mod:`.jobs` keeps every output inside). The
release stage does the rest: only ``moderately_sensitive`` outputs a completed store job wrote,
checked automatically against the release history; two independent output checkers, voting
blind until a verdict; publication, signed and logged (the disclosure checks and the history
are the disclosure stage's; publishing's atomicity is the release stage's own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivesafes.environment import job_records, prepared
from fivesafes.environment.job_records import STUDY
from fivesafes.environment.prepared import Prepared
from fivesafes.environment.refusals import Refused, refusing
from fivesafes.governance import Action
from fivesafes.governance.signing import DecisionSigner
from fivesafes.ledger import Receipt
from fivesafes.release import (
    FileCheck,
    Publication,
    ReleaseOffice,
    ReleaseView,
    State,
    Verdict,
    check_request_files,
    draft_release,
    list_releases,
    publish_release,
    request_release,
    review_release,
    show_release,
    submit_release,
)
from fivesafes.release.model import OPEN_FOR_VOTES
from fivesafes.release.reviews import vote_statement as release_vote_statement

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


@dataclass(frozen=True)
class Requested:
    """A release request made: its id, and the requester's ledger receipt (None for a draft)."""

    release_id: str
    receipt: Receipt | None


def _office(env: Environment) -> ReleaseOffice:
    return ReleaseOffice(env.cp, env.data_dir, profile=env.settings.disclosure_profile)


def _job_study(env: Environment, project_id: str, job_id: str) -> Path:
    """The job's study as the environment holds it, if the job is the project's."""
    record = job_records.get(env, job_id)
    if record is None or record.project_id != project_id:
        raise Refused(f"no job {job_id} of project {project_id}")
    return env.jobs_root / job_id / STUDY


def check(
    env: Environment,
    credential: str,
    project_id: str,
    job_id: str,
    files: Sequence[str],
    exceptions: Mapping[str, str] | None = None,
) -> list[FileCheck]:
    """The dry run an analyst sees before asking: would these outputs of the job be accepted,
    and what do the automatic disclosure checks say (a member of the approved project only)?"""
    with refusing(env.cp, "check_release"):
        office = _office(env)
        office.requester(credential, project_id)
        study = _job_study(env, project_id, job_id)
        return check_request_files(office, project_id, study, files, exceptions)


def request(
    env: Environment,
    credential: str,
    project_id: str,
    job_id: str,
    files: Sequence[str],
    justification: str,
    exceptions: Mapping[str, str] | None = None,
    draft: bool = False,
) -> Requested:
    """Ask for outputs of a job to be released (or keep the request as a draft)."""
    with refusing(env.cp, "request_release"):
        office = _office(env)
        study = _job_study(env, project_id, job_id)
        if draft:
            made = draft_release(
                office, credential, project_id, study, files, justification, exceptions
            )
            return Requested(made, None)
        release_id, receipt = request_release(
            office, credential, project_id, study, files, justification, exceptions
        )
        return Requested(release_id, receipt)


def submit_draft(
    env: Environment,
    credential: str,
    release_id: str,
    exceptions: Mapping[str, str] | None = None,
) -> Receipt:
    """Submit a draft for review (its requester only)."""
    with refusing(env.cp, "submit_release"):
        return submit_release(_office(env), credential, release_id, exceptions)


def review(
    env: Environment,
    credential: str,
    release_id: str,
    verdict: Verdict,
    comments: str,
    signer: DecisionSigner,
) -> State:
    """An output checker's signed vote, sealed until a verdict is reached; the request's state."""
    with refusing(env.cp, "review_release"):
        return review_release(_office(env), credential, release_id, verdict, comments, signer)


def vote_statement(
    env: Environment,
    credential: str,
    release_id: str,
    verdict: Verdict,
    comments: str,
    key_id: str | None = None,
) -> Prepared:
    """The statement an output checker's vote would record, prepared for them to sign on their
    own machine (with the key named, or their only one); every check of a vote is made."""
    with refusing(env.cp, "review_release"):
        key, pinned = prepared.pinning(env)
        office = _office(env)
        statement = release_vote_statement(
            office, credential, release_id, verdict, comments, key_id, pinned
        )
        return prepared.prepared(key, prepared.VOTE, statement, pinned)


def signed_vote(
    env: Environment,
    credential: str,
    release_id: str,
    statement: Mapping[str, Any],
    comments: str,
    signature: str,
    seal: str,
) -> State:
    """Cast a vote :func:`vote_statement` prepared and the checker signed: only if the
    statement is still exactly what voting now would record, unexpired, and signed with the
    checker's own registered key; sealed until a verdict, like any vote."""
    with refusing(env.cp, "review_release"):
        signed = prepared.signed_elsewhere(
            env, prepared.VOTE, statement, "voted_at", signature, seal
        )
        verdict = prepared.choice_of(statement, "decision", Verdict)
        return review_release(_office(env), credential, release_id, verdict, comments, signed)


def publish(env: Environment, credential: str, release_id: str) -> Publication:
    """Publish an approved request to the project's released outputs, signed and logged."""
    with refusing(env.cp, "publish_release"):
        return publish_release(_office(env), credential, release_id)


def show(env: Environment, credential: str, release_id: str) -> ReleaseView:
    """One request as the caller may see it (votes of others sealed until a verdict)."""
    with refusing(env.cp, "show_release"):
        return show_release(_office(env), credential, release_id)


def listing(
    env: Environment,
    credential: str,
    project_id: str | None = None,
    state: State | None = None,
) -> list[ReleaseView]:
    """The requests the caller may see, oldest first."""
    with refusing(env.cp, "list_releases"):
        return list_releases(_office(env), credential, project_id, state)


def review_queue(env: Environment, credential: str) -> list[ReleaseView]:
    """The requests open for an output checker's vote, oldest first (output checkers only)."""
    with refusing(env.cp, "review_queue"):
        with env.cp.transaction() as session:
            env.cp.authenticate(session, credential, Action.REVIEW_OUTPUT)
        seen = list_releases(_office(env), credential)
        return [r for r in seen if r.state in OPEN_FOR_VOTES]
