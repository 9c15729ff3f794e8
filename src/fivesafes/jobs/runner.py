"""Run a study's actions in dependency order, each in its own workspace, recording every job.

The same project runs unchanged in two places. ``Backend.DUMMY`` is an analyst's
machine: ``generate-dataset`` makes dummy data and the sandbox is optional.
``Backend.STORE`` is inside the environment, against real data: every action is
sandboxed, and only ``generate-dataset`` actions see the store: a read-only copy of its
analysis layer.
There is no path from the store backend to an unsandboxed process: if the sandbox
cannot run, nothing runs.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

import orjson

from fivesafes.jobs.cgroups import confine
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.process import Limits, run_limited
from fivesafes.jobs.project import Action, Output, Project
from fivesafes.jobs.records import (
    METADATA_DIR,
    FileRecord,
    JobRecord,
    JobRecords,
    JsonJobRecords,
    new_job_id,
)
from fivesafes.jobs.sandbox import SAFE_R, STORE, Mount, sandbox_argv, sandbox_available
from fivesafes.jobs.snapshot import analysis_snapshot
from fivesafes.jobs.workspace import WorkspaceError, code_files, stage
from fivesafes.store.config import DataDir

CACHE_FORMAT = 1
# Variables that point a process at a real store; a dummy run never passes them on.
STORE_VARIABLES = ("FIVESAFES_DATA_DIR", "FIVESAFES_KEY_FILE")


class Backend(StrEnum):
    """Where the data comes from: made-up data on a laptop, or the environment's store."""

    DUMMY = "dummy"
    STORE = "store"


class SandboxUnavailable(RuntimeError):
    """Real data was asked for where no sandbox can run."""


class RunInProgress(RuntimeError):
    """The project is already being run."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run: which backend, sandboxed or not, with what limits, against which store."""

    backend: Backend = Backend.DUMMY
    sandbox: bool = False
    limits: Limits = field(default_factory=Limits)
    data_dir: DataDir | None = None
    force: bool = False
    grant: Mapping[str, tuple[str, ...]] | None = None
    """Tables and columns the project is approved for; the store copy holds only these."""
    excluded: frozenset[int] = frozenset()
    """Patients whose opt-outs apply to the project's purpose; the store copy has none of them."""
    shared_with: frozenset[int] | None = None
    """Patients whose consent lets this purpose use the data they shared (wearables); the store
    copy has no one else's. None keeps all of it (dummy data and tests)."""


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
    commit, dirty = git_state(project.root)
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
        self._snapshot: Path | None = None

    def run(self, notify: Events) -> JobResult:
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
        workdir = self.project.root / METADATA_DIR / "workspaces" / job_id
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
        command = resolve_command(self.arguments())
        env = self.environment()
        counted: dict[str, float] = {}
        stopped: str | None = None
        if options.sandbox:
            mounts = workspace.mounts + self.store_mounts()
            argv = sandbox_argv(command, workspace.root, mounts, env, options.limits.tmp_bytes)
            with confine(record.job_id, options.limits) as held, workspace:
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
                record.status = "failed"
                record.error = f"cannot start '{action.argv[0]}': {exc.strerror or exc}"
                return
        record.exit_code = finished.exit_code
        record.duration_s = round(finished.duration_s, 3)
        record.resources = finished.usage.to_dict() | counted
        if stopped is not None:
            record.status, record.error = "failed", stopped
            return
        if finished.timed_out:
            limit = options.limits.wall_seconds
            record.status, record.error = "failed", f"stopped after the {limit:g} s time limit"
            return
        if finished.exit_code != 0:
            record.status = "failed"
            record.error = f"exit code {finished.exit_code}; see the log {record.log}"
            return
        try:
            outputs = workspace.collect(self.project, action)
        except WorkspaceError as exc:
            record.status, record.error = "failed", str(exc)
            return
        record.outputs = [_file_record(self.project.root, o) for o in outputs]
        record.status = "succeeded"

    def arguments(self) -> tuple[str, ...]:
        """The action's command; on dummy data, ``generate-dataset`` is told to make it up."""
        argv = self.action.argv
        if self.options.backend is Backend.DUMMY and self.action.generates_dataset:
            return argv if "--dummy" in argv else (*argv, "--dummy")
        return argv

    def environment(self) -> dict[str, str]:
        """What every action is told: the backend, where temporary files go; the store if any."""
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
        if self.store_mounts():
            env |= {
                "FIVESAFES_DATA_DIR": str(STORE),
                "FIVESAFES_KEY_FILE": str(STORE / "no-key-in-the-sandbox"),
            }
        return env

    def store_mounts(self) -> list[Mount]:
        """The store's analysis layer, read-only, for a ``generate-dataset`` action on real
        data; never the store's own file (see ``snapshot``)."""
        data_dir = self.options.data_dir
        if self.options.backend is not Backend.STORE or not self.action.reads_store:
            return []
        assert data_dir is not None  # checked before any action runs
        if self._snapshot is None:
            self._snapshot = analysis_snapshot(
                data_dir, self.options.grant, self.options.excluded, self.options.shared_with
            )
        return [Mount(self._snapshot, STORE / data_dir.database.name)]

    def cache_key(self, code: Mapping[PurePosixPath, Path], inputs: list[FileRecord]) -> str:
        """Changes whenever anything that could change the outputs changes."""
        action = self.action
        store = [m.source.name for m in self.store_mounts()]
        material = {
            "format": CACHE_FORMAT,
            "argv": self.arguments(),
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
