"""The first control-plane schema: accounts, tokens, keys, projects, decisions, opt-outs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("public_name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        _when("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _when("expires_at"),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("accredited_until", sa.Date(), nullable=True),
        _when("disabled_at", nullable=True),
        sa.Column("identity_provider", sa.String(64), nullable=False),
        sa.Column("external_subject", sa.String(255), nullable=True),
        sa.UniqueConstraint("identity_provider", "external_subject"),
    )
    op.create_table(
        "account_roles",
        sa.Column(
            "person_id",
            sa.String(64),
            sa.ForeignKey("accounts.person_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(32), primary_key=True),
    )
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _when("created_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
    )
    op.create_index("ix_tokens_person_id", "tokens", ["person_id"])
    op.create_table(
        "person_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        _when("registered_at"),
        _when("revoked_at", nullable=True),
    )
    op.create_index("ix_person_keys_person_id", "person_keys", ["person_id"])
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        _when("created_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("approved_until", sa.Date(), nullable=True),
    )
    op.create_table(
        "applications",
        sa.Column(
            "project_id", sa.String(64), sa.ForeignKey("projects.project_id"), primary_key=True
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("form_hash", sa.String(64), nullable=False),
        sa.Column(
            "submitted_by", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False
        ),
        _when("submitted_at"),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("key_id", sa.String(64), sa.ForeignKey("person_keys.key_id"), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        _when("decided_at"),
    )
    op.create_index("ix_decisions_project_id", "decisions", ["project_id"])
    op.create_table(
        "waiting_steps",
        sa.Column("step_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        _when("started_at"),
        _when("ended_at", nullable=True),
    )
    op.create_index("ix_waiting_steps_project_id", "waiting_steps", ["project_id"])
    op.create_table(
        "opt_outs",
        sa.Column("nhs_number", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        _when("recorded_at"),
        sa.Column("source", sa.String(64), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("nhs_number", sa.String(10), primary_key=True),
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        _when("recorded_at"),
    )
    op.create_table(
        "opt_outs_applied",
        sa.Column("applied_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("excluded", sa.Integer(), nullable=False),
        _when("applied_at"),
    )


def downgrade() -> None:
    for table in (
        "opt_outs_applied",
        "consents",
        "opt_outs",
        "waiting_steps",
        "decisions",
        "applications",
        "projects",
        "person_keys",
        "tokens",
        "account_roles",
        "accounts",
    ):
        op.drop_table(table)
