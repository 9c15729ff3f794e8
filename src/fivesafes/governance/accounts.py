"""Accounts, enrolment codes, personal tokens and deciders' public keys: creating, changing and
revoking them.

Accounts are verified before use by the data custodian who creates them (SATRE: researchers are
accredited before access): each has an expiry, the date training was done and, where the
organisation accredits, the date accreditation lapses. The very first account can only be a data
custodian and is created without a credential (``bootstrap``, by the environment's
initialisation); after that only a custodian may create or change accounts, never their own, and
never into roles no one person may hold together (:data:`~.roles.INCOMPATIBLE`). Every change is
a public ``account`` entry in the ledger (person id, public name, roles, organisation — never
contact details).

A new account's credentials go to its person and nobody else (SATRE 3.2.01: one account, one
person): creating it makes a one-time enrolment code, valid for a day, which the environment
delivers to the person's contact address and the person redeems (:func:`enrol`) for a token of
their own. The custodian who created the account never sees a credential for it, and nobody may
issue a token for someone else.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane, Principal, account_problem, roles_of
from fivesafes.governance.identity import hash_token, new_token
from fivesafes.governance.operating_tables import SignIn
from fivesafes.governance.roles import AccessDenied, Action, Role, roles_problem
from fivesafes.governance.signing import b64, key_id_of, public_key_bytes
from fivesafes.governance.tables import Account, AccountRole, Enrolment, PersonKey, Token

BOOTSTRAP_ACTOR = "bootstrap"
DEFAULT_TOKEN_LIFETIME = timedelta(days=30)
ENROLMENT_LIFETIME = timedelta(hours=24)
ENROLMENT_PREFIX = "fse_"
"""Marks enrolment codes, as ``fst_`` marks tokens, so a leaked one is recognised."""
_PERSON_ID = re.compile(r"[a-z][a-z0-9._-]{1,63}")
_CONTACT = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class NewAccount:
    """What a custodian records when verifying a person."""

    person_id: str
    public_name: str
    organisation: str
    roles: frozenset[Role]
    expires_on: date
    trained_on: date
    accredited_until: date | None = None
    identity_provider: str = "local"
    external_subject: str | None = None
    contact: str | None = None
    """Where the person's enrolment code is sent (an e-mail address); never in the ledger."""

    def problem(self, today: date) -> str | None:
        if not _PERSON_ID.fullmatch(self.person_id):
            return "person id must be 2-64 characters: lower-case letters, digits, '.', '_', '-'"
        if not self.public_name.strip() or not self.organisation.strip():
            return "public name and organisation are required"
        if not self.roles:
            return "an account needs at least one role"
        if self.contact is not None and not _CONTACT.fullmatch(self.contact):
            return f"contact {self.contact!r} is not an e-mail address"
        if self.expires_on <= today:
            return "the account's expiry must be in the future"
        if self.trained_on > today:
            return "training cannot be dated in the future"
        return None


@dataclass(frozen=True)
class NewEnrolment:
    """A one-time code for ``person_id`` to make their own first token: for the environment to
    deliver to the person's contact address, and for nobody else to see."""

    person_id: str
    code: str
    expires_at: datetime
    contact: str | None
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed out: the secret is shown once and never stored."""

    person_id: str
    token_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class AccountView:
    person_id: str
    public_name: str
    organisation: str
    roles: tuple[str, ...]
    expires_at: datetime
    trained_on: date
    accredited_until: date | None
    usable: str


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: an account that expires on a day cannot act on it."""
    return datetime.combine(day, time.min, UTC)


def _account_entry(account: Account, roles: Iterable[Role], change: str) -> dict[str, object]:
    return {
        "person_id": account.person_id,
        "public_name": account.public_name,
        "organisation": account.organisation,
        "role": sorted(r.value for r in roles),
        "change": change,
    }


