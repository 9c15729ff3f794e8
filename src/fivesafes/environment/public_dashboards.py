"""Published dashboards as anyone may see them: drawn from a project's released outputs only.

A project's dashboard is published once it has released tables: :mod:`fivesafes.dashboards`
draws it from the release folders the release stage published and from nothing else (never the
store, a job's folder or a request still under review). Every one of the project's release
folders is verified each time it is asked for (the environment's signature, every file's hash,
two signed approvals), and if one fails the project has no published dashboard at all rather
than one beside a tampered release; a file its signed manifest does not list is never read.

Drawing makes files (the page, its charts and icons), so they are kept in a folder of this
process's own outside the data directory, drawn again when the project's releases change:
reading a dashboard writes nothing of the environment's, as no public read does. None of these
takes a credential; what cannot be shown is a ``Refused`` (``invalid``) that is not logged, as
for the other public reads (:mod:`.public`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from fivesafes.dashboards import PAGE, DashboardError, ReleasedTable, draw_dashboard
from fivesafes.dashboards.released import read_released_tables, release_ledger_indexes
from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.governance.tables import Project
from fivesafes.release.office import RELEASED_FOLDER

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


@dataclass(frozen=True)
class PublishedDashboard:
    """A project's published dashboard, as listed: its name (the project's id) and title, and
    how many released tables in how many releases it is drawn from."""

    name: str
    title: str
    releases: int
    tables: int


def _titles(env: Environment) -> dict[str, str]:
    with env.cp.transaction() as session:
        return {p.project_id: p.title for p in session.scalars(select(Project))}


def _released(env: Environment, project_id: str) -> list[ReleasedTable]:
    """The project's released tables, every release folder verified; DashboardError if any
    fails or there is none."""
    log = env.cp.ledger
    log.catch_up()  # a release published from another process is shown like any other
    indexes = release_ledger_indexes(log.of_kinds(["release"]))
    folder = env.data_dir.root / RELEASED_FOLDER / project_id
    tables = read_released_tables(folder, log.keys, indexes)
    if not tables:
        raise DashboardError(f"{project_id} has released no tables")
    return tables


def _listed(project_id: str, title: str, tables: list[ReleasedTable]) -> PublishedDashboard:
    return PublishedDashboard(project_id, title, len({t.release_id for t in tables}), len(tables))


def published(env: Environment) -> tuple[PublishedDashboard, ...]:
    """Every published dashboard, by project id: each project whose releases all verify and
    hold at least one table."""
    titles = _titles(env)
    root = env.data_dir.root / RELEASED_FOLDER
    found = []
    for project_id in sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if project_id not in titles:
            continue
        try:
            tables = _released(env, project_id)
        except DashboardError:
            continue
        found.append(_listed(project_id, titles[project_id], tables))
    return tuple(found)


def of_project(env: Environment, project_id: str) -> PublishedDashboard | None:
    """The project's published dashboard, or None if it has none."""
    title = _titles(env).get(project_id)
    if title is None:
        return None
    try:
        return _listed(project_id, title, _released(env, project_id))
    except DashboardError:
        return None


_DRAWN: dict[tuple[str, str], tuple[str, Path]] = {}
"""(data directory, project) → (the digest of the releases it was drawn from, its folder)."""
_DRAWING = threading.Lock()
_HOME: list[Path] = []


def _home() -> Path:
    if not _HOME:
        _HOME.append(Path(tempfile.mkdtemp(prefix="fivesafes-dashboards-")))
    return _HOME[0]


def dashboard(env: Environment, name: str) -> Path:
    """The folder of project ``name``'s published dashboard (``index.html``, its charts and
    icons), drawn from its verified released tables; refused if it has none."""
    if name not in _titles(env):
        raise Refused(f"no published dashboard {name}", RefusalKind.INVALID)
    try:
        tables = _released(env, name)
    except DashboardError:
        raise Refused(f"no published dashboard {name}", RefusalKind.INVALID) from None
    digest = hashlib.sha256(
        "\n".join(f"{t.release_id} {t.path} {t.sha256}" for t in tables).encode()
    ).hexdigest()
    key = (str(env.data_dir.root), name)
    with _DRAWING:
        drawn = _DRAWN.get(key)
        if drawn is not None and drawn[0] == digest and (drawn[1] / PAGE).is_file():
            return drawn[1]
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_home()))
        try:
            draw_dashboard(tables, name, folder)
        except DashboardError:
            shutil.rmtree(folder, ignore_errors=True)
            raise Refused(f"no published dashboard {name}", RefusalKind.INVALID) from None
        if drawn is not None:
            shutil.rmtree(drawn[1], ignore_errors=True)
        _DRAWN[key] = (digest, folder)
        return folder
