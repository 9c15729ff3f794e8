"""Run a study's actions in dependency order, each in its own workspace, recording every job.

The same project runs unchanged in two places. ``Backend.DUMMY`` is an analyst's
machine: ``generate-dataset`` makes dummy data and the sandbox is optional.
``Backend.STORE`` is inside the environment, against real data: every action is
sandboxed, and only ``generate-dataset`` actions see the store, through the cut copy made
for their job (:mod:`.snapshot`), and in two steps so that the definition itself is never
evaluated where there is data (:mod:`.extract`).
There is no path from the store backend to an unsandboxed process: if the sandbox
cannot run, nothing runs. Nor is there a default for what a store job may see: without the
:class:`~fivesafes.jobs.snapshot.DataCut` the environment layer makes for it (the project's
grant, the purpose's opt-outs, the consented shared data), a store job is refused.

An action whose command, code and inputs are unchanged since it last succeeded, and
whose outputs are still the files it wrote, is not run again: its outputs are reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import orjson

from fivesafes.jobs.cgroups import confine
from fivesafes.jobs.extract import (
    MODEL,
    MODEL_FILE,
    CommandError,
    evaluate_argv,
    extract_argv,
    parse_command,
    read_error,
    read_plain,
)
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.process import Limits, run_limited
from fivesafes.jobs.project import Action, Output, Project
from fivesafes.jobs.records import (
    COPIES,
    METADATA_DIR,
    WORKSPACES,
    FileRecord,
    JobRecord,
    JobRecords,
    JsonJobRecords,
    new_job_id,
)
from fivesafes.jobs.sandbox import (
    SAFE_R,
    STORE,
    Mount,
    SandboxUnavailable,
    sandbox_argv,
    sandbox_available,
)
from fivesafes.jobs.snapshot import DataCut, analysis_snapshot, remove_snapshot, store_identity
from fivesafes.jobs.workspace import Workspace, WorkspaceError, code_files, stage
from fivesafes.store.config import DataDir

if TYPE_CHECKING:
    from fivesafes.query.serial import Query

CACHE_FORMAT = 2
STORE_FILE = "store.duckdb"
# Variables that point a process at a real store; a dummy run never passes them on.
STORE_VARIABLES = ("FIVESAFES_DATA_DIR", "FIVESAFES_KEY_FILE")


class Backend(StrEnum):
    """Where the data comes from: made-up data on a laptop, or the environment's store."""

    DUMMY = "dummy"
    STORE = "store"


class RunInProgress(RuntimeError):
    """The project is already being run."""


class UncutStoreRun(RuntimeError):
    """A run against the store without the cut that says what it may see: refused."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: which backend, sandboxed or not, with what limits, against which store."""

    backend: Backend = Backend.DUMMY
    sandbox: bool = False
    limits: Limits = field(default_factory=Limits)
    data_dir: DataDir | None = None
    force: bool = False
    cut: DataCut | None = None
    """What a run against the store may see (required there; made by the environment layer)."""

    provenance: tuple[str | None, bool | None] | None = None
    """The git commit and dirtiness of the study as submitted, when the folder run is a copy."""
    notes: Callable[[Query], Sequence[str]] | None = None
    """What the environment has to say about a definition's query model once it is evaluated
    and before it reads the data (its code lists that match no one), for the job's log."""


@dataclass(frozen=True, slots=True)
class JobResult:
    """What happened to one action: ran, reused, failed or skipped (a need failed)."""

    action: str
    status: str
    record: JobRecord | None = None
    reason: str | None = None


Events = Callable[[str, str], None]


