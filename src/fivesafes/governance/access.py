"""Who is calling an API, with what scopes, and tied to which records of care.

A request's bearer token is either a personal token (its scopes follow the account's roles,
:data:`~.scopes.ROLE_SCOPES`) or a short-lived token a registered system got with OAuth2 client
credentials (:func:`client_token`; its scopes are those it asked for within those registered).
:func:`identify` checks it like every credential, through :meth:`ControlPlane.authenticate`
(so each use is a ``login`` entry), and adds what the environment's care rules need: the ODS
code of a clinician's or administrator's organisation, or a person's own NHS number, from
:func:`link_account`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from fivesafes.governance.accounts import IssuedToken, _issue
from fivesafes.governance.api_tables import AccountLink, OAuthClient, TokenScope
from fivesafes.governance.control import ControlPlane, Principal, account_problem
from fivesafes.governance.identity import hash_token
from fivesafes.governance.roles import AccessDenied, Action
from fivesafes.governance.scopes import Scopes, personal_scopes
from fivesafes.governance.tables import Account
from fivesafes.model.codes import nhs_number_problem

CLIENT_TOKEN_LIFETIME = timedelta(minutes=15)
_ODS = re.compile(r"[A-Z0-9]{3,8}")
_CLIENT_ID = re.compile(r"[a-z][a-z0-9._-]{2,63}")


@dataclass(frozen=True)
class Caller:
    """A checked caller of an API: the account, the token's scopes and its links to care."""

    principal: Principal
    scopes: Scopes
    ods_code: str | None
    nhs_number: str | None
    client_id: str | None = None

    @property
    def person_id(self) -> str:
        return self.principal.person_id


def _link(session: Session, person_id: str) -> AccountLink | None:
    return session.get(AccountLink, person_id)


def identify(cp: ControlPlane, session: Session, credential: str, action: Action) -> Caller:
    """Authenticate ``credential`` for ``action`` inside ``session``; the caller with scopes."""
    principal = cp.authenticate(session, credential, action)
    scoped = session.get(TokenScope, principal.token_id) if principal.token_id else None
    if scoped is not None:
        client = session.get(OAuthClient, scoped.client_id)
        if client is None or client.revoked_at is not None:
            raise cp.refuse(principal, action, f"client {scoped.client_id} was revoked")
        scopes, client_id = Scopes.parse(scoped.scopes), scoped.client_id
    else:
        scopes, client_id = personal_scopes(principal.roles), None
    link = _link(session, principal.person_id)
    return Caller(
        principal,
        scopes,
        link.ods_code if link else None,
        link.nhs_number if link else None,
        client_id,
    )


def link_account(
    cp: ControlPlane,
    credential: str,
    person_id: str,
    *,
    ods_code: str | None = None,
    nhs_number: str | None = None,
) -> None:
    """Tie an account to its organisation's ODS code or to the person's own NHS number
    (custodian only); the ledger says which kind of link changed, never the NHS number."""
    if ods_code is not None and not _ODS.fullmatch(ods_code):
        raise ValueError(f"{ods_code!r} is not an ODS code (3 to 8 capital letters and digits)")
    if nhs_number is not None:
        problem = nhs_number_problem(nhs_number)
        if problem:
            raise ValueError(f"NHS number: {problem}")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        if session.get(Account, person_id) is None:
            raise ValueError(f"no account {person_id}")
        link = _link(session, person_id) or AccountLink(person_id=person_id)
        if ods_code is not None:
            link.ods_code = ods_code
        if nhs_number is not None:
            link.nhs_number = nhs_number
        session.merge(link)
        session.flush()
        changed = "+".join(k for k, v in (("ods", ods_code), ("nhs", nhs_number)) if v)
        subject = {"person_id": person_id, "change": f"link_{changed}"}
        if ods_code is not None:
            subject["ods_code"] = ods_code
        cp.log("account", subject, me.person_id)


@dataclass(frozen=True)
class RegisteredClient:
    """A client as registered: its secret is shown once and only its hash is kept."""

    client_id: str
    client_secret: str
    person_id: str
    scopes: str


def register_client(
    cp: ControlPlane, credential: str, client_id: str, person_id: str, scopes: str
) -> RegisteredClient:
    """Register a system to get tokens by client credentials, acting as account ``person_id``
    with at most ``scopes`` (custodian only)."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise ValueError("client id: 3-64 lower-case letters, digits, '.', '_' or '-'")
    parsed = Scopes.parse(scopes)
    if not parsed.items:
        raise ValueError("a client needs at least one scope, e.g. system/*.rs")
    secret = secrets.token_urlsafe(32)
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_ACCOUNTS)
        if session.get(Account, person_id) is None:
            raise ValueError(f"no account {person_id}")
        if session.get(OAuthClient, client_id) is not None:
            raise ValueError(f"client {client_id} is already registered")
        session.add(
            OAuthClient(
                client_id=client_id,
                secret_hash=hash_token(secret),
                person_id=person_id,
                scopes=str(parsed),
                created_at=cp.now(),
            )
        )
        session.flush()
        subject = {
            "person_id": person_id,
            "change": "client_registered",
            "client_id": client_id,
            "scopes": str(parsed),
        }
        cp.log("account", subject, me.person_id)
    return RegisteredClient(client_id, secret, person_id, str(parsed))


def _refused(cp: ControlPlane, who: str, reason: str) -> None:
    """A refused client-credentials grant, logged like any refused use of a credential."""
    subject = {
        "provider": "oauth2",
        "action": "client_credentials",
        "outcome": f"refused: {reason}",
    }
    cp.log("login", subject, who)


@dataclass(frozen=True)
class ClientToken:
    token: IssuedToken
    scopes: str


def client_token(
    cp: ControlPlane, client_id: str, client_secret: str, scope: str | None = None
) -> ClientToken:
    """A short-lived token for a registered client (OAuth2 client credentials grant), with the
    scopes asked for that the registration covers (all of them when none are asked for)."""
    with cp.transaction() as session:
        client = session.get(OAuthClient, client_id)
        if (
            client is None
            or client.revoked_at is not None
            or not secrets.compare_digest(client.secret_hash, hash_token(client_secret))
        ):
            _refused(cp, client_id, "unknown client or wrong secret")
            raise AccessDenied("invalid_client")
        registered = Scopes.parse(client.scopes)
        granted = registered if not scope else Scopes.parse(scope).within(registered)
        if not granted.items:
            _refused(cp, client.person_id, f"no registered scope among {scope!r}")
            raise AccessDenied("invalid_scope")
        account = session.get(Account, client.person_id)
        problem = account_problem(account, cp.now()) if account else "no account"
        if account is None or problem:
            _refused(cp, client.person_id, str(problem))
            raise AccessDenied(str(problem))
        issued = _issue(cp, session, account, CLIENT_TOKEN_LIFETIME, client.person_id)
        session.add(TokenScope(token_id=issued.token_id, client_id=client_id, scopes=str(granted)))
        return ClientToken(issued, str(granted))
