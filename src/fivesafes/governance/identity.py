"""Who is calling: personal tokens now, and the seam an external identity provider plugs into.

An :class:`IdentityProvider` turns a credential into the ``person_id`` of an account; it says
nothing about what that person may do. The control plane then checks the account itself (expiry,
accreditation, disablement) and the role, whatever the provider, so moving to NHS CIS2 or another
OpenID Connect provider means writing one class that maps a verified ``sub`` claim to the account
whose ``identity_provider``/``external_subject`` match, and nothing else changes.

Personal tokens are 256 bits from the operating system's CSPRNG; only their SHA-256 is stored.
A plain (unsalted, fast) hash is enough because the token is high-entropy: there is no dictionary
to try, and it lets a token be looked up by its hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.roles import AccessDenied
from fivesafes.governance.tables import Token

TOKEN_PREFIX = "fst_"
"""Marks our tokens so secret scanners (and people) can recognise a leaked one."""


@dataclass(frozen=True)
class Identified:
    """A credential's owner, the token it was (if a personal token), and the second factor the
    provider itself checked (``oidc`` when an identity provider vouches for its own MFA)."""

    person_id: str
    token_id: str | None
    factor: str | None = None


class IdentityProvider(Protocol):
    """Turns a credential into an account's ``person_id``, or raises :class:`AccessDenied`."""

    name: str

    def identify(self, session: Session, credential: str, now: datetime) -> Identified: ...


def new_token() -> tuple[str, str]:
    """A fresh token and its hash: hand out the first, store only the second."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PersonalTokens:
    """The local provider: personal tokens stored hashed, revocable, with an expiry."""

    name = "local"

    def identify(self, session: Session, credential: str, now: datetime) -> Identified:
        row = session.scalar(select(Token).where(Token.token_hash == hash_token(credential)))
        if row is None:
            raise AccessDenied("unknown token")
        if row.revoked_at is not None:
            raise AccessDenied(f"token {row.token_id} was revoked")
        if row.expires_at <= now:
            raise AccessDenied(f"token {row.token_id} expired at {row.expires_at:%Y-%m-%d %H:%M}")
        return Identified(row.person_id, row.token_id)
