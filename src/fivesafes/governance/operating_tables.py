"""The control-plane tables for operating an environment over its lifetime (issue 15).

People: each one's second factor and the sign-ins it made, identity check, training per course
and terms of use accepted. Projects: their governing documents with end dates, the resource
ceilings set when they were approved, and their closure. The datasets register, the incident
register, and the environment's suspensions during an incident. Declared on the same ``Base``
as :mod:`.tables` (so the migrations' drift test covers them) and made by migration 0005 (the
release delegates of each dataset by 0010).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy import Text as SqlText
from sqlalchemy.orm import Mapped, mapped_column

from fivesafes.governance.tables import Base, UTCDateTime


class SecondFactor(Base):
    """A person's TOTP secret; confirmed once they have shown one code from it."""

    __tablename__ = "second_factors"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.person_id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_step: Mapped[int] = mapped_column(BigInteger)
    """The last TOTP time step accepted: no code is accepted twice (RFC 6238 §5.2)."""


class SignIn(Base):
    """A token issued by a sign-in that checked a second factor (TOTP or the identity
    provider's own MFA): the only tokens an interactive account may act with."""

    __tablename__ = "sign_ins"

    token_id: Mapped[str] = mapped_column(ForeignKey("tokens.token_id"), primary_key=True)
    factor: Mapped[str] = mapped_column(String(16))
    signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdentityCheck(Base):
    """How a person's identity was verified before their account was used (SATRE 3.2.02)."""

    __tablename__ = "identity_checks"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.person_id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(200))
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_on: Mapped[date] = mapped_column(Date)


class TrainingRecord(Base):
    """One course a person completed, and when it must be repeated (SATRE 1.6.03, 1.6.04)."""

    __tablename__ = "training_records"

    record_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.person_id", ondelete="CASCADE"), index=True
    )
    course: Mapped[str] = mapped_column(String(100))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TermsAcceptance(Base):
    """A person's acceptance of one version of the terms of use, by its text's hash."""

    __tablename__ = "terms_acceptances"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.person_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    terms_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectDocument(Base):
    """One of a project's governing documents (DPIA, ethics, data-sharing agreement, funding)
    with the date it ends; past it, the project's jobs stop (SATRE 1.4.01, 1.4.02)."""

    __tablename__ = "project_documents"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), primary_key=True)
    document: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(300))
    ends_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectCeiling(Base):
    """The resources an approver allowed a project's jobs: set in the approval, not chosen by
    the analyst, and enforced by the sandbox (SATRE 2.3.03, 2.3.04)."""

    __tablename__ = "project_ceilings"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), primary_key=True)
    cpu_cores: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_bytes: Mapped[int] = mapped_column(BigInteger)
    wall_seconds: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectClosure(Base):
    """A closed project: its workspaces and outputs archived, then deleted (SATRE 1.4.04)."""

    __tablename__ = "project_closures"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), primary_key=True)
    closed_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    archive_sha256: Mapped[str] = mapped_column(String(64))


class DatasetRecord(Base):
    """One dataset in the register (SATRE 3.1.03, 3.1.08): who owns it, under which agreement
    and legal basis, how sensitive it is, and until when it may be kept."""

    __tablename__ = "datasets"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    agreement: Mapped[str] = mapped_column(String(300))
    sensitivity: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(300))
    retention_until: Mapped[date] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReleaseDelegate(Base):
    """One person made a release delegate of one dataset on its information asset owner's
    behalf (SATRE 3.1.06): recorded by a data custodian naming the owner's authority, in force
    once an approver who is not that custodian confirms it, until it is withdrawn. Rows are
    never deleted, so who could release from a dataset, and when, stays answerable. Made by
    migration 0010."""

    __tablename__ = "release_delegates"

    delegation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    authority: Mapped[str] = mapped_column(SqlText)
    """The owner's authority for it (their letter, email or minute, by reference)."""
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Incident(Base):
    """An incident, deviation or audit finding, linked to the ledger entries involved, tracked
    to its resolution with a root cause (SATRE 1.2.09, 2.6.04)."""

    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(SqlText)
    entries: Mapped[str] = mapped_column(SqlText)
    """The ledger indices involved, as a JSON list."""
    affects_public: Mapped[bool] = mapped_column(Boolean)
    notice: Mapped[str | None] = mapped_column(SqlText, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    root_cause: Mapped[str | None] = mapped_column(SqlText, nullable=True)
    actions: Mapped[str | None] = mapped_column(SqlText, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Suspension(Base):
    """The environment suspended for an incident (SATRE 2.6.04): while one is not lifted, only
    what responding needs may be done (:data:`fivesafes.governance.people.DURING_SUSPENSION`)."""

    __tablename__ = "suspensions"

    suspension_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str | None] = mapped_column(
        ForeignKey("incidents.incident_id"), nullable=True
    )
    reason: Mapped[str] = mapped_column(SqlText)
    suspended_by: Mapped[str] = mapped_column(String(64))
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