def run_project(
    project: Project,
    target: str | None = None,
    options: RunOptions | None = None,
    records: JobRecords | None = None,
    on_event: Events | None = None,
) -> list[JobResult]:
    """Run ``target`` (every action when None) and what it needs; stop a branch at a failure."""
    options = options or RunOptions()
    _check_can_run(options)
    records = records or JsonJobRecords(project.root / METADATA_DIR)
    notify = on_event or (lambda _action, _message: None)
    commit, dirty = options.provenance or git_state(project.root)
    results: dict[str, JobResult] = {}
    with _one_run_at_a_time(project.root / METADATA_DIR):
        for action in project.plan(target):
            blocked = [n for n in action.needs if results[n].status in ("failed", "skipped")]
            if blocked:
                reason = f"needs {', '.join(blocked)}, which did not succeed"
                results[action.name] = JobResult(action.name, "skipped", reason=reason)
                notify(action.name, f"skipped: {reason}")
                continue
            job = _Job(project, action, options, records, commit, dirty)
            results[action.name] = job.run(notify)
    return list(results.values())


@contextlib.contextmanager
def _one_run_at_a_time(metadata: Path) -> Iterator[None]:
    """Two runs of one project would overwrite each other's outputs: the second is refused."""
    metadata.mkdir(parents=True, exist_ok=True)
    with (metadata / "run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(
                f"another run of {metadata.parent} is in progress; wait for it to finish"
            ) from None
        yield


