"""Multi-factor sign-in (SATRE 3.2.04): a TOTP second factor set up once, then used to sign in.

A person's first factor is their personal credential (the token their enrolment gave them).
With it they set up a TOTP secret, shown once (:func:`set_up_totp`), prove their authenticator
holds it (:func:`confirm_totp`), and from then on exchange the credential and a current code for
a short-lived signed-in token (:func:`sign_in`). Under the standard policy only signed-in tokens
may act (:mod:`.people`). A confirmed factor cannot be replaced with the first factor alone —
that would let a stolen credential enrol its own authenticator — only a data custodian can reset
it (:func:`reset_second_factor`), which is logged. Every code refused is a refused ``login``.
"""

from __future__ import annotations

from datetime import timedelta

from fivesafes.governance.accounts import IssuedToken, issue_signed_in
from fivesafes.governance.control import ControlPlane
from fivesafes.governance.operating_tables import SecondFactor
from fivesafes.governance.roles import Action
from fivesafes.governance.tables import Account
from fivesafes.governance.totp import (
    Enrolment,
    b32,
    matching_step,
    new_secret,
    provisioning_uri,
)

SIGNED_IN_LIFETIME = timedelta(hours=12)
"""A working day: a signed-in token lasts no longer, so a lost one is soon worthless."""


def set_up_totp(cp: ControlPlane, credential: str, issuer: str) -> Enrolment:
    """A new, unconfirmed TOTP secret for the caller, shown this once."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        held = session.get(SecondFactor, me.person_id)
        if held is not None and held.confirmed_at is not None:
            raise cp.refuse(
                me,
                Action.SIGN_IN,
                f"{me.person_id} already has a second factor; a data custodian can reset it",
            )
        secret = new_secret()
        if held is None:
            session.add(
                SecondFactor(
                    person_id=me.person_id, secret=secret, created_at=cp.now(), last_step=-1
                )
            )
        else:
            held.secret, held.created_at, held.last_step = secret, cp.now(), -1
        return Enrolment(me.person_id, b32(secret), provisioning_uri(secret, me.person_id, issuer))


def _checked_code(cp: ControlPlane, factor: SecondFactor, code: str) -> int | None:
    return matching_step(factor.secret, code, cp.now().timestamp(), factor.last_step)


def confirm_totp(cp: ControlPlane, credential: str, code: str) -> None:
    """Confirm the caller's new secret with one code from their authenticator."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        factor = session.get(SecondFactor, me.person_id)
        if factor is None:
            raise cp.refuse(me, Action.SIGN_IN, f"{me.person_id} has no second factor to confirm")
        step = _checked_code(cp, factor, code)
        if step is None:
            raise cp.refuse(me, Action.SIGN_IN, "that code is wrong or has expired")
        factor.last_step, factor.confirmed_at = step, cp.now()
        cp.log(
            "account",
            {"person_id": me.person_id, "change": "second_factor", "factor": "totp"},
            me.person_id,
        )


def sign_in(
    cp: ControlPlane, credential: str, code: str, lifetime: timedelta = SIGNED_IN_LIFETIME
) -> IssuedToken:
    """A signed-in token for the caller, in exchange for their credential and a current code."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.SIGN_IN)
        factor = session.get(SecondFactor, me.person_id)
        if factor is None or factor.confirmed_at is None:
            raise cp.refuse(
                me,
                Action.SIGN_IN,
                f"{me.person_id} has no second factor yet: `fivesafes mfa set-up` first",
            )
        step = _checked_code(cp, factor, code)
        if step is None:
            raise cp.refuse(me, Action.SIGN_IN, "that code is wrong, expired or already used")
        factor.last_step = step
        account = session.get(Account, me.person_id)
        assert account is not None  # authenticate found it
        return issue_signed_in(cp, session, account, lifetime, "totp")


def reset_second_factor(cp: ControlPlane, credential: str, person_id: str) -> None:
    """Remove someone's second factor (a lost phone) so they can set up a new one (custodian)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        if person_id == me.person_id:
            raise cp.refuse(me, Action.MANAGE_ACCOUNTS, "nobody resets their own second factor")
        factor = session.get(SecondFactor, person_id)
        if factor is None:
            raise ValueError(f"{person_id} has no second factor")
        session.delete(factor)
        cp.log("account", {"person_id": person_id, "change": "second_factor_reset"}, me.person_id)
