"""Two independent output checkers vote on each request, blind to each other until a verdict.

A vote is a signed statement (the reviewer's own Ed25519 key, registered with governance) naming
the exact request it judges by the hash of its files, reports and justification. While votes are
sealed the ledger holds only a commitment to each — the SHA-256 of its statement, which carries a
random nonce — so nobody, not even another reviewer reading the public log, can learn a verdict
early. Agreement decides; a disagreement waits for a third checker, whose vote decides, and who
must judge as blind as the first two did: so votes are revealed (statement and signature, which
anyone can check against the commitment made before) only once the request is decided, never
while a vote is still to be cast. Reviewers are never the requester nor a member of the project
(SATRE: separation of duties).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance import list_projects
from fivesafes.governance.signing import (
    DecisionSigner,
    canonical,
    public_key_bytes,
    sha256_hex,
    sign_statement,
    signature_valid,
)
from fivesafes.governance.tables import PersonKey
from fivesafes.release.model import OPEN_FOR_VOTES, ReleaseError, State, Verdict
from fivesafes.release.office import REVIEW_ACTION, ReleaseOffice
from fivesafes.release.tables import ReleaseRequestRow, ReleaseVoteRow

VOTES_NEEDED = 2


def _registered_key(session: Session, person_id: str, signer: DecisionSigner) -> PersonKey:
    raw = public_key_bytes(signer.public_key())
    key = session.scalar(
        select(PersonKey).where(
            PersonKey.person_id == person_id,
            PersonKey.public_key == raw,
            PersonKey.revoked_at.is_(None),
        )
    )
    if key is None:
        raise ReleaseError(f"sign with a key {person_id} has registered (fivesafes user keygen)")
    return key


def outcome_of(verdicts: Sequence[Verdict]) -> State:
    """The state votes lead to: agreement decides, a split waits for a third vote, which decides.

    Two non-approvals reject only if both reject; otherwise the request goes back for changes.
    """
    if len(verdicts) < VOTES_NEEDED:
        return State.UNDER_REVIEW
    first, second = verdicts[0], verdicts[1]
    if first is second is Verdict.APPROVE:
        return State.APPROVED
    if Verdict.APPROVE not in (first, second):
        return State.REJECTED if first is second is Verdict.REJECT else State.RETURNED
    if len(verdicts) == VOTES_NEEDED:
        return State.AWAITING_THIRD
    third = verdicts[2]
    return {
        Verdict.APPROVE: State.APPROVED,
        Verdict.RETURN: State.RETURNED,
        Verdict.REJECT: State.REJECTED,
    }[third]


def commitment(statement: str) -> str:
    """What the ledger holds while a vote is sealed: the SHA-256 of its canonical statement."""
    return hashlib.sha256(statement.encode("utf-8")).hexdigest()


def review_release(
    office: ReleaseOffice,
    credential: str,
    release_id: str,
    verdict: Verdict,
    comments: str,
    signing_key: DecisionSigner,
) -> State:
    """Cast one signed vote; returns the request's state afterwards."""
    if not comments.strip():
        raise ReleaseError("a vote needs comments: what was checked, and any concerns")
    cp = office.cp
    projects = {p.project_id: p for p in list_projects(cp)}
    with cp.transaction() as session:
        me = office.output_checker(session, credential)
        request = session.get(ReleaseRequestRow, release_id, with_for_update=True)
        if request is None:
            raise ReleaseError(f"no release request {release_id}")
        members = projects[request.project_id].members if request.project_id in projects else ()
        if me.person_id == request.requester or me.person_id in members:
            raise cp.refuse(
                me, REVIEW_ACTION, f"conflict: {me.person_id} is on project {request.project_id}"
            )
        if State(request.state) not in OPEN_FOR_VOTES:
            raise ReleaseError(f"{release_id} is {request.state}; it takes no more votes")
        votes = list(
            session.scalars(
                select(ReleaseVoteRow)
                .where(ReleaseVoteRow.release_id == release_id)
                .order_by(ReleaseVoteRow.round)
            )
        )
        if any(v.person_id == me.person_id for v in votes):
            raise ReleaseError(f"{me.person_id} has already voted on {release_id}")
        key = _registered_key(session, me.person_id, signing_key)
        statement = {
            "release_id": release_id,
            "request_sha256": request.request_sha256,
            "decision": verdict.value,
            "comments_sha256": sha256_hex(comments),
            "person_id": me.person_id,
            "key_id": key.key_id,
            "nonce": secrets.token_hex(16),
            "voted_at": cp.now().isoformat(),
        }
        signature = sign_statement(signing_key, statement)
        if not signature_valid(key.public_key, statement, signature):
            raise cp.refuse(me, REVIEW_ACTION, "the signature does not verify")
        text = canonical(statement).decode()
        vote = ReleaseVoteRow(
            release_id=release_id,
            person_id=me.person_id,
            round=len(votes) + 1,
            verdict=verdict.value,
            comments=comments,
            key_id=key.key_id,
            statement=text,
            signature=signature,
            voted_at=cp.now(),
            revealed=0,
        )
        session.add(vote)
        votes.append(vote)
        session.flush()
        sealed = {"release_id": release_id, "round": vote.round, "vote_sha256": commitment(text)}
        cp.log("review", sealed, me.person_id)
        state = outcome_of([Verdict(v.verdict) for v in votes])
        if len(votes) >= VOTES_NEEDED:
            if state not in OPEN_FOR_VOTES:  # decided: nobody is left to vote blind
                for row in votes:
                    _reveal(office, row)
            cp.log("review", {"release_id": release_id, "decision": state.value}, "release")
        request.state = state.value
        request.updated_at = cp.now()
        return state


def _reveal(office: ReleaseOffice, row: ReleaseVoteRow) -> None:
    """Open a sealed vote in the ledger: its statement and signature, checkable by anyone."""
    row.revealed = 1
    subject = {
        **orjson.loads(row.statement),
        "round": row.round,
        "signature": row.signature,
        "vote_sha256": commitment(row.statement),
    }
    office.cp.log("review", subject, row.person_id)
