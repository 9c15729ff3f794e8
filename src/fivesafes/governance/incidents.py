"""The incident and deviation register (SATRE 1.2.09, 1.2.10, 2.6.04; 1.7.04 public notices).

An incident, a deviation from a process, or an audit finding is opened by a data custodian
with its severity, a summary and the ledger entries involved (which must exist: the register
points into the tamper-evident record, not beside it), and closed only with its root cause and
the actions taken, so that every issue informs a change. One that affects the public carries
a notice in plain words, and that notice — never the summary, which may describe people — is
what the public view of the ledger shows.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from fivesafes.governance.control import ControlPlane
from fivesafes.governance.operating_tables import Incident
from fivesafes.governance.roles import Action
from fivesafes.governance.signing import sha256_hex


class Category(StrEnum):
    INCIDENT = "incident"
    DEVIATION = "deviation"
    AUDIT_FINDING = "audit_finding"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class IncidentView:
    incident_id: str
    category: str
    severity: str
    status: str
    summary: str
    entries: tuple[int, ...]
    notice: str | None
    opened_at: datetime
    root_cause: str | None
    actions: str | None


def _view(row: Incident) -> IncidentView:
    return IncidentView(
        row.incident_id,
        row.category,
        row.severity,
        row.status,
        row.summary,
        tuple(json.loads(row.entries)),
        row.notice,
        row.opened_at,
        row.root_cause,
        row.actions,
    )


def open_incident(
    cp: ControlPlane,
    credential: str,
    category: Category,
    severity: Severity,
    summary: str,
    entries: Sequence[int],
    notice: str | None = None,
) -> str:
    """Register an issue linked to the ledger entries involved; returns its id."""
    if not summary.strip():
        raise ValueError("describe what happened")
    size = cp.ledger.size
    missing = [i for i in entries if not 0 <= i < size]
    if missing:
        raise ValueError(f"ledger entries {missing} do not exist (the ledger has {size})")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_INCIDENTS)
        incident_id = f"INC-{cp.today():%Y%m%d}-{secrets.token_hex(3)}"
        session.add(
            Incident(
                incident_id=incident_id,
                category=category.value,
                severity=severity.value,
                summary=summary.strip(),
                entries=json.dumps(sorted(set(entries))),
                affects_public=notice is not None,
                notice=notice,
                status="open",
                opened_by=me.person_id,
                opened_at=cp.now(),
            )
        )
        subject = {
            "incident_id": incident_id,
            "change": "opened",
            "category": category.value,
            "severity": severity.value,
            "entries": sorted(set(entries)),
            "summary_sha256": sha256_hex(summary.strip()),
        }
        if notice is not None:
            subject["notice"] = notice
        cp.log("incident", subject, me.person_id)
        return incident_id


def close_incident(
    cp: ControlPlane, credential: str, incident_id: str, root_cause: str, actions: str
) -> None:
    """Resolve an issue: its root cause and the changes made so it does not happen again."""
    if not root_cause.strip() or not actions.strip():
        raise ValueError("closing an incident needs its root cause and the actions taken")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_INCIDENTS)
        row = session.get(Incident, incident_id)
        if row is None:
            raise ValueError(f"no incident {incident_id}")
        if row.status == "closed":
            raise ValueError(f"{incident_id} is already closed")
        row.status, row.root_cause, row.actions = "closed", root_cause.strip(), actions.strip()
        row.closed_by, row.closed_at = me.person_id, cp.now()
        subject = {
            "incident_id": incident_id,
            "change": "closed",
            "root_cause_sha256": sha256_hex(root_cause.strip()),
        }
        cp.log("incident", subject, me.person_id)


def list_incidents(
    cp: ControlPlane, credential: str, *, open_only: bool = False
) -> list[IncidentView]:
    with cp.transaction() as session:
        cp.authenticate(session, credential, Action.MANAGE_INCIDENTS)
        query = select(Incident).order_by(Incident.opened_at)
        if open_only:
            query = query.where(Incident.status == "open")
        return [_view(r) for r in session.scalars(query)]
