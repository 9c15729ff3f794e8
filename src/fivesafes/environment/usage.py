"""Usage over a period (SATRE 2.2.13: record usage data): who used the environment, what each
project ran and released, what was loaded, and what it all takes on disk.

Everything but storage is read from the ledger, which already records every sign-in, job,
load, release request and release: a report built from it cannot disagree with the audit
trail, and needs nothing recorded twice. Storage is measured now, from the data directory (the
store, and each project's released outputs and release history), because it is a state, not an
event. Reading usage is an operator's action: it names people.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from fivesafes.governance import ControlPlane
from fivesafes.governance.roles import Action
from fivesafes.release.office import HISTORY_FOLDER, RELEASED_FOLDER
from fivesafes.store.config import DataDir


@dataclass(frozen=True)
class ProjectUsage:
    jobs: int = 0
    release_requests: int = 0
    releases: int = 0
    released_bytes: int = 0
    history_bytes: int = 0


@dataclass
class Usage:
    """One period's usage; ``people`` counts each person's allowed actions."""

    start: datetime
    end: datetime
    people: Counter[str] = field(default_factory=Counter)
    projects: dict[str, ProjectUsage] = field(default_factory=dict)
    loads: int = 0
    records_loaded: int = 0
    store_bytes: int = 0


def size_on_disk(path: Path) -> int:
    """The bytes of a file, or of every file under a folder; 0 for what is not there."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _count(projects: dict[str, Counter[str]], subject: dict[str, object], what: str) -> None:
    projects.setdefault(str(subject.get("project_id")), Counter())[what] += 1


def _ran(jobs: dict[str, set[str]], subject: dict[str, object]) -> None:
    """A job's ledger entry, kept by its id: a job has two (its start and its end), or only
    its end if it was cancelled before it started, and counts once."""
    jobs.setdefault(str(subject.get("project_id")), set()).add(str(subject.get("job_id")))


def usage_report(
    cp: ControlPlane, credential: str, data_dir: DataDir, start: datetime, end: datetime
) -> Usage:
    """Usage with ``start <= time < end`` (a data custodian), and storage as it is now."""
    with cp.transaction() as session:
        cp.authenticate(session, credential, Action.OPERATE)
    report = Usage(start, end)
    activity: dict[str, Counter[str]] = {}
    jobs: dict[str, set[str]] = {}
    for raw in cp.ledger.entries():
        entry = orjson.loads(raw)
        if not start <= datetime.fromisoformat(entry["time"].replace("Z", "+00:00")) < end:
            continue
        kind, subject = entry["kind"], entry["subject"]
        if kind == "login" and subject.get("outcome") == "allowed":
            report.people[entry["actor"]] += 1
        elif kind == "job":
            _ran(jobs, subject)
        elif kind in ("release_request", "release"):
            _count(activity, subject, kind)
        elif kind == "load":
            report.loads += 1
            report.records_loaded += int(subject.get("totals", {}).get("loaded", 0))
    folders = {
        p.name
        for base in (RELEASED_FOLDER, HISTORY_FOLDER)
        if (data_dir.root / base).is_dir()
        for p in (data_dir.root / base).iterdir()
    }
    for project_id in sorted(set(activity) | set(jobs) | folders):
        seen = activity.get(project_id, Counter())
        report.projects[project_id] = ProjectUsage(
            len(jobs.get(project_id, ())),
            seen["release_request"],
            seen["release"],
            size_on_disk(data_dir.root / RELEASED_FOLDER / project_id),
            size_on_disk(data_dir.root / HISTORY_FOLDER / project_id),
        )
    report.store_bytes = size_on_disk(data_dir.database)
    return report
