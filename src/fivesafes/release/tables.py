"""The release tables in the control-plane database: requests, their files, and reviewers' votes.

They live beside the governance tables (SQLite or PostgreSQL, one data-access layer), declared
here in their own metadata because the release stage owns them; they are created by the control
plane's Alembic migrations (revision ``0003`` in ``fivesafes.governance.migrations``), which run
whenever the control plane is opened, never by ``create_all``. A test compares the migrated
schema with these declarations on both databases, so the two cannot drift apart. Times are
aware UTC, stored naive, as the governance tables do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, ForeignKey, Integer, String, Text, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fivesafes.governance.tables import UTCDateTime


class ReleaseBase(DeclarativeBase):
    pass


class ReleaseRequestRow(ReleaseBase):
    """One request to release some outputs of one project, and where it is in its journey."""

    __tablename__ = "release_requests"

    release_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    study: Mapped[str] = mapped_column(Text)
    justification: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    request_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReleaseFileRow(ReleaseBase):
    """One file of a request: its bytes (by hash), the job that made it, and its check."""

    __tablename__ = "release_files"

    release_id: Mapped[str] = mapped_column(
        ForeignKey("release_requests.release_id"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    report: Mapped[str] = mapped_column(Text)
    exception: Mapped[str] = mapped_column(Text, default="")


class ReleaseVoteRow(ReleaseBase):
    """One reviewer's signed vote; sealed (hidden from everyone else) until the votes are in."""

    __tablename__ = "release_votes"

    release_id: Mapped[str] = mapped_column(
        ForeignKey("release_requests.release_id"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    round: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    comments: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revealed: Mapped[int] = mapped_column(Integer, default=0)


def missing_release_tables(engine: Engine) -> list[str]:
    """The release tables the control-plane database lacks: none once it is migrated to head."""
    present = set(inspect(engine).get_table_names())
    return sorted(set(ReleaseBase.metadata.tables) - present)
