"""The control-plane tables: people, their tokens, enrolment codes and signing keys, projects,
decisions, opt-outs, and the jobs run inside the environment.

One declarative model, read by the Alembic migrations' drift test, serves SQLite and PostgreSQL
alike. Times are stored as naive UTC (:class:`UTCDateTime`) because SQLite keeps no time zone;
every value read back is made aware again, so code never mixes naive and aware times. NHS numbers
appear only in the opt-out and consent tables — the identifiable side of the control plane — and
never in the ledger; so do people's contact addresses (``accounts.contact``), which only the
delivery of their enrolment codes reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as naive UTC, the same on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("control-plane times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A verified person. ``identity_provider``/``external_subject`` are the seam for SSO."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("identity_provider", "external_subject"),)

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trained_on: Mapped[date] = mapped_column(Date)
    accredited_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identity_provider: Mapped[str] = mapped_column(String(64), default="local")
    external_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(320), nullable=True)
    """Where the person's enrolment codes are delivered (an e-mail address); never logged."""


class AccountRole(Base):
    __tablename__ = "account_roles"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.person_id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Token(Base):
    """A personal access token: only its SHA-256 is kept, so a stolen table opens nothing."""

    __tablename__ = "tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Enrolment(Base):
    """A one-time, short-lived code that lets a new account's own person make their first token.

    Only its SHA-256 is kept. It goes to the person (the delivery seam), never to whoever created
    the account, so no one but the person ever holds their credentials."""

    __tablename__ = "enrolments"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PersonKey(Base):
    """A decider's Ed25519 public key; the private half never reaches the server."""

    __tablename__ = "person_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Project(Base):
    __tablename__ = "projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class ApplicationVersion(Base):
    """One submitted version of a project's application form, as canonical JSON and its hash."""

    __tablename__ = "applications"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    form: Mapped[str] = mapped_column(Text)
    form_hash: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Decision(Base):
    """A signed decision on one application version."""

    __tablename__ = "decisions"

    decision_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    key_id: Mapped[str] = mapped_column(ForeignKey("person_keys.key_id"))
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WaitingStep(Base):
    """A stretch of time an application waited on someone: the approver, or the applicant."""

    __tablename__ = "waiting_steps"

    step_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OptOut(Base):
    """A national data opt-out or a type-1 objection, by NHS number (identifiable side)."""

    __tablename__ = "opt_outs"

    nhs_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64))


class Consent(Base):
    """Consent to share wearable data, for care and separately for research; revocable."""

    __tablename__ = "consents"

    nhs_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OptOutApplied(Base):
    """How many patients opt-outs removed from one extract: for the custodian's eyes only."""

    __tablename__ = "opt_outs_applied"

    applied_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    excluded: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    """A job: one submission of a study to run on a project's data inside the environment.

    A record with a lifecycle (``queued`` → ``running`` → ``succeeded`` / ``failed`` /
    ``interrupted`` / ``cancelled``); the queued rows are the queue workers claim from
    (:mod:`fivesafes.environment.job_queue`): running a job is a function of this row. Its
    workspace and outputs are under the environment's data directory, never in the submitter's
    folder."""

    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.project_id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    purpose: Mapped[str] = mapped_column(String(32))
    grant: Mapped[str] = mapped_column(Text)
    """JSON: the tables and columns the project's approval let this job see."""
    state: Mapped[str] = mapped_column(String(16), index=True)
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    study_sha256: Mapped[str] = mapped_column(String(64))
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    git_dirty: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    limits: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    outputs: Mapped[str] = mapped_column(Text, default="[]")
    """JSON: each output the job made, with its hash, size, privacy and the action run."""
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """The worker holding the job (``host:pid:nonce``), from its claim until the job ends."""
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """Until when the claim holds unless the worker renews it: past it, the worker is gone."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Who asked for the job to stop; its worker stops it at its next heartbeat."""


class LedgerEntry(Base):
    """A ledger entry when the ledger lives in PostgreSQL (see :mod:`.ledger_store`)."""

    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created: Mapped[str] = mapped_column(String(40))
