"""Onboarding as use cases: identity checks, training, the terms of use, and the second factor
(a TOTP authenticator) with the sign-in it gives.

Governance holds the rules (a data custodian records checks and training and resets a lost
factor; a person sets up, confirms and signs in with their own factor, and accepts the terms for
themselves); the access policy the environment was opened under says what each role must hold.
Each step here is one call a face makes with the caller's credential, its refusals logged: a
wrong or replayed code is a refused sign-in in the ledger, whichever face it came through.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from fivesafes.environment.refusals import refusing
from fivesafes.governance import IssuedToken, mfa
from fivesafes.governance import onboarding as governance
from fivesafes.governance.people import Terms
from fivesafes.governance.totp import Enrolment

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def record_identity(
    env: Environment, credential: str, person_id: str, method: str, on: date
) -> None:
    """Record how a person's identity was verified, and when (a data custodian)."""
    with refusing(env.cp, "record_identity_check"):
        governance.record_identity_check(env.cp, credential, person_id, method, on)


def record_training(
    env: Environment,
    credential: str,
    person_id: str,
    course: str,
    completed: date,
    expires: date,
) -> None:
    """Record a completed course and when it must be repeated (a data custodian)."""
    with refusing(env.cp, "record_training"):
        governance.record_training(env.cp, credential, person_id, course, completed, expires)


def accept_terms(env: Environment, credential: str, terms: Terms) -> None:
    """The caller accepts the deployment's terms of use, this version of them."""
    with refusing(env.cp, "accept_terms"):
        governance.accept_terms(env.cp, credential, terms)


def set_up_second_factor(env: Environment, credential: str) -> Enrolment:
    """A new TOTP secret for the caller, shown once, named after the ledger's origin."""
    with refusing(env.cp, "set_up_totp"):
        return mfa.set_up_totp(env.cp, credential, env.cp.origin)


def confirm_second_factor(env: Environment, credential: str, code: str) -> None:
    """The caller confirms their authenticator with one code from it."""
    with refusing(env.cp, "confirm_totp"):
        mfa.confirm_totp(env.cp, credential, code)


def reset_second_factor(env: Environment, credential: str, person_id: str) -> None:
    """Remove someone's second factor so they can set up a new one (a data custodian)."""
    with refusing(env.cp, "reset_second_factor"):
        mfa.reset_second_factor(env.cp, credential, person_id)


def sign_in(env: Environment, credential: str, code: str) -> IssuedToken:
    """A signed-in token (12 hours) for the caller's credential and a current code."""
    with refusing(env.cp, "sign_in"):
        return mfa.sign_in(env.cp, credential, code)
