"""A job's record in the control plane and its ledger entries, kept in agreement.

A job is a row (``jobs``) with a lifecycle: ``queued`` when submitted (the queued rows are the
queue, :mod:`.job_queue`), ``running`` once a worker started it, then ``succeeded``,
``failed``, ``interrupted`` (its worker was told to stop) or ``cancelled`` (someone asked).
Whatever its outcome, it is in the ledger: a ``job`` entry when it starts (``status:
running``) and another when it ends, with its outcome (a job cancelled before it started has
only the second). Each is written as a recoverable operation (:mod:`fivesafes.ledger.intents`):
an ``intent`` entry promising the ``job`` entry to come, the row's change, then the ``job``
entry. Recovery (:mod:`.recovery`, whenever an environment is opened) settles an intent a dead
process left open from the row: a start is committed if the row left ``queued``, an end is
completed (the row given the promised outcome) and committed.

A job whose worker died with no intent open is still ``queued`` (claimed) or ``running`` in the
control plane: :func:`close_orphans` queues the first again (nothing of it ran) and ends the
second as ``failed``, saying which worker stopped and during which action, in both. After a
kill at any point the ledger and the control plane agree, and no job has two outcomes; a retry
is a new job.

Liveness is an exclusive ``flock`` on the job's folder's ``lock`` file, held by the process that
runs the job for as long as it does, released by the kernel however that process ends; and,
for workers on other hosts, the claim's lease (:mod:`.job_queue`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from fivesafes.failpoints import failpoint
from fivesafes.governance import ControlPlane
from fivesafes.governance.tables import Job
from fivesafes.ledger import ENTRY_KINDS
from fivesafes.ledger.entry import PatientDataError, check_subject
from fivesafes.ledger.intents import Intent
from fivesafes.store.config import DataDir

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

LOCK_FILE = "lock"
STUDY = "study"
"""The copy of the study a job runs, in the job's folder: its outputs are made there too."""
OPEN_STATES = ("queued", "running")
FINAL_STATES = ("succeeded", "failed", "interrupted", "cancelled")


class JobBusy(RuntimeError):
    """Another process holds the job (it is queued or running there)."""


@dataclass(frozen=True)
class JobOutput:
    """One file a job made, as anyone allowed to see the job may know it: never its bytes."""

    path: str
    sha256: str
    size: int
    privacy: str
    action: str
    run_id: str


@dataclass(frozen=True)
class JobRecordView:
    """A job as the control plane holds it."""

    job_id: str
    project_id: str
    person_id: str
    purpose: str
    state: str
    action: str | None
    study_sha256: str
    git_commit: str | None
    git_dirty: bool | None
    limits: dict[str, float]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    outputs: tuple[JobOutput, ...]
    grant: dict[str, tuple[str, ...]]
    worker: str | None = None
    """The worker that holds (or last held) the job, if one has claimed it."""
    cancel_requested_by: str | None = None


def _view(row: Job) -> JobRecordView:
    outputs = tuple(JobOutput(**o) for o in orjson.loads(row.outputs))
    grant = {t: tuple(c) for t, c in orjson.loads(row.grant).items()}
    return JobRecordView(
        row.job_id,
        row.project_id,
        row.person_id,
        row.purpose,
        row.state,
        row.action,
        row.study_sha256,
        row.git_commit,
        row.git_dirty,
        orjson.loads(row.limits),
        row.created_at,
        row.started_at,
        row.finished_at,
        row.error,
        outputs,
        grant,
        row.claimed_by,
        row.cancel_requested_by,
    )


@contextmanager
def holding(folder: Path) -> Iterator[None]:
    """Hold the job in ``folder`` for this process; ``JobBusy`` if another process does."""
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusy(f"job {folder.name} is being run by another process") from None
        yield
    finally:
        os.close(fd)


def _held(folder: Path) -> bool:
    """Whether a live process holds the job in ``folder``."""
    if not (folder / LOCK_FILE).exists():
        return False
    try:
        with holding(folder):
            return False
    except JobBusy:
        return True


