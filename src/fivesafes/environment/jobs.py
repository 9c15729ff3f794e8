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

:func:`submit` only queues the job: its record in the control plane is the queue
(:mod:`.job_queue`). A worker (:func:`work`: ``fivesafes worker``, or those ``fivesafes serve``
starts) claims queued jobs one at a time and runs each in its own process, renewing its lease
while it runs; :func:`wait` is the submitter's way to see their own job through (it runs the job
itself if no worker has taken it yet, and follows the worker that has). :func:`cancel` stops a
queued job at once and a running one at its worker's next heartbeat. Running a job is a
function of its record, so a job runs the same whoever runs it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from fivesafes.environment import job_records
from fivesafes.environment.job_queue import (
    Beat,
    Heartbeat,
    ask_to_cancel,
    claim,
    claim_next,
    new_worker_id,
    suspended,
    unclaim,
    unclaimed,
)
from fivesafes.environment.job_records import (
    FINAL_STATES,
    STUDY,
    JobBusy,
    JobOutput,
    JobRecordView,
    cancelled,
    clear_scratch,
    close_orphans,
    holding,
)
from fivesafes.environment.leases import LEASE_SECONDS
from fivesafes.environment.refusals import RefusalKind, Refused, refusing
from fivesafes.environment.studies import checked_out
from fivesafes.failpoints import failpoint
from fivesafes.governance import (
    Action,
    Principal,
    Purpose,
    Role,
    authorise_job,
    job_start_problem,
    list_projects,
)
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
from fivesafes.ledger.intents import OperationBusy

if TYPE_CHECKING:
    from fivesafes.environment.codelists import ListCheck
    from fivesafes.environment.core import Environment
    from fivesafes.query.serial import Query

EVENTS_FILE = "events.log"
"""A job's log: what the environment did for it, line by line (never the actions' own output)."""
CODELISTS_FILE = "codelists.jsonl"
"""What the environment found of each code list the job's definitions used, a JSON line each
(:class:`~fivesafes.environment.codelists.ListCheck`), beside its log and outside the study's
folder, so nothing the study runs can write it."""
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
) -> JobView:
    """Queue ``study`` (or its ``action`` and what that needs) to run on ``project_id``'s data,
    inside the environment; the job, ``queued``, as the submitter may see it. Limits above the
    project's resource ceiling are refused if asked for, and the defaults are lowered to it.
    Everything is checked now, so a job is refused before it waits, never after."""
    with refusing(env.cp, "submit_job"):
        asked = limits or Limits()
        allowed = authorise_job(env.cp, credential, project_id, None, _asked(asked))
        return _submit(env, allowed, study, action, bounded(asked, allowed.ceiling))


def submit_commit(
    env: Environment,
    credential: str,
    project_id: str,
    commit: str,
    action: str | None = None,
    limits: Limits | None = None,
) -> JobView:
    """As :func:`submit`, with the study at ``commit`` of the repository the project's approved
    application names (:mod:`.studies`): for a face with no folder of the analyst's to read.
    The caller is authorised before anything is fetched."""
    with refusing(env.cp, "submit_job"):
        asked = limits or Limits()
        allowed = authorise_job(env.cp, credential, project_id, None, _asked(asked))
        with checked_out(allowed.repository, commit) as study:
            return _submit(env, allowed, study, action, bounded(asked, allowed.ceiling))


