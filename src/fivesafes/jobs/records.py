"""What each job did, kept so that anyone can see how an output was made.

A record holds the command, the project's git commit, every input and output
with its SHA-256, the exit code, the log, how long it took and what it used.
Records sit behind ``JobRecords`` so the control plane's database can take over
from the JSON files kept for now in the project's ``metadata/`` folder.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from fivesafes.jobs.hashing import file_sha256

METADATA_DIR = "metadata"
COPIES = "copies"
"""Beneath a run's ``metadata/``: its actions' cut copies of the store, while they run."""
WORKSPACES = "workspaces"
"""Beneath a run's ``metadata/``: each running action's scratch folder, removed as it ends."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file a job read or wrote, by path relative to the project, with its hash."""

    path: str
    sha256: str
    size: int
    action: str | None = None
    name: str | None = None
    privacy: str | None = None


@dataclass(slots=True)
class JobRecord:
    """One run of one action."""

    job_id: str
    project: str
    action: str
    command: str
    backend: str
    sandboxed: bool
    git_commit: str | None
    git_dirty: bool | None
    started_at: str
    cache_key: str
    status: str = "running"
    exit_code: int | None = None
    error: str | None = None
    duration_s: float | None = None
    log: str | None = None
    inputs: list[FileRecord] = field(default_factory=list)
    outputs: list[FileRecord] = field(default_factory=list)
    resources: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    confinement: dict[str, str] = field(default_factory=dict)
    """For a sandboxed job: what bound its processes, memory and CPU (cgroup or rlimit)."""

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> JobRecord:
        data: dict[str, Any] = orjson.loads(raw)
        data["inputs"] = [FileRecord(**f) for f in data.get("inputs", [])]
        data["outputs"] = [FileRecord(**f) for f in data.get("outputs", [])]
        return cls(**data)


def new_job_id(action: str) -> str:
    """Sorts by start time; unique without coordination."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{action}-{secrets.token_hex(3)}"


class JobRecords(Protocol):
    """Where job records and logs are kept."""

    def save(self, record: JobRecord) -> None: ...

    def history(self, action: str | None = None) -> list[JobRecord]:
        """Records, oldest first; only ``action``'s when given."""
        ...

    def log_path(self, job_id: str) -> Path: ...


class JsonJobRecords:
    """One JSON file a job under ``metadata/jobs/``, its log under ``metadata/logs/``."""

    def __init__(self, metadata: Path) -> None:
        self.jobs = metadata / "jobs"
        self.logs = metadata / "logs"

    def save(self, record: JobRecord) -> None:
        self.jobs.mkdir(parents=True, exist_ok=True)
        final = self.jobs / f"{record.job_id}.json"
        partial = final.with_suffix(".json.partial")
        partial.write_bytes(record.to_json())
        os.replace(partial, final)

    def history(self, action: str | None = None) -> list[JobRecord]:
        if not self.jobs.is_dir():
            return []
        records = [JobRecord.from_json(p.read_bytes()) for p in sorted(self.jobs.glob("*.json"))]
        return [r for r in records if action is None or r.action == action]

    def log_path(self, job_id: str) -> Path:
        self.logs.mkdir(parents=True, exist_ok=True)
        return self.logs / f"{job_id}.log"


def job_for_output(records: JobRecords, root: Path, path: str) -> JobRecord | None:
    """The job that made the file now at ``root/path``: the latest successful one whose record
    holds this path with the file's current hash. None if the file is not what any job wrote
    (missing, edited by hand, or from a failed run), so it cannot be vouched for."""
    target = root / path
    if not target.is_file():
        return None
    current = file_sha256(target)
    for record in reversed(records.history()):
        if record.succeeded and any(o.path == path and o.sha256 == current for o in record.outputs):
            return record
    return None
