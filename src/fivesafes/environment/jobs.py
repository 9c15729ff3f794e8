"""Jobs as use cases: submit a study to run on a project's data inside the environment, and see
what became of it.

A job against real data runs where the data is, and stays there. :func:`submit` authorises the
caller (a member of the approved project, on its approved data), copies the study's code into
the job's own folder under the data directory (owner-only), records the job (queued) and runs
it: every action sandboxed, its extractions on a cut copy that holds only the approved data,
without anyone whose opt-out applies and with shared data only of the consenting
(:mod:`.extraction`). Its workspaces and outputs never leave that folder. What the analyst gets
back is what a face may show: the job's state, its log (what the environment did, step by step:
the actions' own output can quote the data it read, so it stays inside), and its outputs by
name, privacy and hash; files leave only through a release (:mod:`.releases`), and
``highly_sensitive`` ones never.

Running a job is a function of its record (:func:`run`), so a queue and workers can be put in
front of it (issue 14): today :func:`submit` calls it at once, in the submitter's process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment import codelists, job_records
from fivesafes.environment.extraction import cut_for
from fivesafes.environment.job_records import STUDY, JobOutput, JobRecordView, holding
from fivesafes.environment.refusals import RefusalKind, Refused, refusing
from fivesafes.environment.studies import checked_out
from fivesafes.failpoints import failpoint
from fivesafes.governance import Action, Purpose, Role, authorise_job, list_projects
from fivesafes.governance.project_records import bounded
from fivesafes.governance.projects import JobAuthorisation
from fivesafes.jobs import (
    Backend,
    JobResult,
    JsonJobRecords,
    Limits,
    RunOptions,
    load_project,
    run_project,
    sandbox_available,
)
from fivesafes.jobs.records import METADATA_DIR
from fivesafes.jobs.runner import git_state
from fivesafes.jobs.submission import copy_study

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

EVENTS_FILE = "events.log"
"""A job's log: what the environment did for it, line by line (never the actions' own output)."""
Events = Callable[[str, str], None]


@dataclass(frozen=True)
class ActionRun:
    """What one action of a job did."""

    action: str
    status: str
    run_id: str | None
    seconds: float | None
    reason: str | None


@dataclass(frozen=True)
class JobView:
    """A job as its project (and the custodian) may see it."""

    record: JobRecordView
    runs: tuple[ActionRun, ...]

    @property
    def job_id(self) -> str:
        return self.record.job_id

    @property
    def state(self) -> str:
        return self.record.state

    @property
    def outputs(self) -> tuple[JobOutput, ...]:
        return self.record.outputs


def _new_id() -> str:
    return f"job-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def _folder(env: Environment, job_id: str) -> Path:
    if not job_id.startswith("job-") or "/" in job_id or job_id in ("job-", "job-.."):
        raise Refused(f"{job_id!r} is not a job id")
    return env.jobs_root / job_id


def _ready(env: Environment) -> None:
    """What a job against the store needs before anything is recorded for it."""
    if not env.data_dir.database.is_file():
        raise Refused(
            f"no store at {env.data_dir.database}: load data first with `fivesafes load`",
            RefusalKind.UNAVAILABLE,
        )
    reason = sandbox_available()
    if reason is not None:
        raise Refused(f"refusing to run against real data: {reason}", RefusalKind.UNAVAILABLE)
    with env.store():  # its key is there, and is the one the store was made with
        pass


def _asked(limits: Limits) -> dict[str, float]:
    """The limits the analyst set (those that differ from the defaults), named as a project's
    resource ceiling names them."""
    defaults = Limits()
    given = {
        "cpu_cores": (limits.cpu_cores, defaults.cpu_cores),
        "memory_bytes": (limits.memory_bytes, defaults.memory_bytes),
        "wall_seconds": (limits.wall_seconds, defaults.wall_seconds),
    }
    return {name: value for name, (value, default) in given.items() if value != default}


def submit(
    env: Environment,
    credential: str,
    project_id: str,
    study: Path,
    action: str | None = None,
    limits: Limits | None = None,
    on_event: Events | None = None,
) -> JobView:
    """Run ``study`` (or its ``action`` and what that needs) on ``project_id``'s data, inside
    the environment; the job as the submitter may see it. Limits above the project's resource
    ceiling are refused if asked for, and the defaults are lowered to it."""
    with refusing(env.cp, "submit_job"):
        asked = limits or Limits()
        allowed = authorise_job(env.cp, credential, project_id, None, _asked(asked))
        return _submit(env, allowed, study, action, bounded(asked, allowed.ceiling), on_event)


def submit_commit(
    env: Environment,
    credential: str,
    project_id: str,
    commit: str,
    action: str | None = None,
    limits: Limits | None = None,
    on_event: Events | None = None,
) -> JobView:
    """As :func:`submit`, with the study at ``commit`` of the repository the project's approved
    application names (:mod:`.studies`): for a face with no folder of the analyst's to read.
    The caller is authorised before anything is fetched."""
    with refusing(env.cp, "submit_job"):
        asked = limits or Limits()
        allowed = authorise_job(env.cp, credential, project_id, None, _asked(asked))
        with checked_out(allowed.repository, commit) as study:
            return _submit(env, allowed, study, action, bounded(asked, allowed.ceiling), on_event)


def _submit(
    env: Environment,
    allowed: JobAuthorisation,
    study: Path,
    action: str | None,
    limits: Limits,
    on_event: Events | None,
) -> JobView:
    """Record an authorised job (queued) with its own copy of the study, and run it."""
    project = load_project(study)
    project.plan(action)
    _ready(env)
    job_id = _new_id()
    folder = _folder(env, job_id)
    env.jobs_root.mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700)
    with holding(folder):
        sha256 = copy_study(project, folder / STUDY)
        job_records.create(
            env,
            job_id,
            project_id=allowed.project_id,
            person_id=allowed.person_id,
            purpose=allowed.purpose.value,
            grant=allowed.datasets,
            action=action,
            study_sha256=sha256,
            git=git_state(project.root),
            limits=limits.to_dict(),
        )
        return _run_held(env, job_id, limits, on_event)


def run(env: Environment, job_id: str, on_event: Events | None = None) -> JobView:
    """Run a queued job: what a worker will call, holding the job while it runs."""
    with refusing(env.cp, "run_job"):
        folder = _folder(env, job_id)
        record = job_records.get(env, job_id)
        if record is None:
            raise Refused(f"no job {job_id}")
        with holding(folder):
            return _run_held(env, job_id, Limits(**record.limits), on_event)  # type: ignore[arg-type]


def _run_held(env: Environment, job_id: str, limits: Limits, on_event: Events | None) -> JobView:
    record = job_records.get(env, job_id)
    assert record is not None
    if record.state != "queued":
        raise Refused(f"job {job_id} is {record.state}, not queued")
    folder = _folder(env, job_id)
    log = (folder / EVENTS_FILE).open("a", encoding="utf-8")

    def event(name: str, message: str) -> None:
        log.write(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {name}: {message}\n")
        log.flush()
        if on_event is not None:
            on_event(name, message)

    try:
        job_records.start(env, job_id)
        failpoint("job.running")
        try:
            results = _execute(env, record, folder, limits, event)
        except BaseException as exc:
            state = "failed" if isinstance(exc, Exception) else "interrupted"
            event("job", f"{state}: {exc}" if str(exc) else state)
            job_records.finish(env, job_id, state, str(exc) or state, ())
            raise
        failpoint("job.ran")
        failed = [r for r in results if r.status in ("failed", "skipped")]
        error = "; ".join(f"{r.action}: {r.reason}" for r in failed)
        state = "failed" if failed else "succeeded"
        event("job", state)
        job_records.finish(env, job_id, state, error, _outputs(results))
    finally:
        log.close()
    return _view(env, job_id)


def _execute(
    env: Environment, record: JobRecordView, folder: Path, limits: Limits, event: Events
) -> list[JobResult]:
    with env.store(read_only=True) as store:
        cut = cut_for(env, store, Purpose(record.purpose), record.grant, record.project_id)
    options = RunOptions(
        Backend.STORE,
        True,
        limits,
        env.data_dir,
        cut=cut,
        provenance=(record.git_commit, record.git_dirty),
        notes=lambda query: codelists.job_notes(env, query),
    )
    return run_project(load_project(folder / STUDY), record.action, options, on_event=event)


def _outputs(results: list[JobResult]) -> tuple[JobOutput, ...]:
    return tuple(
        JobOutput(o.path, o.sha256, o.size, o.privacy or "", o.action or r.action, r.record.job_id)
        for r in results
        if r.record is not None and r.status in ("ran", "reused")
        for o in r.record.outputs
    )


def _view(env: Environment, job_id: str) -> JobView:
    record = job_records.get(env, job_id)
    if record is None:
        raise Refused(f"no job {job_id}")
    runs = []
    history = JsonJobRecords(_folder(env, job_id) / STUDY / METADATA_DIR)
    for run_record in history.history():
        runs.append(
            ActionRun(
                run_record.action,
                run_record.status,
                run_record.job_id,
                run_record.duration_s,
                run_record.error,
            )
        )
    return JobView(record, tuple(runs))


def _may_see(env: Environment, credential: str, job_id: str) -> JobRecordView:
    """The job, if the caller is a member of its project or a data custodian; else refused."""
    with env.cp.transaction() as session:
        me = env.cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
    record = job_records.get(env, job_id)
    members = {p.project_id: p.members for p in list_projects(env.cp)}
    if record is None or not (
        me.person_id in members.get(record.project_id, ())
        or me.person_id == record.person_id
        or Role.DATA_CUSTODIAN in me.roles
    ):
        raise Refused(f"no job {job_id} that you may see", RefusalKind.FORBIDDEN)
    return record


def status(env: Environment, credential: str, job_id: str) -> JobView:
    """A job's state, its actions and its outputs (by name, privacy and hash)."""
    with refusing(env.cp, "job_status"):
        _may_see(env, credential, job_id)
        return _view(env, job_id)


def listing(env: Environment, credential: str, project_id: str) -> list[JobRecordView]:
    """A project's jobs, oldest first (for its members and the custodian)."""
    with refusing(env.cp, "list_jobs"):
        with env.cp.transaction() as session:
            me = env.cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
        members = {p.project_id: p.members for p in list_projects(env.cp)}
        if me.person_id not in members.get(project_id, ()) and Role.DATA_CUSTODIAN not in me.roles:
            raise Refused(f"{me.person_id} is not on project {project_id}", RefusalKind.FORBIDDEN)
        return job_records.of_project(env, project_id)


def log(env: Environment, credential: str, job_id: str) -> str:
    """A job's log: what the environment did, step by step, and why anything failed."""
    with refusing(env.cp, "job_log"):
        _may_see(env, credential, job_id)
        events = _folder(env, job_id) / EVENTS_FILE
        return events.read_text(encoding="utf-8") if events.is_file() else ""
