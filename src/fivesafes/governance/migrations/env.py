"""Alembic environment: always runs on the connection the control plane hands it.

Migrations run inside the application (on every open), never from an ``alembic.ini``, so there is
one way the schema comes to exist on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from alembic import context

from fivesafes.governance import codelist_tables, drafts  # noqa: F401  (declares their tables on Base)
from fivesafes.governance.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
