"""Enrolment codes, people's contact addresses, and jobs as records in the control plane.

Revision ID: 0006
Revises: 0005

A new account no longer comes with a token handed to its creator: it gets a one-time enrolment
code, delivered to the person at their contact address, which they redeem for their own token.
Jobs run inside the environment are rows with a lifecycle, so that a queue and workers can be
put in front of them and a job left running by a dead process can be found and closed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as accounts:
        accounts.add_column(sa.Column("contact", sa.String(320), nullable=True))
    op.create_table(
        "enrolments",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    op.create_index("ix_enrolments_person_id", "enrolments", ["person_id"])
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column(
            "project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False
        ),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("grant", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("study_sha256", sa.String(64), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("limits", sa.Text(), nullable=False),
        _when("created_at"),
        _when("started_at", nullable=True),
        _when("finished_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
    )
    op.create_index("ix_jobs_project_id", "jobs", ["project_id"])
    op.create_index("ix_jobs_state", "jobs", ["state"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("enrolments")
    with op.batch_alter_table("accounts") as accounts:
        accounts.drop_column("contact")
