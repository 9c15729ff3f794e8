"""What an operator looks at, signed in: the workers, the job queue and the data directory's
storage.

There is no register of workers beside the job records: a worker is known by the claims it
made (:mod:`.job_queue`), so the workers listed are those that hold a lease now and those that
held one lately, each with its last heartbeat. The queue is the job records by state, with how
long each queued job has waited. Storage is measured now, from the data directory, by area.

Each read is an operator's action (``operate``, as backup and usage are) and fails closed: a
no is a logged ``Refused``. None of them says anything about a patient: a job is shown by its
id, project, state and times, never its error text (a failed action's words can quote data;
they are the project's to read) nor its outputs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from fivesafes.environment import job_queue
from fivesafes.environment.extraction import EXTRACTS
from fivesafes.environment.job_records import FINAL_STATES, OPEN_STATES
from fivesafes.environment.refusals import refusing
from fivesafes.environment.usage import size_on_disk
from fivesafes.governance import Action
from fivesafes.governance.control import LEDGER_FILE
from fivesafes.governance.tables import Job
from fivesafes.release.office import HISTORY_FOLDER, RELEASED_FOLDER
from fivesafes.store.database import QUARANTINE_COLUMNS, Store

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

LATELY = 20
"""How many workers that hold no lease now are listed, most recently heard from first."""
FAILED_SHOWN = 20
"""How many of the latest failed jobs the queue lists."""
QUARANTINE_TEXT = tuple(name for name, _ in QUARANTINE_COLUMNS)


def _authorise(env: Environment, credential: str) -> None:
    with env.cp.transaction() as session:
        env.cp.authenticate(session, credential, Action.OPERATE)


@dataclass(frozen=True)
class WorkerView:
    """A worker as its claims show it: ``holding`` the open jobs it holds a lease on now."""

    worker_id: str
    host: str
    holding: tuple[str, ...]
    last_heartbeat: datetime | None
    lease_expires_at: datetime | None
    """When the latest lease it holds or held runs out unless renewed."""
    jobs_claimed: int
    state: str
    """``holding a lease``, ``lease run out`` (an open job whose worker stopped renewing: it
    is settled at the next start or claim) or ``idle``."""


def workers(env: Environment, credential: str) -> tuple[WorkerView, ...]:
    """The workers holding leases, then the latest others, by last heartbeat (an operator)."""
    with refusing(env.cp, "view_workers"):
        _authorise(env, credential)
        now = env.cp.now()
        with env.cp.transaction() as session:
            rows = [
                (r.claimed_by, r.job_id, r.state, r.heartbeat_at, r.lease_expires_at)
                for r in session.scalars(select(Job).where(Job.claimed_by.is_not(None)))
            ]
        claims: dict[str, list[tuple[str, str, datetime | None, datetime | None]]] = {}
        for worker, job_id, state, beat, lease in rows:
            claims.setdefault(str(worker), []).append((job_id, state, beat, lease))
        found = [_worker(worker, held, now) for worker, held in claims.items()]
        found.sort(key=lambda w: (w.state != "holding a lease", _newest_first(w.last_heartbeat)))
        holding = [w for w in found if w.state == "holding a lease"]
        return tuple(holding + [w for w in found if w not in holding][:LATELY])


def _newest_first(when: datetime | None) -> float:
    return -when.timestamp() if when is not None else 0.0


def _worker(
    worker: str, held: list[tuple[str, str, datetime | None, datetime | None]], now: datetime
) -> WorkerView:
    open_ = [h for h in held if h[1] in OPEN_STATES]
    leased = tuple(sorted(h[0] for h in open_ if h[3] is not None and h[3] >= now))
    beats = [h[2] for h in held if h[2] is not None]
    leases = [h[3] for h in held if h[3] is not None]
    state = "holding a lease" if leased else ("lease run out" if open_ else "idle")
    return WorkerView(
        worker,
        worker.rsplit(":", 2)[0],
        leased,
        max(beats) if beats else None,
        max(leases) if leases else None,
        len(held),
        state,
    )


@dataclass(frozen=True)
class QueuedJob:
    """A job in the queue or running: who holds it, and how long it has waited (or run)."""

    job_id: str
    project_id: str
    state: str
    created_at: datetime
    started_at: datetime | None
    worker: str | None
    waited_seconds: float
    """Queued: since it was submitted. Running: how long it waited before it started."""


@dataclass(frozen=True)
class FailedJob:
    job_id: str
    project_id: str
    finished_at: datetime | None


@dataclass(frozen=True)
class QueueView:
    counts: dict[str, int]
    """Jobs by state, every state named (0 where none)."""
    queued: tuple[QueuedJob, ...]
    """Waiting, oldest first."""
    running: tuple[QueuedJob, ...]
    oldest_wait_seconds: float | None
    failed: tuple[FailedJob, ...]
    """The latest failed jobs, newest first."""
    suspended: str | None
    """Why no job starts now (the environment is suspended), or None."""


def queues(env: Environment, credential: str) -> QueueView:
    """The job queue: jobs by state, what waits and for how long, what runs where, the latest
    failures, and whether a suspension holds the queue (an operator)."""
    with refusing(env.cp, "view_queues"):
        _authorise(env, credential)
        now = env.cp.now()
        with env.cp.transaction() as session:
            by_state = select(Job.state, func.count()).group_by(Job.state)
            counted = dict(session.execute(by_state).all())
            open_rows = list(
                session.scalars(
                    select(Job).where(Job.state.in_(OPEN_STATES)).order_by(Job.created_at)
                )
            )
            failed_rows = session.execute(
                select(Job.job_id, Job.project_id, Job.finished_at)
                .where(Job.state == "failed")
                .order_by(Job.finished_at.desc())
                .limit(FAILED_SHOWN)
            ).all()
            open_jobs = [
                QueuedJob(
                    r.job_id,
                    r.project_id,
                    r.state,
                    r.created_at,
                    r.started_at,
                    r.claimed_by,
                    ((r.started_at or now) - r.created_at).total_seconds(),
                )
                for r in open_rows
            ]
        queued = tuple(j for j in open_jobs if j.state == "queued")
        return QueueView(
            {s: int(counted.get(s, 0)) for s in (*OPEN_STATES, *FINAL_STATES)},
            queued,
            tuple(j for j in open_jobs if j.state == "running"),
            max((j.waited_seconds for j in queued), default=None),
            tuple(FailedJob(*f) for f in failed_rows),
            job_queue.suspended(env),
        )


@dataclass(frozen=True)
class Area:
    """One part of the data directory: what it holds, and its size on disk now."""

    name: str
    holds: str
    bytes: int


@dataclass(frozen=True)
class StorageView:
    areas: tuple[Area, ...]
    """Every area; together they are the whole data directory (``other``: keys, the outbox,
    operations' locks and what else is there), and a SQLite control plane wherever its URL
    puts it."""
    total_bytes: int
    quarantined_records: int
    quarantine_text_bytes: int
    """The quarantine's text before compression (it lives in the store's file)."""
    disk_bytes: int
    disk_free_bytes: int


def _store_files(env: Environment) -> list[Path]:
    """The store's file and its siblings (a version being written, DuckDB's write-ahead log)."""
    database = env.data_dir.database
    return [p for p in database.parent.glob(database.name + "*") if p.is_file()]


def _control_plane_files(env: Environment) -> list[Path]:
    """The SQLite control plane's file and its journal files, wherever its URL puts them (by
    default in the data directory)."""
    database = env.cp.engine.url.database
    if not database:
        return []
    main = Path(database)
    return [p for p in main.parent.glob(main.name + "*") if p.is_file()]


def _quarantine(env: Environment) -> tuple[int, int]:
    """Records in the quarantine, and the bytes of their text. The quarantine is a table in the
    store's file, whose blocks it shares with other tables, so its share of the file cannot be
    measured apart: its text, before compression, says how much it holds."""
    if not env.data_dir.database.exists():
        return 0, 0
    text = " + ".join(f"coalesce(strlen(CAST({c} AS VARCHAR)), 0)" for c in QUARANTINE_TEXT)
    with Store.open(env.data_dir, read_only=True) as store:
        row = store.con.execute(
            f"SELECT count(*), coalesce(sum({text}), 0) FROM meta.quarantine"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def storage(env: Environment, credential: str) -> StorageView:
    """The data directory's use of disk by area, now, and the disk's room (an operator)."""
    with refusing(env.cp, "view_storage"):
        _authorise(env, credential)
        root = env.data_dir.root
        records, quarantine_text = _quarantine(env)
        parts = {
            "store": (
                "the DuckDB store: identifiable and analysis layers, load history, quarantine",
                _store_files(env),
            ),
            "workspaces": (
                "jobs' folders: studies, their outputs and logs; extracts being made",
                [env.data_dir.jobs, root / EXTRACTS],
            ),
            "releases": (
                "released outputs and the release history",
                [root / RELEASED_FOLDER, root / HISTORY_FOLDER],
            ),
            "ledger": ("the signed ledger", list(root.glob(LEDGER_FILE + "*"))),
            "control plane": (
                "accounts, projects, jobs and opt-outs (SQLite)",
                _control_plane_files(env),
            ),
        }
        if env.cp.engine.dialect.name != "sqlite":  # both are tables in the database server
            elsewhere = "in the PostgreSQL database, not in this directory: measure it there"
            parts["ledger"] = (f"the signed ledger, {elsewhere}", [])
            parts["control plane"] = (f"accounts, projects, jobs and opt-outs, {elsewhere}", [])
        counted = {p.resolve() for _, paths in parts.values() for p in paths}
        areas = [
            Area(name, holds, sum(size_on_disk(p) for p in paths))
            for name, (holds, paths) in parts.items()
        ]
        rest = sum(size_on_disk(p) for p in root.iterdir() if p.resolve() not in counted)
        areas.append(Area("other", "keys, the outbox, operations' locks", rest))
        disk = shutil.disk_usage(root)
        total = sum(a.bytes for a in areas)
        return StorageView(tuple(areas), total, records, quarantine_text, disk.total, disk.free)
