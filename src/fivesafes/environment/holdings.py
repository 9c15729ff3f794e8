"""What the environment holds (SATRE 3.1.08): each dataset of the register beside the approved
projects that may use it.

The register says what a dataset is and under which agreement it is held; the projects'
approved applications say who may reach it. Shown together, a data controller reviewing an
agreement sees at once every project it serves, and a dataset no project uses stands out as
one to delete.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select

from fivesafes.governance import ControlPlane
from fivesafes.governance.datasets import DatasetEntry, register
from fivesafes.governance.tables import ApplicationVersion, Project


@dataclass(frozen=True)
class Holding:
    entry: DatasetEntry
    projects: tuple[str, ...]
    """The approved projects whose approval names this dataset."""


def holdings(cp: ControlPlane) -> list[Holding]:
    """Every dataset in the register with the approved projects that may use it (public)."""
    using: dict[str, list[str]] = {}
    with cp.transaction() as session:
        for project in session.scalars(select(Project).order_by(Project.project_id)):
            if project.status != "approved" or project.approved_version is None:
                continue
            form = session.get(ApplicationVersion, (project.project_id, project.approved_version))
            for dataset in orjson.loads(form.form)["datasets"] if form else {}:
                using.setdefault(dataset, []).append(project.project_id)
    return [Holding(e, tuple(using.get(e.dataset, ()))) for e in register(cp)]