def create(
    env: Environment,
    job_id: str,
    *,
    project_id: str,
    person_id: str,
    purpose: str,
    grant: Mapping[str, Sequence[str]],
    action: str | None,
    study_sha256: str,
    git: tuple[str | None, bool | None],
    limits: Mapping[str, float],
) -> None:
    """The job's row, ``queued``."""
    cp = env.cp
    with cp.transaction() as session:
        session.add(
            Job(
                job_id=job_id,
                project_id=project_id,
                person_id=person_id,
                purpose=purpose,
                grant=orjson.dumps({t: list(c) for t, c in grant.items()}).decode(),
                state="queued",
                action=action,
                study_sha256=study_sha256,
                git_commit=git[0],
                git_dirty=git[1],
                limits=orjson.dumps(dict(limits)).decode(),
                created_at=cp.now(),
                error="",
                outputs="[]",
            )
        )


def get(env: Environment, job_id: str) -> JobRecordView | None:
    return _get(env.cp, job_id)


def _get(cp: ControlPlane, job_id: str) -> JobRecordView | None:
    with cp.transaction() as session:
        row = session.get(Job, job_id)
        return _view(row) if row is not None else None


def of_project(env: Environment, project_id: str) -> list[JobRecordView]:
    with env.cp.transaction() as session:
        rows = session.scalars(
            select(Job).where(Job.project_id == project_id).order_by(Job.created_at)
        )
        return [_view(r) for r in rows]


def _said(error: str) -> dict[str, str]:
    """An error's words for the ledger, or only their hash if they look like personal data."""
    if not error:
        return {}
    try:
        check_subject({"error": error})
    except PatientDataError:
        return {"error_sha256": hashlib.sha256(error.encode()).hexdigest()}
    return {"error": error}


def _entry(
    job: JobRecordView, status: str, outputs: Mapping[str, str], error: str
) -> dict[str, Any]:
    """What the ledger says of a job: the public view keeps its id, project, commit, status and
    outputs' hashes; nothing in it can say anything about a patient."""
    return ENTRY_KINDS["job"].subject(
        job_id=job.job_id,
        project_id=job.project_id,
        commit=job.git_commit or "",
        study_sha256=job.study_sha256,
        action=job.action or "all",
        status=status,
        outputs=dict(outputs),
        **_said(error),
    )


def _made(data_dir: DataDir, job_id: str, promised: Mapping[str, str]) -> list[JobOutput]:
    """The outputs an end promised (path and hash), as the job's own run records describe them."""
    from fivesafes.jobs import JsonJobRecords
    from fivesafes.jobs.records import METADATA_DIR

    found = {}
    for run in JsonJobRecords(data_dir.jobs / job_id / STUDY / METADATA_DIR).history():
        for o in run.outputs:
            if promised.get(o.path) == o.sha256:
                found[o.path] = JobOutput(
                    o.path, o.sha256, o.size, o.privacy or "", o.action or run.action, run.job_id
                )
    return list(found.values())


