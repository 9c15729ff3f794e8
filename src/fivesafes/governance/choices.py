"""A person's own choices, made by the person: opt-outs, type-1 objection and consents.

The custodian loads opt-outs in bulk (:mod:`.optouts`); here the person sets and withdraws their
own, through the API, in the same tables, so the very next extraction (which reads those tables)
and the very next clinician read (which asks :func:`consent_granted`) honour the change. The
ledger records the kind of choice and whether it was made or withdrawn, never the NHS number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane
from fivesafes.governance.optouts import ConsentScope, OptOutKind
from fivesafes.governance.tables import Consent, OptOut


class Choice(StrEnum):
    """Every choice a person makes about their own data, by the name the API uses for it."""

    NATIONAL_OPT_OUT = "national-opt-out"
    TYPE1_OBJECTION = "type1-objection"
    SHARE_FOR_CARE = "share-for-care"
    SHARE_FOR_RESEARCH = "share-for-research"


OPT_OUT_OF: dict[Choice, OptOutKind] = {
    Choice.NATIONAL_OPT_OUT: OptOutKind.NATIONAL,
    Choice.TYPE1_OBJECTION: OptOutKind.TYPE1,
}
CONSENT_OF: dict[Choice, ConsentScope] = {
    Choice.SHARE_FOR_CARE: ConsentScope.CARE,
    Choice.SHARE_FOR_RESEARCH: ConsentScope.RESEARCH,
}


@dataclass(frozen=True)
class ChoiceState:
    """One choice as it stands: made (an opt-out held, or consent given) or not, and since when."""

    choice: Choice
    made: bool
    recorded_at: datetime | None


def record_choice(
    cp: ControlPlane, session: Session, nhs_number: str, choice: Choice, made: bool, actor: str
) -> ChoiceState:
    """Make or withdraw one choice for ``nhs_number`` in ``session``; logged without the number.

    The caller (the environment) has already checked that the number is the caller's own."""
    now = cp.now()
    if choice in OPT_OUT_OF:
        kind = OPT_OUT_OF[choice].value
        row = session.get(OptOut, (nhs_number, kind))
        if made and row is None:
            session.add(OptOut(nhs_number=nhs_number, kind=kind, recorded_at=now, source="person"))
        elif not made and row is not None:
            session.delete(row)
    else:
        scope = CONSENT_OF[choice].value
        consent = session.get(Consent, (nhs_number, scope))
        if consent is None:
            session.add(Consent(nhs_number=nhs_number, scope=scope, granted=made, recorded_at=now))
        else:
            consent.granted, consent.recorded_at = made, now
    session.flush()
    subject = {"what": "own_choice", "choice": choice.value, "made": int(made)}
    cp.log("load", subject, actor)
    return ChoiceState(choice, made, now)


def choices_of(session: Session, nhs_number: str) -> list[ChoiceState]:
    """Every choice of one person, made or not."""
    opt_outs = {
        row.kind: row.recorded_at
        for row in session.scalars(select(OptOut).where(OptOut.nhs_number == nhs_number))
    }
    consents = {
        row.scope: row
        for row in session.scalars(select(Consent).where(Consent.nhs_number == nhs_number))
    }
    states = []
    for choice in Choice:
        if choice in OPT_OUT_OF:
            when = opt_outs.get(OPT_OUT_OF[choice].value)
            states.append(ChoiceState(choice, when is not None, when))
        else:
            row = consents.get(CONSENT_OF[choice].value)
            states.append(
                ChoiceState(choice, bool(row and row.granted), row.recorded_at if row else None)
            )
    return states


def consent_granted(session: Session, nhs_number: str, scope: ConsentScope) -> bool:
    """Whether the person's shared data may be used for ``scope`` right now (no row: no)."""
    row = session.get(Consent, (nhs_number, scope.value))
    return bool(row and row.granted)
