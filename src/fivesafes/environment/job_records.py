"""A job's record in the control plane and its two ledger entries, kept in agreement.

A job is a row (``jobs``) with a lifecycle: ``queued`` when submitted, ``running`` once
started, then ``succeeded``, ``failed`` or ``interrupted``. Whatever its outcome, it is in the
ledger twice: an intent entry when it starts (``status: running``) and an outcome entry when it
ends. Each pair of writes goes ledger first, then the row:

- started: the intent entry, then the row becomes ``running``;
- ended: the outcome entry, then the row takes the outcome.

So a kill between two writes leaves the ledger one step ahead, never behind, and
:func:`recover` (run whenever an environment is opened) closes what a dead process left
open: a job whose lock is no longer held (the process that held it is gone) but whose row is
not final takes the outcome the ledger already holds, or, if the ledger has none, is written
down as ``interrupted`` in both. After a kill at any point the ledger and the control plane
agree, and no job has two outcomes.

Liveness is an exclusive ``flock`` on the job's folder's ``lock`` file, held for as long as the
job is queued or running by the process that has it, and released by the kernel however that
process ends. (A job service with workers on several hosts, issue 14, will need a lease in the
control plane instead; the lifecycle and the entries stay as they are.)
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from fivesafes.governance.tables import Job
from fivesafes.ledger import PatientDataError

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

LOCK_FILE = "lock"
STUDY = "study"
"""The copy of the study a job runs, in the job's folder: its outputs are made there too."""
OPEN_STATES = ("queued", "running")
FINAL_STATES = ("succeeded", "failed", "interrupted")
INTERRUPTED = "the process running it stopped before it finished"


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
    with env.cp.transaction() as session:
        row = session.get(Job, job_id)
        return _view(row) if row is not None else None


def of_project(env: Environment, project_id: str) -> list[JobRecordView]:
    with env.cp.transaction() as session:
        rows = session.scalars(
            select(Job).where(Job.project_id == project_id).order_by(Job.created_at)
        )
        return [_view(r) for r in rows]


def _entry(job: JobRecordView, status: str, **more: Any) -> dict[str, Any]:
    """What the ledger says of a job: the public view keeps its id, project, commit, status and
    outputs' hashes; nothing in it can say anything about a patient."""
    subject: dict[str, Any] = {
        "job_id": job.job_id,
        "project_id": job.project_id,
        "commit": job.git_commit or "",
        "study_sha256": job.study_sha256,
        "action": job.action or "all",
        "status": status,
    }
    return subject | more


def _log(env: Environment, subject: dict[str, Any], actor: str) -> None:
    try:
        env.cp.log("job", subject, actor)
    except PatientDataError:  # an error message that happened to look like personal data
        error = str(subject.pop("error", ""))
        subject["error_sha256"] = hashlib.sha256(error.encode()).hexdigest()
        env.cp.log("job", subject, actor)


def start(env: Environment, job_id: str) -> None:
    """The intent entry, then the row ``running``."""
    job = get(env, job_id)
    assert job is not None and job.state == "queued"
    _log(env, _entry(job, "running"), job.person_id)
    with env.cp.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.state, row.started_at = "running", env.cp.now()


def finish(
    env: Environment, job_id: str, state: str, error: str, outputs: Sequence[JobOutput]
) -> None:
    """The outcome entry, then the row takes the outcome."""
    job = get(env, job_id)
    assert job is not None and state in FINAL_STATES
    hashes = {o.path: o.sha256 for o in outputs}
    _log(env, _entry(job, state, outputs=hashes, error=error), job.person_id)
    _settle(env, job_id, state, error, outputs)


def _settle(
    env: Environment, job_id: str, state: str, error: str, outputs: Sequence[JobOutput]
) -> None:
    with env.cp.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.state, row.error, row.finished_at = state, error, env.cp.now()
        row.outputs = orjson.dumps([o.__dict__ for o in outputs]).decode()


def _outcomes(env: Environment, job_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The outcome entries the ledger already holds for these jobs."""
    found: dict[str, dict[str, Any]] = {}
    for raw in env.cp.ledger.entries():
        entry = orjson.loads(raw)
        subject = entry["subject"]
        if (
            entry["kind"] == "job"
            and subject.get("job_id") in job_ids
            and subject.get("status") in FINAL_STATES
        ):
            found[subject["job_id"]] = subject
    return found


def _clear_dead_extracts(env: Environment) -> None:
    """The cut copies of custodians' extracts that were killed: nobody can read them now."""
    from fivesafes.environment.extraction import EXTRACTS

    folder = env.data_dir.root / EXTRACTS
    for extract in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not _held(extract):
            shutil.rmtree(extract, ignore_errors=True)


def recover(env: Environment) -> list[str]:
    """Close the jobs a dead process left open (their cut copies go with them, as do those of
    killed extracts); the ids of the jobs closed."""
    _clear_dead_extracts(env)
    with env.cp.transaction() as session:
        candidates = [
            r.job_id for r in session.scalars(select(Job).where(Job.state.in_(OPEN_STATES)))
        ]
    orphans = {j for j in candidates if not _held(env.jobs_root / j)}
    if not orphans:
        return []
    from fivesafes.jobs.records import COPIES, METADATA_DIR  # only now: the jobs stage is big

    known = _outcomes(env, orphans)
    for job_id in sorted(orphans):
        shutil.rmtree(env.jobs_root / job_id / STUDY / METADATA_DIR / COPIES, ignore_errors=True)
        outcome = known.get(job_id)
        if outcome is None:
            finish(env, job_id, "interrupted", INTERRUPTED, ())
        else:  # the ledger got the outcome; the row did not
            _settle(env, job_id, outcome["status"], outcome.get("error", ""), ())
    return sorted(orphans)