def resolved(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    """Recovery's look at a job's intent: a start was made if the row left ``queued``; an end
    is made by giving the row the promised outcome, if it does not hold one already."""
    promised = intent.outcome
    job = _get(cp, promised["job_id"])
    if job is None:
        return False
    if promised.get("status") == "running":
        return job.state != "queued"
    if job.state not in FINAL_STATES:
        made = _made(data_dir, job.job_id, promised.get("outputs", {}))
        _settle(cp, job.job_id, promised["status"], promised.get("error", ""), made)
    return True


def start(env: Environment, job_id: str) -> None:
    """Announce the start, make the row ``running``, log the start."""
    job = get(env, job_id)
    assert job is not None and job.state == "queued"
    with env.cp.operation(
        "job", f"{job_id}.start", partial(resolved, env.cp, env.data_dir)
    ) as operation:
        operation.intend(_entry(job, "running", {}, ""), job.person_id)
        failpoint("job.start.after-intent")
        with env.cp.transaction() as session:
            row = session.get(Job, job_id)
            assert row is not None
            row.state, row.started_at = "running", env.cp.now()
        failpoint("job.start.after-change")
        operation.commit()


def finish(
    env: Environment, job_id: str, state: str, error: str, outputs: Sequence[JobOutput]
) -> bool:
    """Announce the outcome, give it to the row, log it; False (and nothing written) if the job
    already has an outcome (another process ended it first)."""
    assert state in FINAL_STATES
    hashes = {o.path: o.sha256 for o in outputs}
    with env.cp.operation(
        "job", f"{job_id}.end", partial(resolved, env.cp, env.data_dir)
    ) as operation:
        job = get(env, job_id)  # read under the operation's lock: one outcome a job
        assert job is not None
        if job.state in FINAL_STATES:
            return False
        operation.intend(_entry(job, state, hashes, error), job.person_id)
        failpoint("job.end.after-intent")
        _settle(env.cp, job_id, state, error, outputs)
        failpoint("job.end.after-change")
        operation.commit()
    return True


def _settle(
    cp: ControlPlane, job_id: str, state: str, error: str, outputs: Sequence[JobOutput]
) -> None:
    with cp.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.state, row.error, row.finished_at = state, error, cp.now()
        row.outputs = orjson.dumps([o.__dict__ for o in outputs]).decode()


def _clear_dead_extracts(env: Environment) -> None:
    """The cut copies of custodians' extracts that were killed: nobody can read them now."""
    from fivesafes.environment.extraction import EXTRACTS

    folder = env.data_dir.root / EXTRACTS
    for extract in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not _held(extract):
            shutil.rmtree(extract, ignore_errors=True)


def _doing(folder: Path) -> str:
    """Where a job was when its worker stopped, from its log: ``during action X``, ``after
    action X`` or ``before its first action``."""
    events = folder / "events.log"
    lines = events.read_text(encoding="utf-8").splitlines() if events.is_file() else []
    for line in reversed(lines):
        name, _, message = line.split(" ", 2)[-1].partition(": ")
        if name != "job":
            return (
                f"during action {name}"
                if message.startswith("running:")
                else (f"after action {name}")
            )
    return "before its first action"


def close_orphans(env: Environment) -> list[str]:
    """Settle the jobs whose worker is gone (:func:`.job_queue.worker_gone`; recovery settles
    open intents first): a claimed job that never started is queued again; a running one ends
    ``failed``, saying which worker stopped and where, its cut copies removed; a queued job
    someone asked to cancel ends ``cancelled``. The cut copies of killed extracts go too. The
    ids of the jobs ended (not those queued again)."""
    from fivesafes.environment import job_queue
    from fivesafes.ledger.intents import OperationBusy

    _clear_dead_extracts(env)
    now = env.cp.now()
    with env.cp.transaction() as session:
        candidates = list(session.scalars(select(Job).where(Job.state.in_(OPEN_STATES))))
    ended = []
    for row in sorted(candidates, key=lambda r: r.job_id):
        folder = env.jobs_root / row.job_id
        gone = job_queue.worker_gone(row, now, _held(folder))
        try:
            if (
                row.state == "queued"
                and row.cancel_requested_by
                and (row.claimed_by is None or gone)
            ):
                if finish(env, row.job_id, "cancelled", cancelled(row.cancel_requested_by), ()):
                    ended.append(row.job_id)
            elif row.state == "queued" and gone:
                job_queue.unclaim(env, row.job_id, row.claimed_by)
            elif row.state == "running" and gone:
                clear_scratch(folder)
                if finish(env, row.job_id, "failed", _stopped(row, now, folder), ()):
                    ended.append(row.job_id)
        except (OperationBusy, JobBusy):  # another process is settling it now
            continue
    return ended


def _stopped(row: Job, now: datetime, folder: Path) -> str:
    """Why a running job whose worker is gone failed, in words its project can act on."""
    expired = row.lease_expires_at is not None and row.lease_expires_at < now
    who = f"its worker {row.claimed_by}" if row.claimed_by else "the process running it"
    how = "its lease expired" if expired else "it no longer holds the job"
    return f"{who} stopped ({how}) {_doing(folder)}; submit the study again to run it"


def cancelled(person_id: str) -> str:
    """The reason a cancelled job gives."""
    return f"cancelled by {person_id}"


def clear_scratch(folder: Path) -> None:
    """The job's cut copies of the store and its actions' scratch folders: once it has ended
    nobody may read the first, and what a killed action left in the second is half-made."""
    from fivesafes.jobs.records import COPIES, METADATA_DIR, WORKSPACES  # the stage is big

    for scratch in (COPIES, WORKSPACES):
        shutil.rmtree(folder / STUDY / METADATA_DIR / scratch, ignore_errors=True)
