"""Release delegates: who may approve the release of outputs derived from each dataset.

Revision ID: 0010
Revises: 0009

Egress is a permission of individual people given by each dataset's information asset owner
(SATRE 3.1.06): a row records one delegation, who recorded it on the owner's authority, who
confirmed it and, once withdrawn, who withdrew it. Rows are kept, never deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_delegates",
        sa.Column("delegation_id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_by", sa.String(64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_release_delegates_dataset", "release_delegates", ["dataset"])


def downgrade() -> None:
    op.drop_index("ix_release_delegates_dataset", "release_delegates")
    op.drop_table("release_delegates")
