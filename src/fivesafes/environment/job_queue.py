"""The job queue: the control plane's job records, claimed by workers under a lease.

There is no queue beside the records: a ``queued`` row nobody has claimed is a job waiting. A
worker claims one with a conditional update (``... WHERE state = 'queued' AND claimed_by IS
NULL``) and takes it only if that update changed one row, so on SQLite and on PostgreSQL alike
two workers never take the same job. The claim is a **lease**: the worker renews it while the job
runs (:class:`Heartbeat`), and reads at each renewal whether someone asked for the job to stop.

Why a lease as well as the job folder's ``flock`` (:func:`.job_records.holding`): the kernel
drops a ``flock`` the moment its process dies, which is the quickest and surest sign on one
host, but a worker on another host sharing the control plane cannot be seen that way. So a
claim names its worker's host (:func:`new_worker_id`); a job is taken to have lost its worker
when its lease has run out, or, for a worker on this host, when nobody holds its folder any more
while it is ``running`` or the worker's process has ended (:func:`worker_gone`). A job held on
this host is never taken from its worker, lease or no lease.

What becomes of a job whose worker is gone is :func:`.job_records.close_orphans`' to decide (at
every start of an environment, and before every claim): claimed but never started, it is queued
again (nothing of it ran); running, it ends ``failed`` with the reason, in the control plane and
the ledger. Nothing in this module writes the ledger.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from fivesafes.environment.leases import LEASE_SECONDS
from fivesafes.governance.people import active_suspension
from fivesafes.governance.tables import Job
from fivesafes.jobs.process import stop_running

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def new_worker_id() -> str:
    """A worker's name in the records: its host and process, and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def on_this_host(worker_id: str) -> bool:
    return worker_id.rsplit(":", 2)[0] == socket.gethostname()


