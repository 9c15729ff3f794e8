"""The control-plane tables the APIs add: who an account is in care, systems' clients, tokens'
scopes, and the requests already applied.

They share governance's declarative model (:class:`~.tables.Base`), so the migration drift test
holds them too. NHS numbers appear here only in ``account_links`` (the identifiable side, like
the opt-out and consent tables), never in the ledger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fivesafes.governance.tables import Base, UTCDateTime


class AccountLink(Base):
    """What ties an account to the records of care: a clinician's or an organisation
    administrator's ODS code, or a person's own NHS number."""

    __tablename__ = "account_links"

    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), primary_key=True)
    ods_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10), nullable=True, unique=True)


class OAuthClient(Base):
    """A system registered for OAuth2 client credentials: it acts as one account, with at most
    the scopes registered here; only the secret's SHA-256 is kept."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TokenScope(Base):
    """The scopes of a token issued to a client; a token without a row is a personal token,
    whose scopes follow its account's roles."""

    __tablename__ = "token_scopes"

    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.token_id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"))
    scopes: Mapped[str] = mapped_column(Text)


class AppliedRequest(Base):
    """A change request already applied, by its ``X-Request-ID``: a retry gets the first
    answer again and changes nothing."""

    __tablename__ = "applied_requests"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(32), nullable=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
