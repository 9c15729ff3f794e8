"""Release tables: requests, their files, and reviewers' sealed votes.

Revision ID: 0003
Revises: 0002

The release stage owns these tables' definitions (``fivesafes.release.tables``); this migration is
how they come to exist, on SQLite and PostgreSQL alike, in the one linear history every control
plane is upgraded along on open. It lives here, not in ``release/``, because the migrations run
when governance opens the control plane, and governance may not import the stages it guards: so
the migration spells the tables out, and a test compares the result with the release stage's
declarations.

Control planes from before this revision had these tables made on first use by
``create_all``: where a table already exists it is adopted as it is (same columns, the drift test
keeps it so), and nothing in it is touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("release_requests", "release_files", "release_votes")


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=False)


def _release_id() -> sa.Column:
    """The first half of a file's or vote's key: the request it belongs to."""
    return sa.Column(
        "release_id",
        sa.String(32),
        sa.ForeignKey("release_requests.release_id"),
        primary_key=True,
    )


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "release_requests" not in existing:
        op.create_table(
            "release_requests",
            sa.Column("release_id", sa.String(32), primary_key=True),
            sa.Column("project_id", sa.String(64), nullable=False),
            sa.Column("requester", sa.String(64), nullable=False),
            sa.Column("study", sa.Text(), nullable=False),
            sa.Column("justification", sa.Text(), nullable=False),
            sa.Column("state", sa.String(32), nullable=False),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("request_sha256", sa.String(64), nullable=False),
            _when("created_at"),
            _when("updated_at"),
        )
        op.create_index("ix_release_requests_project_id", "release_requests", ["project_id"])
    if "release_files" not in existing:
        op.create_table(
            "release_files",
            _release_id(),
            sa.Column("path", sa.String(500), primary_key=True),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("job_id", sa.String(128), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("report", sa.Text(), nullable=False),
            sa.Column("exception", sa.Text(), nullable=False),
        )
    if "release_votes" not in existing:
        op.create_table(
            "release_votes",
            _release_id(),
            sa.Column("person_id", sa.String(64), primary_key=True),
            sa.Column("round", sa.Integer(), nullable=False),
            sa.Column("verdict", sa.String(16), nullable=False),
            sa.Column("comments", sa.Text(), nullable=False),
            sa.Column("key_id", sa.String(64), nullable=False),
            sa.Column("statement", sa.Text(), nullable=False),
            sa.Column("signature", sa.String(128), nullable=False),
            _when("voted_at"),
            sa.Column("revealed", sa.Integer(), nullable=False),
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
