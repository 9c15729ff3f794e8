"""People's accounts as use cases: create, enrol, invite again, change, tokens, keys, look,
and what the API's callers need first (an account's link to care, a system's client).

Governance holds the rules (who may create or change an account, which roles no one person may
combine, that nobody changes their own account); this module adds what a face must not have to
remember: a new account's enrolment code goes to its person through the environment's delivery
and only where it went comes back, and every refusal is logged as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fivesafes.environment.delivery import enrolment_message
from fivesafes.environment.refusals import RefusalKind, Refused, refusing
from fivesafes.governance import (
    AccountView,
    IssuedToken,
    NewAccount,
    NewEnrolment,
    Principal,
    Role,
    access,
)
from fivesafes.governance import accounts as governance
from fivesafes.governance.access import RegisteredClient

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


@dataclass(frozen=True)
class AccountCreated:
    """An account made (or sent a new code): whose, and where their enrolment code went.
    The code itself is never here: only its person receives it."""

    person_id: str
    roles: tuple[str, ...]
    delivered_to: str
    code_expires_at: datetime


def deliver(env: Environment, enrolment: NewEnrolment) -> AccountCreated:
    """Send an enrolment code to its person; what the face may be told about it."""
    if not enrolment.contact:
        raise Refused(
            f"{enrolment.person_id} has no contact address to send an enrolment code to",
            RefusalKind.INVALID,
        )
    message = enrolment_message(
        env.settings.name,
        enrolment.contact,
        enrolment.person_id,
        enrolment.code,
        enrolment.expires_at,
    )
    where = env.delivery.send(message)
    roles = tuple(r.value for r in enrolment.roles)
    return AccountCreated(enrolment.person_id, roles, where, enrolment.expires_at)


def create(env: Environment, credential: str, spec: NewAccount) -> AccountCreated:
    """Create a verified account (custodian); its enrolment code goes to the person alone."""
    with refusing(env.cp, "create_account"):
        if not spec.contact:
            raise Refused("give the person's contact address (--contact) to send their code to")
        return deliver(env, governance.create_account(env.cp, credential, spec))


def invite(env: Environment, credential: str, person_id: str) -> AccountCreated:
    """Send someone a new enrolment code (custodian): their code expired, or every token is lost."""
    with refusing(env.cp, "invite"):
        return deliver(env, governance.invite(env.cp, credential, person_id))


def enrol(env: Environment, code: str, days: int = 30) -> IssuedToken:
    """Redeem one's own enrolment code, once, for one's own token."""
    with refusing(env.cp, "enrol"):
        return governance.enrol(env.cp, code, timedelta(days=days))


def change(
    env: Environment,
    credential: str,
    person_id: str,
    *,
    roles: frozenset[Role] | None = None,
    expires_on: date | None = None,
    accredited_until: date | None = None,
    disable: bool = False,
) -> None:
    """Change another person's roles, expiry or accreditation, or disable them (custodian)."""
    with refusing(env.cp, "change_account"):
        governance.change_account(
            env.cp,
            credential,
            person_id,
            roles=roles,
            expires_on=expires_on,
            accredited_until=accredited_until,
            disable=disable,
        )


def listing(env: Environment, credential: str) -> list[AccountView]:
    """Every account and whether it may act now (custodian)."""
    with refusing(env.cp, "list_accounts"):
        return governance.list_accounts(env.cp, credential)


def whoami(env: Environment, credential: str) -> Principal:
    with refusing(env.cp, "whoami"):
        return governance.whoami(env.cp, credential)


def issue_token(env: Environment, credential: str, days: int = 30) -> IssuedToken:
    """A new token for oneself (nobody issues one for anyone else)."""
    with refusing(env.cp, "issue_token"):
        return governance.issue_token(env.cp, credential, lifetime=timedelta(days=days))


def revoke_token(env: Environment, credential: str, token_id: str) -> None:
    """Revoke one's own token, or (custodian) anyone's."""
    with refusing(env.cp, "revoke_token"):
        governance.revoke_token(env.cp, credential, token_id)


def register_key(env: Environment, credential: str, public_key: Ed25519PublicKey) -> str:
    """Register one's own decision-signing key; returns its id."""
    with refusing(env.cp, "register_key"):
        return governance.register_key(env.cp, credential, public_key)


def revoke_key(env: Environment, credential: str, key_id: str) -> None:
    """Retire one's own decision key, or (custodian) anyone's."""
    with refusing(env.cp, "revoke_key"):
        governance.revoke_key(env.cp, credential, key_id)


def link(
    env: Environment,
    credential: str,
    person_id: str,
    *,
    ods_code: str | None = None,
    nhs_number: str | None = None,
) -> None:
    """Tie an account to its organisation's ODS code (clinicians, organisation administrators)
    or to the person's own NHS number (patients) (custodian)."""
    with refusing(env.cp, "link_account"):
        if ods_code is None and nhs_number is None:
            raise Refused("give an ODS code or an NHS number to link the account to")
        access.link_account(env.cp, credential, person_id, ods_code=ods_code, nhs_number=nhs_number)


def register_client(
    env: Environment, credential: str, client_id: str, acting_as: str, scopes: str
) -> RegisteredClient:
    """Register a system that gets API tokens by OAuth2 client credentials, acting as account
    ``acting_as`` with at most ``scopes`` (custodian); its secret is in the result, once."""
    with refusing(env.cp, "register_client"):
        return access.register_client(env.cp, credential, client_id, acting_as, scopes)