def _submit(
    env: Environment,
    allowed: JobAuthorisation,
    study: Path,
    action: str | None,
    limits: Limits,
) -> JobView:
    """Queue an authorised job with its own copy of the study; a worker runs it."""
    project = load_project(study)
    project.plan(action)
    _ready(env)
    job_id = _new_id()
    folder = _folder(env, job_id)
    env.jobs_root.mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700)
    sha256 = copy_study(project, folder / STUDY)
    job_records.create(  # last: a worker may claim it from here on
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
    return _view(env, job_id)


def work(
    env: Environment,
    worker_id: str | None = None,
    *,
    once: bool = False,
    until_empty: bool = False,
    poll: float = 2.0,
    lease: float = LEASE_SECONDS,
    stop: threading.Event | None = None,
    on_event: Events | None = None,
) -> list[JobView]:
    """Be a worker: claim queued jobs, oldest first, and run each in turn (sandboxed, as every
    job runs), until ``stop`` is set; with ``once``, after one job; with ``until_empty``, once
    none is waiting. Before each claim it settles the jobs whose worker is gone
    (:func:`.job_records.close_orphans`). ``on_event`` hears each job's progress, named
    ``JOB/ACTION`` (or ``JOB/job``). The jobs it ran, as they ended.

    No credential: a worker acts for the environment, on jobs authorised when they were
    submitted, and reaches the control plane as the operator's account that started it."""
    worker_id = worker_id or new_worker_id()
    stop = stop or threading.Event()
    ran: list[JobView] = []
    while not stop.is_set():
        try:
            close_orphans(env)
            job_id = None if suspended(env) else claim_next(env, worker_id, lease)
        except OperationalError:  # the database is busy or away: look again later
            job_id = None
        if job_id is None:
            if once or until_empty:
                break
            stop.wait(poll)
            continue
        view = _run_claimed(env, job_id, worker_id, lease, _named(job_id, on_event))
        if view is not None:
            ran.append(view)
        if once:
            break
    return ran


def _named(job_id: str, on_event: Events | None) -> Events | None:
    if on_event is None:
        return None
    return lambda name, message: on_event(f"{job_id}/{name}", message)


def wait(
    env: Environment,
    credential: str,
    job_id: str,
    on_event: Events | None = None,
    poll: float = 1.0,
    lease: float = LEASE_SECONDS,
) -> JobView:
    """See one's job through: run it here if no worker has claimed it yet, else wait for the
    worker that has; the job once it has ended. For those allowed to see the job; what
    ``fivesafes submit --wait`` does, so one command still runs a study without a worker."""
    with refusing(env.cp, "wait_job"):
        _may_see(env, credential, job_id)
        worker_id = new_worker_id()
        while True:
            why = suspended(env)
            if why is not None:  # it stays queued, and runs once the suspension is lifted
                raise Refused(f"job {job_id} is queued: {why}", RefusalKind.UNAVAILABLE)
            if claim(env, job_id, worker_id, lease):
                _run_claimed(env, job_id, worker_id, lease, on_event)
            record = job_records.get(env, job_id)
            assert record is not None
            if record.state in FINAL_STATES:
                return _view(env, job_id)
            close_orphans(env)  # its worker may have died meanwhile
            threading.Event().wait(poll)


def cancel(env: Environment, credential: str, job_id: str) -> JobView:
    """Stop a job: a queued one is ``cancelled`` at once; a running one is stopped by its worker
    at its next heartbeat (the action running is killed, with all it started) and ends
    ``cancelled``. For those who may see the job (its submitter, its project's members, the
    custodian); a job that has already ended is refused."""
    with refusing(env.cp, "cancel_job"):
        me, record = _may_see(env, credential, job_id)
        if not ask_to_cancel(env, job_id, me.person_id):
            raise Refused(f"job {job_id} has already ended ({record.state})")
        asked_by = job_records.get(env, job_id)
        assert asked_by is not None and asked_by.cancel_requested_by is not None
        if unclaimed(env, job_id):  # no worker can claim it now: end it here
            with suppress(OperationBusy):  # another process is ending it as we speak
                job_records.finish(
                    env, job_id, "cancelled", cancelled(asked_by.cancel_requested_by), ()
                )
        return _view(env, job_id)


class _Stopped(Exception):
    """The job's heartbeat said stop: cancelled, or no longer this worker's."""

    def __init__(self, beat: Beat) -> None:
        super().__init__(beat.value)
        self.beat = beat


def _run_claimed(
    env: Environment, job_id: str, worker_id: str, lease: float, on_event: Events | None
) -> JobView | None:
    """Run a job ``worker_id`` has claimed, holding its folder and renewing its lease; the job
    as it ended, or None if it was not this worker's to end after all."""
    folder = _folder(env, job_id)
    with ExitStack() as held:
        try:
            held.enter_context(holding(folder))
        except JobBusy:  # a live process on this host holds it: it is not ours to run
            unclaim(env, job_id, worker_id)
            return None
        held.callback(clear_scratch, folder)  # once it ended, nobody reads its cut copies
        beat = held.enter_context(Heartbeat(env, job_id, worker_id, lease))
        first = beat.check()
        record = job_records.get(env, job_id)
        assert record is not None
        if first is Beat.LOST or record.state != "queued":
            return None
        if first is Beat.CANCEL:
            assert record.cancel_requested_by is not None
            job_records.finish(env, job_id, "cancelled", cancelled(record.cancel_requested_by), ())
            return _view(env, job_id)
        if suspended(env) is not None:  # suspended since the claim: it waits in the queue
            unclaim(env, job_id, worker_id)
            return None
        why = job_start_problem(env.cp, record.project_id, record.person_id)
        if why is not None:  # authorised when submitted, no longer: nothing of it runs
            job_records.finish(env, job_id, "failed", f"not started: {why}", ())
            return _view(env, job_id)
        limits = Limits(**record.limits)  # type: ignore[arg-type]
        return _run_held(env, job_id, limits, on_event, beat)


def _run_held(
    env: Environment, job_id: str, limits: Limits, on_event: Events | None, beat: Heartbeat
) -> JobView | None:
    record = job_records.get(env, job_id)
    assert record is not None
    folder = _folder(env, job_id)
    log = (folder / EVENTS_FILE).open("a", encoding="utf-8")

    def event(name: str, message: str) -> None:
        log.write(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {name}: {message}\n")
        log.flush()
        if on_event is not None:
            on_event(name, message)
        if beat.stopping is not None:  # between actions: start nothing more
            raise _Stopped(beat.stopping)

    def end(state: str, error: str, outputs: tuple[JobOutput, ...] = ()) -> JobView | None:
        if beat.stopping is Beat.LOST:  # ended elsewhere: write nothing
            log.write(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} job: lost its worker's lease\n")
            return None
        if beat.stopping is Beat.CANCEL:
            final = job_records.get(env, job_id)
            assert final is not None and final.cancel_requested_by is not None
            state, error, outputs = "cancelled", cancelled(final.cancel_requested_by), ()
        log.write(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} job: {state}\n")
        log.flush()
        if on_event is not None:
            on_event("job", f"{state}: {error}" if error else state)
        job_records.finish(env, job_id, state, error, outputs)
        return _view(env, job_id)

    try:
        job_records.start(env, job_id)
        failpoint("job.running")
        try:
            results = _execute(env, record, folder, limits, event)
        except _Stopped:
            return end("cancelled", "")
        except Exception as exc:  # the job failed, not the worker: it goes on to the next
            return end("failed", str(exc) or "failed")
        except BaseException as exc:  # the worker was told to stop (Ctrl-C, SIGTERM)
            end("interrupted", str(exc) or "its worker was stopped")
            raise
        failpoint("job.ran")
        failed = [r for r in results if r.status in ("failed", "skipped")]
        error = "; ".join(f"{r.action}: {r.reason}" for r in failed)
        return end("failed" if failed else "succeeded", error, _outputs(results))
    finally:
        log.close()


def _execute(
    env: Environment, record: JobRecordView, folder: Path, limits: Limits, event: Events
) -> list[JobResult]:
    # deferred: extraction and code lists bring the store and the disclosure stage, which only
    # a worker running a job needs (not ``fivesafes job list``)
    from fivesafes.environment.extraction import cut_for

    with env.store(read_only=True) as store:
        cut = cut_for(env, store, Purpose(record.purpose), record.grant, record.project_id)
    options = RunOptions(
        Backend.STORE,
        True,
        limits,
        env.data_dir,
        cut=cut,
        provenance=(record.git_commit, record.git_dirty),
        notes=lambda query: _checked_codelists(env, folder, query),
    )
    return run_project(load_project(folder / STUDY), record.action, options, on_event=event)


def _checked_codelists(env: Environment, folder: Path, query: Query) -> list[str]:
    """What the job's log says of its definition's code lists, kept for its page as well."""
    from fivesafes.environment import codelists  # deferred, as in _execute

    checks = codelists.job_checks(env, query)
    with (folder / CODELISTS_FILE).open("ab") as kept:
        kept.writelines(check.to_json() + b"\n" for check in checks)
    return [line for check in checks for line in check.lines]


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


def _may_see(env: Environment, credential: str, job_id: str) -> tuple[Principal, JobRecordView]:
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
    return me, record


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


def codelist_checks(env: Environment, credential: str, job_id: str) -> tuple[ListCheck, ...]:
    """The code lists a job's definitions used, each once, with the published version it is
    and whether it warned (as its log says), for whoever may see the job."""
    from fivesafes.environment.codelists import ListCheck  # deferred, as in _execute

    with refusing(env.cp, "job_codelists"):
        _may_see(env, credential, job_id)
        kept = _folder(env, job_id) / CODELISTS_FILE
        lines = kept.read_text(encoding="utf-8").splitlines() if kept.is_file() else []
        return tuple(dict.fromkeys(ListCheck.from_json(line) for line in lines))
