"""The job queue: a job's record says which worker holds it, until when, and whether someone
asked for it to stop.

Revision ID: 0007
Revises: 0006

``fivesafes submit`` no longer runs the job in the submitter's process: it queues it, and a
worker (``fivesafes worker``, or the one ``fivesafes serve`` starts) claims it with a
conditional update, so two workers never take the same job. The claim is a lease the worker
renews while the job runs; a lease that runs out names a worker that stopped, and its job is
ended (or, if it never started, queued again). ``cancel_requested_by`` is who asked for the job
to stop: a queued job is cancelled at once, a running one by its worker at its next heartbeat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        jobs.add_column(sa.Column("lease_expires_at", sa.DateTime(), nullable=True))
        jobs.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        jobs.add_column(sa.Column("cancel_requested_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("cancel_requested_by")
        jobs.drop_column("heartbeat_at")
        jobs.drop_column("lease_expires_at")
        jobs.drop_column("claimed_by")
