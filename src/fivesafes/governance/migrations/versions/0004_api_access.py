"""The APIs' tables: account links (ODS code, NHS number), OAuth2 clients, token scopes and
applied requests.

Revision ID: 0004
Revises: 0003

Clinicians read the records of people in their organisation's care, so an account carries its
organisation's ODS code; a person reads and manages only their own record, so theirs carries
their NHS number. Systems get short-lived tokens with scopes through OAuth2 client credentials.
A change request's ``X-Request-ID`` is kept with its answer so that a retry is applied once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account_links",
        sa.Column(
            "person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), primary_key=True
        ),
        sa.Column("ods_code", sa.String(16), nullable=True),
        sa.Column("nhs_number", sa.String(10), nullable=True, unique=True),
    )
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("accounts.person_id"), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        _when("created_at"),
        _when("revoked_at", nullable=True),
    )
    op.create_index("ix_oauth_clients_person_id", "oauth_clients", ["person_id"])
    op.create_table(
        "token_scopes",
        sa.Column("token_id", sa.String(32), sa.ForeignKey("tokens.token_id"), primary_key=True),
        sa.Column(
            "client_id", sa.String(64), sa.ForeignKey("oauth_clients.client_id"), nullable=False
        ),
        sa.Column("scopes", sa.Text(), nullable=False),
    )
    op.create_table(
        "applied_requests",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(32), nullable=True),
        _when("applied_at"),
    )


def downgrade() -> None:
    for table in ("applied_requests", "token_scopes", "oauth_clients", "account_links"):
        op.drop_table(table)
