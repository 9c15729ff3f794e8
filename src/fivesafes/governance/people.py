"""Safe people over their lifetime: identity checked, accredited, trained, terms accepted, and
signed in with a second factor — each checked at every use, in :meth:`ControlPlane.authenticate`.

An :class:`AccessPolicy` says what an account must hold, beyond an unexpired account and a
role, before it may act. The environment opens its control plane with :meth:`AccessPolicy.
standard` unless its settings relax a part of it on purpose (which ``fivesafes doctor`` reports
as a failure): SATRE 1.5.01 (accredited before reaching sensitive data), 1.5.02 (onboarding:
terms of use and role training), 1.6.03/1.6.04 (training records tied to roles, repeated when
they lapse), 3.2.02 (identity verified) and 3.2.04 (multi-factor authentication for every
user). A lapse suspends access at once, because the check runs on every action, and every
refusal is a ``login`` entry in the ledger naming the reason.

Signing in itself (:attr:`Action.SIGN_IN`: setting up one's second factor, and using it) only
needs the account to be usable: the person must be able to sign in to see why they may do
nothing else. So does looking after one's own tokens and keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.operating_tables import (
    IdentityCheck,
    SignIn,
    Suspension,
    TermsAcceptance,
    TrainingRecord,
)
from fivesafes.governance.roles import PERMISSIONS, Action, Role
from fivesafes.governance.tables import Account

DATA_ROLES = frozenset({Role.ANALYST, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN, Role.CLINICIAN})
"""Roles that reach data (patient-level, or outputs before they are safe): accreditation first."""

STANDARD_TRAINING: Mapping[Role, tuple[str, ...]] = {
    Role.ANALYST: ("data-protection", "safe-researcher"),
    Role.OUTPUT_CHECKER: ("data-protection", "output-checking"),
    Role.DATA_CUSTODIAN: ("data-protection", "data-custodian"),
    Role.APPROVER: ("data-protection",),
    Role.CLINICIAN: ("data-protection",),
    Role.ORG_ADMIN: ("data-protection",),
    Role.PATIENT: (),
}
"""The courses each role needs, current (SATRE 1.6.01 asks the organisation to decide this: an
environment's settings may name its own; these are the defaults)."""

SELF_SERVICE = frozenset({Action.SIGN_IN, Action.ISSUE_OWN_TOKEN, Action.REGISTER_OWN_KEY})
"""Actions on one's own sign-in, tokens and keys: open to a usable account whatever it lacks,
except that tokens and keys still need a second factor."""


DURING_SUSPENSION = frozenset(
    {
        Action.SIGN_IN,
        Action.MANAGE_ACCOUNTS,
        Action.MANAGE_INCIDENTS,
        Action.OPERATE,
        Action.READ_CARE_RECORD,
    }
)
"""What may still be done while the environment is suspended for an incident: signing in,
disabling accounts, running the response (incidents, backups, the security log), and reading a
patient's record for their direct care, which a research incident must not stop."""


def active_suspension(session: Session) -> Suspension | None:
    """The suspension in force, if any (:mod:`fivesafes.governance.suspension`)."""
    return session.scalar(
        select(Suspension).where(Suspension.lifted_at.is_(None)).order_by(Suspension.suspension_id)
    )


@dataclass(frozen=True)
class Terms:
    """One version of the terms of use; an acceptance is of this exact text (its hash)."""

    version: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AccessPolicy:
    """What an account must hold to act. The default asks nothing beyond governance's own
    account checks (for stage tests that make accounts directly); an environment uses
    :meth:`standard`."""

    second_factor: bool = False
    identity_check: bool = False
    accreditation_for: frozenset[Role] = frozenset()
    training: Mapping[Role, tuple[str, ...]] = field(default_factory=dict)
    terms: Terms | None = None
    project_documents: tuple[str, ...] = ()
    """The documents (:data:`fivesafes.governance.project_records.DOCUMENTS`) a project must
    have recorded before any work runs for it."""
    registered_datasets: bool = False
    """Loads enter, and jobs reach, only datasets the register holds, agreed for the data
    controller and within their retention date (:mod:`fivesafes.governance.datasets`)."""

    @classmethod
    def standard(cls, terms: Terms) -> AccessPolicy:
        """Everything SATRE asks of safe people and projects, with these terms of use: a
        project needs its DPIA (SATRE 1.3.02) whatever else it carries."""
        return cls(True, True, DATA_ROLES, dict(STANDARD_TRAINING), terms, ("dpia",), True)

    def relaxed(self) -> list[str]:
        """The parts of the standard policy this one leaves out, for ``doctor``."""
        gaps = []
        if not self.second_factor:
            gaps.append("sign-in without a second factor is allowed")
        if not self.identity_check:
            gaps.append("accounts may act before their identity check is recorded")
        missing = sorted(DATA_ROLES - self.accreditation_for)
        if missing:
            gaps.append(f"no accreditation required for {', '.join(missing)}")
        if not any(self.training.values()):
            gaps.append("no training is required of any role")
        if self.terms is None:
            gaps.append("no terms of use must be accepted")
        if "dpia" not in self.project_documents:
            gaps.append("projects may run with no DPIA recorded")
        if not self.registered_datasets:
            gaps.append("loads and jobs may use datasets the register has not agreed")
        return gaps

    def problem(
        self,
        session: Session,
        person_id: str,
        roles: frozenset[Role],
        token_id: str | None,
        factor: str | None,
        action: Action,
        today: date,
    ) -> str | None:
        """Why this person may not take ``action`` now under the policy, or None. A suspension
        for an incident stops every action but those of :data:`DURING_SUSPENSION`, whatever the
        policy."""
        if action not in DURING_SUSPENSION:
            held = active_suspension(session)
            if held is not None:
                return (
                    f"the environment is suspended since {held.suspended_at:%Y-%m-%d %H:%M} "
                    f"({held.reason}): nothing but the incident response may be done"
                )
        if self.second_factor and action is not Action.SIGN_IN:
            signed = factor or (token_id and _factor_of(session, token_id))
            if not signed:
                return (
                    f"{person_id} must sign in with a second factor first "
                    "(`fivesafes sign-in`, or the organisation's identity provider)"
                )
        if action in SELF_SERVICE:
            return None
        if self.identity_check and session.get(IdentityCheck, person_id) is None:
            return f"{person_id}'s identity check has not been recorded"
        if self.terms is not None:
            accepted = session.get(TermsAcceptance, (person_id, self.terms.version))
            if accepted is None or accepted.terms_sha256 != self.terms.sha256:
                return (
                    f"{person_id} has not accepted the terms of use (version "
                    f"{self.terms.version}): `fivesafes terms accept`"
                )
        acting_as = sorted(roles & PERMISSIONS[action])
        reasons = [self._role_problem(session, person_id, role, today) for role in acting_as]
        if acting_as and all(reasons):
            return reasons[0]
        return None

    def _role_problem(self, session: Session, person_id: str, role: Role, today: date) -> str:
        """Why ``role`` does not let this person act today ('' if it does)."""
        if role in self.accreditation_for:
            account = session.get(Account, person_id)
            until = account.accredited_until if account is not None else None
            if until is None:
                return f"{person_id} is not accredited, which the {role} role needs"
            if until < today:
                return f"{person_id}'s accreditation lapsed on {until}"
        for course in self.training.get(role, ()):
            latest = current_training(session, person_id, course)
            if latest is None:
                return f"{person_id} has no record of {course} training, which {role} needs"
            if latest < today:
                return f"{person_id}'s {course} training lapsed on {latest}: repeat it"
        return ""


def current_training(session: Session, person_id: str, course: str) -> date | None:
    """When the latest record of ``course`` for this person expires, or None if there is none."""
    ends = session.scalars(
        select(TrainingRecord.expires_on).where(
            TrainingRecord.person_id == person_id, TrainingRecord.course == course
        )
    ).all()
    return max(ends) if ends else None


def _factor_of(session: Session, token_id: str) -> str | None:
    row = session.get(SignIn, token_id)
    return row.factor if row is not None else None
