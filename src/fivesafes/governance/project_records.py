"""A project's governing documents and resource ceilings, kept current for the project's whole
life (SATRE 1.3.02, 1.4.01, 1.4.02, 2.3.03).

Approval is one moment; a project lives for years, and what made it lawful can lapse before its
approval does: the DPIA is due for review, the ethics approval or the data-sharing agreement
ends, the funding stops. So an approver records each document's reference and end date, and the
project gate (:func:`fivesafes.governance.projects.authorise_job`, and every other step on the
project's behalf) refuses once any of them has ended, or while one the access policy requires is
missing — the refusal names the document and is in the ledger.

Resource ceilings are set the same way, by an approver and not by the analyst: a job may ask for
less than its project's ceiling, never more, and the sandbox is given the ceiling as its limits
when the job asks for nothing (:func:`bounded`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.governance.control import ControlPlane, Principal
from fivesafes.governance.operating_tables import ProjectCeiling, ProjectClosure, ProjectDocument
from fivesafes.governance.roles import Action
from fivesafes.governance.tables import ApplicationVersion, Project

DOCUMENTS = {
    "dpia": "data protection impact assessment",
    "ethics": "ethics approval",
    "data_sharing_agreement": "data-sharing agreement",
    "funding": "funding",
}
"""The documents a project carries, each with a reference and the date it ends."""


@dataclass(frozen=True)
class Ceiling:
    """The most a project's jobs may use, per action, as the approver set it."""

    cpu_cores: float
    memory_bytes: int
    storage_bytes: int
    wall_seconds: float

    def problems(self) -> list[str]:
        return [f"{f.name} must be more than 0" for f in fields(self) if getattr(self, f.name) <= 0]


_LIMIT_OF = {
    "cpu_cores": "cpu_cores",
    "memory_bytes": "memory_bytes",
    "storage_bytes": "file_bytes",
    "wall_seconds": "wall_seconds",
}
"""Which field of the sandbox's limits each ceiling bounds (storage: the largest file written)."""


class _Limits(Protocol):
    """The sandbox's limits (``fivesafes.jobs.process.Limits``), as far as ceilings bound them."""

    @property
    def cpu_cores(self) -> float: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def file_bytes(self) -> int: ...
    @property
    def wall_seconds(self) -> float: ...


L = TypeVar("L", bound=_Limits)


def _governing(
    cp: ControlPlane, session: Session, credential: str, project_id: str
) -> tuple[Principal, Project]:
    """An approver who is neither on the project nor its creator (no one governs their own)."""
    me = cp.authenticate(session, credential, Action.GOVERN_PROJECT)
    project = session.get(Project, project_id)
    if project is None:
        raise ValueError(f"no project {project_id}")
    version = session.get(ApplicationVersion, (project_id, project.version))
    members = orjson.loads(version.form)["members"] if version is not None else []
    if me.person_id == project.created_by or me.person_id in members:
        raise cp.refuse(me, Action.GOVERN_PROJECT, f"conflict: on project {project_id}")
    return me, project


def record_document(
    cp: ControlPlane, credential: str, project_id: str, document: str, reference: str, ends_on: date
) -> None:
    """Record (or renew) one of a project's documents and the date it ends."""
    if document not in DOCUMENTS:
        raise ValueError(f"document must be one of {', '.join(DOCUMENTS)}, not {document!r}")
    if not reference.strip():
        raise ValueError(f"the {DOCUMENTS[document]} needs its reference")
    if ends_on <= cp.today():
        raise ValueError(f"the {DOCUMENTS[document]} must end in the future, not on {ends_on}")
    with cp.transaction() as session:
        me, _ = _governing(cp, session, credential, project_id)
        row = session.get(ProjectDocument, (project_id, document))
        if row is None:
            row = ProjectDocument(project_id=project_id, document=document)
            session.add(row)
        row.reference, row.ends_on = reference, ends_on
        row.recorded_by, row.recorded_at = me.person_id, cp.now()
        subject = {
            "project_id": project_id,
            "change": "document",
            "document": document,
            "until": ends_on.isoformat(),
            "reference_sha256": hashlib.sha256(reference.encode()).hexdigest(),
        }
        cp.log("project_record", subject, me.person_id)


def set_ceiling(cp: ControlPlane, credential: str, project_id: str, ceiling: Ceiling) -> None:
    """Set the resources each of a project's job actions may use at most."""
    problems = ceiling.problems()
    if problems:
        raise ValueError("; ".join(problems))
    with cp.transaction() as session:
        me, _ = _governing(cp, session, credential, project_id)
        row = session.get(ProjectCeiling, project_id)
        if row is None:
            row = ProjectCeiling(project_id=project_id)
            session.add(row)
        for f in fields(ceiling):
            setattr(row, f.name, getattr(ceiling, f.name))
        row.set_by, row.set_at = me.person_id, cp.now()
        subject = {"project_id": project_id, "change": "ceiling", "ceilings": _as_dict(ceiling)}
        cp.log("project_record", subject, me.person_id)


MIB = 1024**2


def _shown(name: str, value: float) -> str:
    return f"{value / MIB:g} MiB" if name.endswith("_bytes") else f"{value:g}"


def _as_dict(ceiling: Ceiling) -> dict[str, Any]:
    """The ceiling as the ledger keeps it: sizes in MiB (a byte count can look like an NHS
    number to the ledger's guard, and MiB is what people read)."""
    return {f.name: _shown(f.name, getattr(ceiling, f.name)) for f in fields(ceiling)}


def project_problem(
    session: Session, project_id: str, today: date, required: tuple[str, ...]
) -> str | None:
    """Why the project's documents stop its work today (ended, or required and missing), or
    its closure (:mod:`fivesafes.environment.project_close`) does."""
    closed = session.get(ProjectClosure, project_id)
    if closed is not None:
        return f"it was closed on {closed.closed_at:%Y-%m-%d}"
    held = {
        d.document: d
        for d in session.scalars(
            select(ProjectDocument).where(ProjectDocument.project_id == project_id)
        )
    }
    for name, row in sorted(held.items()):
        if row.ends_on < today:
            return f"its {DOCUMENTS.get(name, name)} ({row.reference}) ended on {row.ends_on}"
    missing = [DOCUMENTS[d] for d in required if d not in held]
    if missing:
        return f"no {', '.join(missing)} is recorded for it"
    return None


def ceiling_of(session: Session, project_id: str) -> Ceiling | None:
    row = session.get(ProjectCeiling, project_id)
    if row is None:
        return None
    return Ceiling(row.cpu_cores, row.memory_bytes, row.storage_bytes, row.wall_seconds)


def over_ceiling(ceiling: Ceiling | None, asked: dict[str, float]) -> list[str]:
    """Each resource ``asked`` for (named as :class:`Ceiling`'s fields) beyond the ceiling."""
    if ceiling is None:
        return []
    unknown = sorted(set(asked) - set(_LIMIT_OF))
    if unknown:
        raise ValueError(f"no ceiling is kept for {', '.join(unknown)}")
    return [
        f"{name} {_shown(name, value)} is over the project's ceiling of "
        f"{_shown(name, getattr(ceiling, name))}"
        for name, value in sorted(asked.items())
        if value > getattr(ceiling, name)
    ]


def bounded(limits: L, ceiling: Ceiling | None) -> L:
    """The sandbox's ``limits`` lowered to the project's ceiling wherever they exceed it."""
    if ceiling is None:
        return limits
    lowered = {
        field: min(getattr(limits, field), getattr(ceiling, name))
        for name, field in _LIMIT_OF.items()
    }
    return replace(limits, **lowered)  # type: ignore[type-var]