def _process_gone(worker_id: str) -> bool:
    """Whether the process a worker id on this host names has ended (a pid reused since only
    makes it look alive: the lease decides then)."""
    try:
        os.kill(int(worker_id.rsplit(":", 2)[1]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def _changed(result: object) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


def claim(env: Environment, job_id: str, worker_id: str, lease: float = LEASE_SECONDS) -> bool:
    """Take the queued job ``job_id`` for ``worker_id``, if nobody has it and nobody asked for it
    to stop; whether it was taken. Atomic: of two workers asking at once, one gets it."""
    now = env.cp.now()
    with env.cp.transaction() as session:
        taken = session.execute(
            update(Job)
            .where(
                Job.job_id == job_id,
                Job.state == "queued",
                Job.claimed_by.is_(None),
                Job.cancel_requested_by.is_(None),
            )
            .values(
                claimed_by=worker_id,
                lease_expires_at=now + timedelta(seconds=lease),
                heartbeat_at=now,
            )
        )
        return _changed(taken) == 1


def claim_next(env: Environment, worker_id: str, lease: float = LEASE_SECONDS) -> str | None:
    """Take the oldest queued job nobody has, for ``worker_id``; its id, or None if none is
    waiting (a job another worker takes first is passed over, never shared)."""
    with env.cp.transaction() as session:
        waiting = list(
            session.scalars(
                select(Job.job_id)
                .where(
                    Job.state == "queued",
                    Job.claimed_by.is_(None),
                    Job.cancel_requested_by.is_(None),
                )
                .order_by(Job.created_at, Job.job_id)
                .limit(16)
            )
        )
    for job_id in waiting:
        if claim(env, job_id, worker_id, lease):
            return job_id
    return None


def unclaim(env: Environment, job_id: str, worker_id: str | None) -> bool:
    """Put a claimed job that never started back in the queue; whether it was still claimed so
    (by ``worker_id``, or by whoever held it when that is None)."""
    with env.cp.transaction() as session:
        held = Job.claimed_by.is_not(None) if worker_id is None else Job.claimed_by == worker_id
        freed = session.execute(
            update(Job)
            .where(Job.job_id == job_id, Job.state == "queued", held)
            .values(claimed_by=None, lease_expires_at=None, heartbeat_at=None)
        )
        return _changed(freed) == 1


class Beat(Enum):
    """What a worker learns when it renews its lease."""

    KEEP = "keep"
    """The job is still the worker's: go on."""
    CANCEL = "cancel"
    """Someone asked for the job to stop: stop it, and end it as cancelled."""
    LOST = "lost"
    """The job is no longer the worker's (its lease ran out and it was ended): stop, write
    nothing."""


def renew(env: Environment, job_id: str, worker_id: str, lease: float = LEASE_SECONDS) -> Beat:
    """Renew ``worker_id``'s lease on ``job_id``, and say whether to go on."""
    now = env.cp.now()
    with env.cp.transaction() as session:
        kept = session.execute(
            update(Job)
            .where(
                Job.job_id == job_id,
                Job.claimed_by == worker_id,
                Job.state.in_(("queued", "running")),
            )
            .values(lease_expires_at=now + timedelta(seconds=lease), heartbeat_at=now)
        )
        if _changed(kept) != 1:
            return Beat.LOST
        asked = session.scalar(select(Job.cancel_requested_by).where(Job.job_id == job_id))
    return Beat.KEEP if asked is None else Beat.CANCEL


def ask_to_cancel(env: Environment, job_id: str, person_id: str) -> bool:
    """Record that ``person_id`` asked for the open job to stop; whether it is still open (the
    first to ask is the one recorded)."""
    with env.cp.transaction() as session:
        asked = session.execute(
            update(Job)
            .where(
                Job.job_id == job_id,
                Job.state.in_(("queued", "running")),
                Job.cancel_requested_by.is_(None),
            )
            .values(cancel_requested_by=person_id)
        )
        if _changed(asked) == 1:
            return True
        state = session.scalar(select(Job.state).where(Job.job_id == job_id))
    return state in ("queued", "running")


def suspended(env: Environment) -> str | None:
    """Why no job may start now (the environment is suspended for an incident), or None: while
    it is, workers claim nothing and queued jobs wait."""
    with env.cp.transaction() as session:
        held = active_suspension(session)
        return None if held is None else f"the environment is suspended ({held.reason})"


def unclaimed(env: Environment, job_id: str) -> bool:
    """Whether the job is queued with no worker holding it (a cancel can end it at once)."""
    with env.cp.transaction() as session:
        row = session.get(Job, job_id)
        return row is not None and row.state == "queued" and row.claimed_by is None


def worker_gone(row: Job, now: datetime, held: bool) -> bool:
    """Whether the open job ``row`` has lost its worker: its lease ran out (unless its folder is
    ``held`` on this host: its worker is alive here); or its worker is on this host and either
    the job is running and nobody holds its folder, or the worker's process has ended. ``held``
    is whether a live process holds the job's folder."""
    if held:
        return False
    if row.claimed_by is None:  # run without a worker, by a process now gone
        return row.state == "running"
    if on_this_host(row.claimed_by) and (row.state == "running" or _process_gone(row.claimed_by)):
        return True
    return row.lease_expires_at is not None and row.lease_expires_at < now


@dataclass
class Heartbeat:
    """Renew a job's lease every ``every`` seconds from a thread of the worker's own, while the
    job runs in the worker's main thread; on a cancel (or a lost lease) kill the action running,
    and say so in :attr:`stopping`, which the worker reads between actions."""

    env: Environment
    job_id: str
    worker_id: str
    lease: float = LEASE_SECONDS
    stopping: Beat | None = None

    def __post_init__(self) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat {self.job_id}", daemon=True
        )

    def check(self) -> Beat:
        """Renew now (from the worker's own thread), and remember a reason to stop."""
        beat = renew(self.env, self.job_id, self.worker_id, self.lease)
        if beat is not Beat.KEEP and self.stopping is None:
            self.stopping = beat
        return beat

    def _beat(self) -> None:
        while not self._done.wait(self.lease / 3):
            try:
                self.check()
            except Exception:  # the database is away: the lease may run out, and the job with it
                continue
            if self.stopping is not None:
                stop_running()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
