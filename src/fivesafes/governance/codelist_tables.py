"""The control-plane tables of code lists: each list, its versions, and their publications.

A version is written once and never changed: every change to a list (codes added or removed)
is a new row here, so a study that used version 3 can always be shown exactly what version 3
held. Publishing a version is a row of its own (who, when, and the ledger entry that records
it) rather than a change to the version, so no row of ``codelist_versions`` is ever updated.
Declared on the same ``Base`` as :mod:`.tables` (so the migrations' drift test covers them)
and made by migration 0008.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fivesafes.governance.tables import Base, UTCDateTime


class CodelistRecord(Base):
    """A code list: its slug (how studies and commands name it), title and code system."""

    __tablename__ = "codelists"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    code_system: Mapped[str] = mapped_column(String(32))
    """The name a study uses for the system (``snomedct``, ``icd10``, ``dmd``...)."""
    owner: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CodelistVersion(Base):
    """One version of a list's codes, immutable: ``codes`` is canonical JSON of
    ``[[code, term], ...]`` sorted by code, ``codes_sha256`` its hash."""

    __tablename__ = "codelist_versions"

    slug: Mapped[str] = mapped_column(ForeignKey("codelists.slug"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    codes: Mapped[str] = mapped_column(Text)
    codes_sha256: Mapped[str] = mapped_column(String(64), index=True)
    change: Mapped[str] = mapped_column(Text)
    """What this version changed, in words (``added 2 codes: ...``)."""
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CodelistPublication(Base):
    """A published version: who published it, when, and its ledger entry's index."""

    __tablename__ = "codelist_publications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["slug", "version"], ["codelist_versions.slug", "codelist_versions.version"]
        ),
    )

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    published_by: Mapped[str] = mapped_column(ForeignKey("accounts.person_id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int] = mapped_column(BigInteger)