def _check_can_run(options: RunOptions) -> None:
    if options.backend is Backend.STORE:
        if not options.sandbox:
            raise SandboxUnavailable("real data is only ever read inside the sandbox")
        if options.cut is None:
            raise UncutStoreRun(
                "a run against the store needs the data cut the environment makes for it (the "
                "project's approved data, its purpose's opt-outs, consent to shared data); "
                "refusing to run without one"
            )
        if options.data_dir is None or not options.data_dir.database.is_file():
            where = options.data_dir.database if options.data_dir else "(no data directory)"
            raise FileNotFoundError(f"no store at {where}: load data first with `fivesafes load`")
    if options.sandbox:
        reason = sandbox_available()
        if reason is not None:
            what = "against real data" if options.backend is Backend.STORE else "sandboxed"
            raise SandboxUnavailable(f"refusing to run {what}: {reason}")


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """The commit checked out in ``root`` and whether the project has uncommitted changes."""
    git = shutil.which("git")
    if git is None:
        return None, None
    head = subprocess.run(
        [git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return None, None
    status = subprocess.run(
        [git, "-C", str(root), "status", "--porcelain", "--", "."],
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip(), bool(status.stdout.strip())


def resolve_command(argv: tuple[str, ...]) -> list[str]:
    """``python`` and ``fivesafes`` mean the environment's own, wherever the action runs."""
    program, *rest = argv
    if program in ("python", "python3"):
        return [sys.executable, *rest]
    if program == "fivesafes":
        return [str(Path(sys.executable).parent / "fivesafes"), *rest]
    return [program, *rest]


def _added(used: Mapping[str, float], more: Mapping[str, float]) -> dict[str, float]:
    """What two processes of one action used together: times add up, peak memory is the max."""
    total = dict(used)
    for name, value in more.items():
        earlier = total.get(name, 0)
        total[name] = max(earlier, value) if name.startswith("max_") else earlier + value
    return total


def _file_record(root: Path, output: Output) -> FileRecord:
    path = root / output.path
    return FileRecord(
        str(output.path),
        file_sha256(path),
        path.stat().st_size,
        output.action,
        output.name,
        output.privacy.value,
    )


class _Job:
    """One action's run: stage, check the cache, execute, collect, record."""

    def __init__(
        self,
        project: Project,
        action: Action,
        options: RunOptions,
        records: JobRecords,
        commit: str | None,
        dirty: bool | None,
    ) -> None:
        self.project = project
        self.action = action
        self.options = options
        self.records = records
        self.commit = commit
        self.dirty = dirty
        self.notify: Events = lambda _action, _message: None

    def run(self, notify: Events) -> JobResult:
        self.notify = notify
        action = self.action
        try:
            code = code_files(self.project)
        except WorkspaceError as exc:
            return JobResult(action.name, "failed", reason=str(exc))
        inputs = [
            _file_record(self.project.root, o)
            for o in self.project.inputs(action)
            if (self.project.root / o.path).is_file()
        ]
        key = self.cache_key(code, inputs)
        if not self.options.force and (previous := self.reusable(key)) is not None:
            notify(action.name, f"reused outputs of job {previous.job_id}")
            return JobResult(action.name, "reused", previous)
        job_id = new_job_id(action.name)
        record = JobRecord(
            job_id=job_id,
            project=str(self.project.root.resolve()),
            action=action.name,
            command=action.run,
            backend=self.options.backend.value,
            sandboxed=self.options.sandbox,
            git_commit=self.commit,
            git_dirty=self.dirty,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            cache_key=key,
            inputs=inputs,
            limits=self.options.limits.to_dict(),
        )
        log = self.records.log_path(job_id)
        record.log = os.path.relpath(log, self.project.root)
        notify(action.name, f"running: {action.run}")
        workdir = self.project.root / METADATA_DIR / WORKSPACES / job_id
        try:
            self.execute(record, code, workdir, log)
        finally:
            if record.status == "running":
                record.status, record.error = "failed", "interrupted"
            shutil.rmtree(workdir, ignore_errors=True)
            self.records.save(record)
        notify(action.name, record.status + (f": {record.error}" if record.error else ""))
        status = "ran" if record.succeeded else "failed"
        return JobResult(action.name, status, record, record.error)

    def execute(
        self, record: JobRecord, code: dict[PurePosixPath, Path], workdir: Path, log: Path
    ) -> None:
        options, action = self.options, self.action
        try:
            workspace = stage(self.project, action, workdir, code, mount_inputs=options.sandbox)
        except WorkspaceError as exc:
            record.status, record.error = "failed", str(exc)
            return
        with workspace:
            if action.reads_store:
                problem = self.extraction(
                    record, workspace, workdir.with_name(workdir.name + ".model"), log
                )
            else:
                command = resolve_command(action.argv)
                problem = self.launch(record, command, workspace, workspace.mounts, log)
        if problem is not None:
            record.status, record.error = "failed", problem
            return
        try:
            outputs = workspace.collect(self.project, action)
        except WorkspaceError as exc:
            record.status, record.error = "failed", str(exc)
            return
        record.outputs = [_file_record(self.project.root, o) for o in outputs]
        record.status = "succeeded"

    def extraction(
        self, record: JobRecord, workspace: Workspace, model: Path, log: Path
    ) -> str | None:
        """``generate-dataset`` in two steps: the definition evaluated with no data in reach,
        then its query model run by the environment's own code on the job's cut copy."""
        try:
            command = parse_command(self.action.argv)
        except CommandError as exc:
            return f"cannot run '{self.action.run}': {exc}"
        model.mkdir(mode=0o700)
        try:
            inside = MODEL if self.options.sandbox else model
            writable = [Mount(model, MODEL, writable=True)] if self.options.sandbox else []
            evaluate = evaluate_argv(command, inside / MODEL_FILE)
            mounts = workspace.mounts + writable
            problem = self.launch(record, evaluate, workspace, mounts, log, "evaluate")
            if problem is not None:
                said = read_error(model)
                return f"the definition could not be evaluated: {said}" if said else problem
            self.note(model / MODEL_FILE)
            store = self.store_copy(record)
            mounts = [Mount(model, MODEL)] if self.options.sandbox else []
            target: Path | PurePosixPath | None = store
            if store is not None and self.options.sandbox:
                target = STORE / STORE_FILE  # the copy, shown where a store's file would be
                mounts.append(Mount(store, target))
            extract = extract_argv(command, inside / MODEL_FILE, target)
            return self.launch(record, extract, workspace, mounts, log, "extract")
        finally:
            shutil.rmtree(model, ignore_errors=True)
            remove_snapshot(self.copy_path(record))

    def note(self, model: Path) -> None:
        """Pass what the environment says about the evaluated query model to the job's log. A
        model that cannot be read says nothing here: the extraction step refuses it itself."""
        from fivesafes.query import serial

        if self.options.notes is None:
            return
        text = read_plain(model, serial.MAX_BYTES + 1)
        try:
            query = serial.loads(text) if text is not None else None
        except serial.SerialError:
            query = None
        for line in self.options.notes(query) if query is not None else ():
            self.notify(self.action.name, line)

    def store_copy(self, record: JobRecord) -> Path | None:
        """This action's own cut copy of the store (removed when it ends), on real data."""
        options = self.options
        if options.backend is not Backend.STORE:
            return None
        assert options.data_dir and options.cut  # checked before running
        return analysis_snapshot(options.data_dir.database, options.cut, self.copy_path(record))

    def copy_path(self, record: JobRecord) -> Path:
        """Where this action's cut copy lives: the run's own folder, so that no other run's
        copies are ever touched (and whoever owns the run's folder owns its copies)."""
        return self.project.root / METADATA_DIR / COPIES / f"{record.job_id}.duckdb"

    def launch(
        self,
        record: JobRecord,
        command: list[str],
        workspace: Workspace,
        mounts: list[Mount],
        log: Path,
        step: str = "",
    ) -> str | None:
        """Run one process of the action (sandboxed where the run is; ``step`` names it when the
        action takes more than one), adding what it used to the record; why it failed, or
        None."""
        options = self.options
        env = self.environment()
        counted: dict[str, float] = {}
        stopped: str | None = None
        if options.sandbox:
            argv = sandbox_argv(command, workspace.root, mounts, env, options.limits.tmp_bytes)
            name = f"{record.job_id}-{step}" if step else record.job_id
            with confine(name, options.limits) as held:
                record.confinement = held.described
                finished = run_limited(
                    argv, workspace.root, {}, log, options.limits, held.before_exec, workspace.fds
                )
                counted, stopped = held.usage(), held.stopped()
        else:
            local_env = {k: v for k, v in os.environ.items() if k not in STORE_VARIABLES}
            local_env |= env
            try:
                finished = run_limited(command, workspace.root, local_env, log, options.limits)
            except OSError as exc:
                return f"cannot start '{command[0]}': {exc.strerror or exc}"
        record.exit_code = finished.exit_code
        record.duration_s = round((record.duration_s or 0) + finished.duration_s, 3)
        record.resources = _added(record.resources, finished.usage.to_dict() | counted)
        if stopped is not None:
            return stopped
        if finished.timed_out:
            return f"stopped after the {options.limits.wall_seconds:g} s time limit"
        if finished.exit_code != 0:
            return f"exit code {finished.exit_code}; see the log {record.log}"
        return None

    def environment(self) -> dict[str, str]:
        """What every action is told: the backend, and where temporary files go."""
        env = {
            "FIVESAFES_BACKEND": self.options.backend.value,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "FIVESAFES_PYTHON": sys.executable,
            "FIVESAFES_SAFE_R": str(SAFE_R),
        }
        if self.options.sandbox:
            bin_dir = Path(sys.executable).parent
            env |= {
                "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
                "HOME": "/tmp",
                "TMPDIR": "/tmp",
                "MPLCONFIGDIR": "/tmp/matplotlib",
                "LANG": "C.UTF-8",
            }
        return env

    def cache_key(self, code: Mapping[PurePosixPath, Path], inputs: list[FileRecord]) -> str:
        """Changes whenever anything that could change the outputs changes."""
        action = self.action
        store = []
        if action.reads_store and self.options.backend is Backend.STORE:
            assert self.options.data_dir is not None and self.options.cut is not None  # checked
            store = [store_identity(self.options.data_dir.database), self.options.cut.scope()]
        material = {
            "format": CACHE_FORMAT,
            "argv": action.argv,
            "outputs": sorted((str(o.path), o.privacy.value) for o in action.outputs),
            "code": sorted((str(rel), file_sha256(path)) for rel, path in code.items()),
            "inputs": sorted((f.path, f.sha256) for f in inputs),
            "backend": self.options.backend.value,
            "store": store,
        }
        return hashlib.sha256(orjson.dumps(material)).hexdigest()

    def reusable(self, key: str) -> JobRecord | None:
        """The last successful job with this key, if its outputs are still what it wrote."""
        for record in reversed(self.records.history(self.action.name)):
            if record.succeeded and record.cache_key == key:
                intact = all(
                    (p := self.project.root / f.path).is_file() and file_sha256(p) == f.sha256
                    for f in record.outputs
                )
                return record if intact else None
        return None
