"""Onboarding records (SATRE 1.5.02, 1.6.04, 3.2.02): how a person's identity was checked, the
training they completed per course and until when it holds, and the terms of use they accepted.

A data custodian records identity checks and training (a person cannot vouch for themselves);
a person accepts the terms of use themselves, and the acceptance is of the exact text (its
SHA-256), so changed terms need accepting again. Each record is an ``account`` ledger entry;
the checks that use them are in :mod:`.people`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.accounts import BOOTSTRAP_ACTOR
from fivesafes.governance.control import ControlPlane
from fivesafes.governance.operating_tables import IdentityCheck, TermsAcceptance, TrainingRecord
from fivesafes.governance.people import Terms
from fivesafes.governance.roles import Action
from fivesafes.governance.tables import Account


@dataclass(frozen=True)
class TrainingView:
    course: str
    completed_on: date
    expires_on: date


def _account(session: Session, person_id: str) -> Account:
    account = session.get(Account, person_id)
    if account is None:
        raise ValueError(f"no account {person_id}")
    return account


def record_identity_check(
    cp: ControlPlane, credential: str, person_id: str, method: str, checked_on: date
) -> None:
    """Record how ``person_id``'s identity was verified (e.g. "photo ID seen in person")."""
    if not method.strip():
        raise ValueError("say how the identity was checked")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        _account(session, person_id)
        if person_id == me.person_id:
            raise cp.refuse(me, Action.MANAGE_ACCOUNTS, "nobody records their own identity check")
        if checked_on > cp.today():
            raise ValueError("an identity check cannot be dated in the future")
        row = session.get(IdentityCheck, person_id)
        if row is None:
            session.add(
                IdentityCheck(
                    person_id=person_id,
                    method=method.strip(),
                    checked_by=me.person_id,
                    checked_on=checked_on,
                )
            )
        else:
            row.method, row.checked_by, row.checked_on = method.strip(), me.person_id, checked_on
        subject = {"person_id": person_id, "change": "identity_checked", "method": method.strip()}
        cp.log("account", subject, me.person_id)


def record_training(
    cp: ControlPlane,
    credential: str,
    person_id: str,
    course: str,
    completed_on: date,
    expires_on: date,
) -> None:
    """Record a completed course and when it must be repeated."""
    if not course.strip():
        raise ValueError("name the course")
    if expires_on <= completed_on:
        raise ValueError("training must expire after it was completed")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        _account(session, person_id)
        if completed_on > cp.today():
            raise ValueError("training cannot be dated in the future")
        session.add(
            TrainingRecord(
                person_id=person_id,
                course=course.strip(),
                completed_on=completed_on,
                expires_on=expires_on,
                recorded_by=me.person_id,
                recorded_at=cp.now(),
            )
        )
        subject = {
            "person_id": person_id,
            "change": "training_recorded",
            "course": course.strip(),
            "until": expires_on.isoformat(),
        }
        cp.log("account", subject, me.person_id)


def training_of(
    cp: ControlPlane, credential: str, person_id: str | None = None
) -> list[TrainingView]:
    """One's own training records, or (custodian) anyone's."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        target = person_id or me.person_id
        if target != me.person_id and not me.may(Action.MANAGE_ACCOUNTS):
            raise cp.refuse(me, Action.SIGN_IN, f"{me.person_id} may not see {target}'s training")
        rows = session.scalars(
            select(TrainingRecord)
            .where(TrainingRecord.person_id == target)
            .order_by(TrainingRecord.course, TrainingRecord.completed_on)
        )
        return [TrainingView(r.course, r.completed_on, r.expires_on) for r in rows]


def accept_terms(cp: ControlPlane, credential: str, terms: Terms) -> None:
    """The caller accepts this version of the terms of use."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        row = session.get(TermsAcceptance, (me.person_id, terms.version))
        if row is None:
            session.add(
                TermsAcceptance(
                    person_id=me.person_id,
                    version=terms.version,
                    terms_sha256=terms.sha256,
                    accepted_at=cp.now(),
                )
            )
        else:
            row.terms_sha256, row.accepted_at = terms.sha256, cp.now()
        subject = {
            "person_id": me.person_id,
            "change": "terms_accepted",
            "terms_version": terms.version,
            "terms_sha256": terms.sha256,
        }
        cp.log("account", subject, me.person_id)


def record_first_custodian(
    cp: ControlPlane,
    person_id: str,
    method: str,
    courses: dict[str, tuple[date, date]],
) -> None:
    """The first custodian's identity check and training, recorded by whoever stands the
    environment up (actor ``bootstrap``): nobody else exists yet to record them, and nobody
    records their own. Refused for any other account, or once recorded."""
    with cp.transaction() as session:
        account = _account(session, person_id)
        if (
            account.created_by != BOOTSTRAP_ACTOR
            or session.get(IdentityCheck, person_id) is not None
        ):
            raise ValueError(f"{person_id} is not a first custodian awaiting their records")
        session.add(
            IdentityCheck(
                person_id=person_id,
                method=method,
                checked_by=BOOTSTRAP_ACTOR,
                checked_on=cp.today(),
            )
        )
        cp.log(
            "account",
            {"person_id": person_id, "change": "identity_checked", "method": method},
            BOOTSTRAP_ACTOR,
        )
        for course, (completed, expires) in sorted(courses.items()):
            session.add(
                TrainingRecord(
                    person_id=person_id,
                    course=course,
                    completed_on=completed,
                    expires_on=expires,
                    recorded_by=BOOTSTRAP_ACTOR,
                    recorded_at=cp.now(),
                )
            )
            subject = {
                "person_id": person_id,
                "change": "training_recorded",
                "course": course,
                "until": expires.isoformat(),
            }
            cp.log("account", subject, BOOTSTRAP_ACTOR)
