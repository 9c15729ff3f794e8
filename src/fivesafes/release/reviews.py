"""Two independent output checkers vote on each request, blind to each other until a verdict.

A vote is a signed statement (the reviewer's own Ed25519 key, registered with governance) naming
the exact request it judges by the hash of its files, reports and justification. While votes are
sealed the ledger holds only a commitment to each — the SHA-256 of its statement, which carries a
random nonce — so nobody, not even another reviewer reading the public log, can learn a verdict
early. Agreement decides; a disagreement waits for a third checker, whose vote decides, and who
must judge as blind as the first two did: so votes are revealed (statement and signature, which
anyone can check against the commitment made before) only once the request is decided, never
while a vote is still to be cast. Reviewers are never the requester nor a member of the project
(SATRE: separation of duties), and each is a release delegate of every dataset the request's
job read, given by the datasets' owners (SATRE 3.1.06, :mod:`fivesafes.governance.delegates`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fivesafes.governance import Principal, list_projects
from fivesafes.governance.delegates import check_egress
from fivesafes.governance.projects import signing_key_named
from fivesafes.governance.signing import (
    DecisionSigner,
    Pinning,
    SignedElsewhere,
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


def _members(office: ReleaseOffice) -> dict[str, tuple[str, ...]]:
    """Every project's members, read before a vote's transaction opens."""
    return {p.project_id: p.members for p in list_projects(office.cp)}


def _votable(
    office: ReleaseOffice,
    session: Session,
    credential: str,
    release_id: str,
    projects: dict[str, tuple[str, ...]],
) -> tuple[Principal, ReleaseRequestRow, list[ReleaseVoteRow]]:
    """The caller, allowed to vote on the request now (an output checker off its project, a
    release delegate of every dataset its job read, who has not voted on it), the request, and
    the votes cast so far.

    The request is held, not only read, until the caller's transaction ends: a write that
    changes nothing, before its state and votes are read, so a vote racing another waits for it
    to commit and then sees its vote and the state it left. ``with_for_update`` would hold it on
    PostgreSQL only: on SQLite a read takes no lock until the transaction's first write, so a
    vote that read the request open counted after the votes that had decided it."""
    cp = office.cp
    me = office.output_checker(session, credential)
    session.execute(
        update(ReleaseRequestRow)
        .where(ReleaseRequestRow.release_id == release_id)
        .values(state=ReleaseRequestRow.state)
        .execution_options(synchronize_session=False)
    )
    request = session.get(ReleaseRequestRow, release_id, populate_existing=True)
    if request is None:
        raise ReleaseError(f"no release request {release_id}")
    members = projects.get(request.project_id, ())
    if me.person_id == request.requester or me.person_id in members:
        raise cp.refuse(
            me, REVIEW_ACTION, f"conflict: {me.person_id} is on project {request.project_id}"
        )
    if State(request.state) not in OPEN_FOR_VOTES:
        raise ReleaseError(f"{release_id} is {request.state}; it takes no more votes")
    check_egress(cp, session, me, REVIEW_ACTION, office.job_of(request.study))
    votes = list(
        session.scalars(
            select(ReleaseVoteRow)
            .where(ReleaseVoteRow.release_id == release_id)
            .order_by(ReleaseVoteRow.round)
        )
    )
    if any(v.person_id == me.person_id for v in votes):
        raise ReleaseError(f"{me.person_id} has already voted on {release_id}")
    return me, request, votes


def _statement(
    office: ReleaseOffice,
    request: ReleaseRequestRow,
    verdict: Verdict,
    comments: str,
    me: Principal,
    key: PersonKey,
    pinning: Pinning | None,
) -> dict[str, Any]:
    """What the checker signs: the exact request (the hash of its files, reports and
    justification), the verdict and its comments' hash, who, with which key, a nonce and when
    (fixed beforehand, with an expiry, when it was prepared to be signed elsewhere)."""
    statement: dict[str, Any] = {
        "release_id": request.release_id,
        "request_sha256": request.request_sha256,
        "decision": verdict.value,
        "comments_sha256": sha256_hex(comments),
        "person_id": me.person_id,
        "key_id": key.key_id,
        "nonce": pinning.nonce if pinning else secrets.token_hex(16),
        "voted_at": (pinning.at if pinning else office.cp.now()).isoformat(),
    }
    return {**statement, **pinning.fields()} if pinning else statement


def _check_comments(comments: str) -> None:
    if not comments.strip():
        raise ReleaseError("a vote needs comments: what was checked, and any concerns")


def vote_statement(
    office: ReleaseOffice,
    credential: str,
    release_id: str,
    verdict: Verdict,
    comments: str,
    key_id: str | None,
    pinning: Pinning,
) -> dict[str, Any]:
    """The exact statement :func:`review_release` would record for this vote, pinned, for the
    checker to sign on their own machine; every check of a vote is made now, and nothing is
    recorded (but a refusal)."""
    _check_comments(comments)
    projects = _members(office)
    with office.cp.transaction() as session:
        me, request, _ = _votable(office, session, credential, release_id, projects)
        key = signing_key_named(session, me.person_id, key_id)
        return _statement(office, request, verdict, comments, me, key, pinning)


def review_release(
    office: ReleaseOffice,
    credential: str,
    release_id: str,
    verdict: Verdict,
    comments: str,
    signing_key: DecisionSigner | SignedElsewhere,
) -> State:
    """Cast one signed vote; returns the request's state afterwards. ``signing_key`` is the
    checker's key, or the signature they made elsewhere of a statement :func:`vote_statement`
    prepared (which must be exactly what this builds afresh)."""
    _check_comments(comments)
    cp, projects = office.cp, _members(office)
    with cp.transaction() as session:
        me, request, votes = _votable(office, session, credential, release_id, projects)
        if isinstance(signing_key, SignedElsewhere):
            key = signing_key_named(session, me.person_id, signing_key.key_id)
            statement = _statement(office, request, verdict, comments, me, key, signing_key.pinning)
            problem = signing_key.problem(statement, cp.now())
            if problem:
                raise cp.refuse(me, REVIEW_ACTION, problem)
            signature = signing_key.signature
        else:
            key = _registered_key(session, me.person_id, signing_key)
            statement = _statement(office, request, verdict, comments, me, key, None)
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
