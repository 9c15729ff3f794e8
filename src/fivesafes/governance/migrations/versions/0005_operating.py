"""Operating an environment: second factors and sign-ins, identity checks, training, terms of
use, project documents, ceilings and closures, the datasets register, the incident register and
suspensions.

Revision ID: 0005
Revises: 0004

Declared in ``fivesafes.governance.operating_tables``; the drift test compares this with them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _person(primary: bool = False) -> sa.Column:
    return sa.Column(
        "person_id",
        sa.String(64),
        sa.ForeignKey("accounts.person_id", ondelete="CASCADE"),
        primary_key=primary,
        nullable=False,
    )


def _project() -> sa.Column:
    return sa.Column(
        "project_id", sa.String(64), sa.ForeignKey("projects.project_id"), primary_key=True
    )


def _by(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(64), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "second_factors",
        _person(primary=True),
        sa.Column("secret", sa.LargeBinary(64), nullable=False),
        _when("created_at"),
        _when("confirmed_at", nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "sign_ins",
        sa.Column("token_id", sa.String(32), sa.ForeignKey("tokens.token_id"), primary_key=True),
        sa.Column("factor", sa.String(16), nullable=False),
        _when("signed_in_at"),
    )
    op.create_table(
        "identity_checks",
        _person(primary=True),
        sa.Column("method", sa.String(200), nullable=False),
        _by("checked_by"),
        sa.Column("checked_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "training_records",
        sa.Column("record_id", sa.Integer(), primary_key=True, autoincrement=True),
        _person(),
        sa.Column("course", sa.String(100), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        _by("recorded_by"),
        _when("recorded_at"),
    )
    op.create_index("ix_training_records_person_id", "training_records", ["person_id"])
    op.create_table(
        "terms_acceptances",
        _person(primary=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        _when("accepted_at"),
    )
    op.create_table(
        "project_documents",
        _project(),
        sa.Column("document", sa.String(32), primary_key=True),
        sa.Column("reference", sa.String(300), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        _by("recorded_by"),
        _when("recorded_at"),
    )
    op.create_table(
        "project_ceilings",
        _project(),
        sa.Column("cpu_cores", sa.Float(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=False),
        sa.Column("wall_seconds", sa.Float(), nullable=False),
        _by("set_by"),
        _when("set_at"),
    )
    op.create_table(
        "project_closures",
        _project(),
        _by("closed_by"),
        _when("closed_at"),
        sa.Column("archive_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("dataset", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("agreement", sa.String(300), nullable=False),
        sa.Column("sensitivity", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=False),
        sa.Column("retention_until", sa.Date(), nullable=False),
        _by("registered_by"),
        _when("registered_at"),
        _by("approved_by", nullable=True),
        _when("approved_at", nullable=True),
        _when("deleted_at", nullable=True),
    )
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("affects_public", sa.Boolean(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _by("opened_by"),
        _when("opened_at"),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=True),
        _by("closed_by", nullable=True),
        _when("closed_at", nullable=True),
    )
    op.create_table(
        "suspensions",
        sa.Column("suspension_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.String(32), sa.ForeignKey("incidents.incident_id"), nullable=True
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        _by("suspended_by"),
        _when("suspended_at"),
        _by("lifted_by", nullable=True),
        _when("lifted_at", nullable=True),
    )


def downgrade() -> None:
    for table in (
        "suspensions",
        "incidents",
        "datasets",
        "project_closures",
        "project_ceilings",
        "project_documents",
        "terms_acceptances",
        "training_records",
        "identity_checks",
        "sign_ins",
        "second_factors",
    ):
        op.drop_table(table)
