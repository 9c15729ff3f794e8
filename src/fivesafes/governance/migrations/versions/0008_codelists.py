"""Code lists: each list, its immutable versions, and their publications.

Revision ID: 0008
Revises: 0007

Analysts build code lists from the codes that occur in the data; each change is a new version
(never an update of an old one) and a published version is what a study refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _person(name: str) -> sa.Column:
    return sa.Column(name, sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "codelists",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("code_system", sa.String(32), nullable=False),
        _person("owner"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "codelist_versions",
        sa.Column("slug", sa.String(64), sa.ForeignKey("codelists.slug"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("codes", sa.Text(), nullable=False),
        sa.Column("codes_sha256", sa.String(64), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        _person("created_by"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_codelist_versions_codes_sha256", "codelist_versions", ["codes_sha256"])
    op.create_table(
        "codelist_publications",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        _person("published_by"),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["slug", "version"], ["codelist_versions.slug", "codelist_versions.version"]
        ),
    )


def downgrade() -> None:
    op.drop_table("codelist_publications")
    op.drop_index("ix_codelist_versions_codes_sha256", "codelist_versions")
    op.drop_table("codelist_versions")
    op.drop_table("codelists")