def _issue(
    cp: ControlPlane, session: Session, account: Account, lifetime: timedelta, actor: str
) -> IssuedToken:
    """Store a new token's hash; the token never outlives its account."""
    now = cp.now()
    token, digest = new_token()
    token_id = secrets.token_hex(8)
    expires = min(now + lifetime, account.expires_at)
    session.add(
        Token(
            token_id=token_id,
            person_id=account.person_id,
            token_hash=digest,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    subject = {
        "person_id": account.person_id,
        "change": "token_issued",
        "token_id": token_id,
        "expires": expires.isoformat(),
    }
    cp.log("account", subject, actor)
    return IssuedToken(account.person_id, token_id, token, expires)


def _new_enrolment(
    cp: ControlPlane, session: Session, account: Account, actor: str
) -> NewEnrolment:
    """A fresh code for ``account``; any earlier unused code of theirs stops working."""
    now = cp.now()
    for earlier in session.scalars(
        select(Enrolment).where(
            Enrolment.person_id == account.person_id, Enrolment.used_at.is_(None)
        )
    ):
        earlier.used_at = now
    code = ENROLMENT_PREFIX + secrets.token_urlsafe(24)
    expires = min(now + ENROLMENT_LIFETIME, account.expires_at)
    session.add(
        Enrolment(
            code_hash=hash_token(code),
            person_id=account.person_id,
            created_by=actor,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    subject = {
        "person_id": account.person_id,
        "change": "enrolment_code_issued",
        "expires": expires.isoformat(),
    }
    cp.log("account", subject, actor)
    roles = tuple(sorted(roles_of(session, account.person_id)))
    return NewEnrolment(account.person_id, code, expires, account.contact, roles)


def issue_signed_in(
    cp: ControlPlane, session: Session, account: Account, lifetime: timedelta, factor: str
) -> IssuedToken:
    """A token from a sign-in that checked ``factor`` as the second factor (:mod:`.mfa`,
    :mod:`.oidc`): under the standard policy, the only kind an account may act with."""
    issued = _issue(cp, session, account, lifetime, account.person_id)
    session.add(SignIn(token_id=issued.token_id, factor=factor, signed_in_at=cp.now()))
    subject = {"person_id": account.person_id, "change": "signed_in", "factor": factor}
    cp.log("account", subject, account.person_id)
    return issued


def create_account(cp: ControlPlane, credential: str | None, spec: NewAccount) -> NewEnrolment:
    """Create a verified account and its one-time enrolment code (for the person alone).

    ``credential`` is a custodian's token, or None only for the first account, which must be a
    data custodian. Roles no one person may combine are refused.
    """
    with cp.transaction() as session:
        me = None
        if credential is None:
            if session.scalar(select(func.count()).select_from(Account)):
                raise AccessDenied("only the first account may be created without a credential")
            if Role.DATA_CUSTODIAN not in spec.roles:
                raise AccessDenied("the first account must be a data custodian")
            actor = BOOTSTRAP_ACTOR
        else:
            me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
            actor = me.person_id
        problem = spec.problem(cp.today())
        if problem:
            raise ValueError(problem)
        conflict = roles_problem(spec.roles)
        if conflict:
            if me is None:
                raise AccessDenied(conflict)
            raise cp.refuse(me, Action.MANAGE_ACCOUNTS, f"{spec.person_id}: {conflict}")
        if session.get(Account, spec.person_id) is not None:
            raise ValueError(f"account {spec.person_id} already exists")
        account = Account(
            person_id=spec.person_id,
            public_name=spec.public_name.strip(),
            organisation=spec.organisation.strip(),
            created_at=cp.now(),
            created_by=actor,
            expires_at=start_of(spec.expires_on),
            trained_on=spec.trained_on,
            accredited_until=spec.accredited_until,
            identity_provider=spec.identity_provider,
            external_subject=spec.external_subject,
            contact=spec.contact,
        )
        session.add(account)
        session.add_all(AccountRole(person_id=spec.person_id, role=r.value) for r in spec.roles)
        session.flush()
        cp.log("account", _account_entry(account, spec.roles, "created"), actor)
        return _new_enrolment(cp, session, account, actor)


def _enrolment_problem(row: Enrolment | None, account: Account | None, now: datetime) -> str | None:
    if row is None or account is None:
        return "unknown enrolment code"
    if row.used_at is not None:
        return f"the enrolment code for {row.person_id} was already used or replaced"
    if row.expires_at <= now:
        return f"the enrolment code for {row.person_id} expired at {row.expires_at:%Y-%m-%d %H:%M}"
    return account_problem(account, now)


def enrol(cp: ControlPlane, code: str, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME) -> IssuedToken:
    """Redeem one's enrolment code, once, for a token of one's own."""
    with cp.transaction() as session:
        row = session.get(Enrolment, hash_token(code))
        account = session.get(Account, row.person_id) if row is not None else None
        problem = _enrolment_problem(row, account, cp.now())
        if problem or row is None or account is None:
            who = row.person_id if row is not None else "unknown"
            cp.log_login(who, None, "enrol", f"refused: {problem}")
            raise AccessDenied(problem or "unknown enrolment code")
        row.used_at = cp.now()
        cp.log_login(account.person_id, None, "enrol", "allowed")
        cp.log("account", {"person_id": account.person_id, "change": "enrolled"}, account.person_id)
        return _issue(cp, session, account, lifetime, account.person_id)


def invite(cp: ControlPlane, credential: str, person_id: str) -> NewEnrolment:
    """A new enrolment code for someone whose code expired or who lost every token (custodian):
    it goes to them, like the first, and their earlier unused code stops working."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        account = session.get(Account, person_id)
        if account is None:
            raise ValueError(f"no account {person_id}")
        if person_id == me.person_id:
            raise cp.refuse(me, Action.MANAGE_ACCOUNTS, "no one sends an enrolment code to self")
        problem = account_problem(account, cp.now())
        if problem:
            raise ValueError(problem)
        return _new_enrolment(cp, session, account, me.person_id)


def issue_token(
    cp: ControlPlane, credential: str, *, lifetime: timedelta = DEFAULT_TOKEN_LIFETIME
) -> IssuedToken:
    """A new token for oneself. Nobody issues a token for someone else, custodians included:
    a person without a working token gets a new enrolment code (:func:`invite`)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
        account = session.get(Account, me.person_id)
        assert account is not None  # authenticated just now
        return _issue(cp, session, account, lifetime, me.person_id)


def revoke_token(cp: ControlPlane, credential: str, token_id: str) -> None:
    """Revoke a token at once: one's own, or anyone's for a custodian."""
    _revoke(cp, credential, Token, token_id, "token")


_Revocable = TypeVar("_Revocable", Token, PersonKey)
"""The rows one revokes: each has the ``person_id`` it belongs to and a ``revoked_at``."""


def _revoke(
    cp: ControlPlane, credential: str, table: type[_Revocable], row_id: str, what: str
) -> None:
    """Mark one's own token or key revoked now (a custodian: anyone's), and log it once."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
        row = session.get(table, row_id)
        if row is None:
            raise ValueError(f"no {what} {row_id}")
        if row.person_id != me.person_id and not me.may(Action.MANAGE_ACCOUNTS):
            raise AccessDenied(f"{me.person_id} may not revoke {row.person_id}'s {what}s")
        if row.revoked_at is None:
            row.revoked_at = cp.now()
            subject = {
                "person_id": row.person_id,
                "change": f"{what}_revoked",
                f"{what}_id": row_id,
            }
            cp.log("account", subject, me.person_id)


def change_account(
    cp: ControlPlane,
    credential: str,
    person_id: str,
    *,
    roles: frozenset[Role] | None = None,
    expires_on: date | None = None,
    accredited_until: date | None = None,
    disable: bool = False,
) -> None:
    """Change roles, expiry or accreditation, or disable an account (custodian only; never one's
    own account, and never into roles no one person may hold together)."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        account = session.get(Account, person_id)
        if account is None:
            raise ValueError(f"no account {person_id}")
        if person_id == me.person_id:
            raise cp.refuse(
                me,
                Action.MANAGE_ACCOUNTS,
                "no one changes their own account: ask another custodian",
            )
        changes = []
        if roles is not None:
            if not roles:
                raise ValueError("an account needs at least one role")
            conflict = roles_problem(roles)
            if conflict:
                raise cp.refuse(me, Action.MANAGE_ACCOUNTS, f"{person_id}: {conflict}")
            session.execute(delete(AccountRole).where(AccountRole.person_id == person_id))
            session.add_all(AccountRole(person_id=person_id, role=r.value) for r in roles)
            changes.append("roles")
        if expires_on is not None:
            account.expires_at = start_of(expires_on)
            changes.append("expiry")
        if accredited_until is not None:
            account.accredited_until = accredited_until
            changes.append("accreditation")
        if disable and account.disabled_at is None:
            account.disabled_at = cp.now()
            changes.append("disabled")
        if not changes:
            return
        session.flush()
        current = roles_of(session, person_id)
        cp.log("account", _account_entry(account, current, "+".join(changes)), me.person_id)


def register_key(cp: ControlPlane, credential: str, public_key: Ed25519PublicKey) -> str:
    """Register the caller's own Ed25519 public key for signing decisions; returns its key id.

    The private half stays with the person. The public half goes in the ledger too, so anyone can
    check a decision's signature from the public log alone.
    """
    raw = public_key_bytes(public_key)
    key_id = key_id_of(raw)
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.REGISTER_OWN_KEY)
        if session.get(PersonKey, key_id) is not None:
            raise ValueError(f"key {key_id} is already registered")
        session.add(
            PersonKey(key_id=key_id, person_id=me.person_id, public_key=raw, registered_at=cp.now())
        )
        session.flush()
        subject = {
            "person_id": me.person_id,
            "change": "key_registered",
            "key_id": key_id,
            "public_key": b64(raw),
        }
        cp.log("account", subject, me.person_id)
    return key_id


def revoke_key(cp: ControlPlane, credential: str, key_id: str) -> None:
    """Retire a decision key (lost or rotated): one's own, or anyone's for a custodian.

    Decisions already signed stay verifiable (the public key stays in the ledger); the key can
    sign no new ones.
    """
    _revoke(cp, credential, PersonKey, key_id, "key")


def list_accounts(cp: ControlPlane, credential: str) -> list[AccountView]:
    """Every account with whether it may act now (custodian only)."""
    with cp.transaction() as session:
        cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        now = cp.now()
        return [
            AccountView(
                a.person_id,
                a.public_name,
                a.organisation,
                tuple(sorted(roles_of(session, a.person_id))),
                a.expires_at,
                a.trained_on,
                a.accredited_until,
                account_problem(a, now) or "yes",
            )
            for a in session.scalars(select(Account).order_by(Account.person_id))
        ]


def whoami(cp: ControlPlane, credential: str) -> Principal:
    """The caller, checked (so a CLI can say who is acting before it acts)."""
    with cp.transaction() as session:
        return cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
