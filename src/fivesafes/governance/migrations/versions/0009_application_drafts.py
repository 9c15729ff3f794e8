"""Application drafts: an applicant's unfinished application form, private to them.

Revision ID: 0009
Revises: 0008

An analyst saves the one application form as it stands and submits it later; a draft is not a
project (no public list or approvers' queue holds it) and is marked once it is submitted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application_drafts",
        sa.Column("draft_id", sa.String(40), primary_key=True),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_application_drafts_person_id", "application_drafts", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_application_drafts_person_id", "application_drafts")
    op.drop_table("application_drafts")
