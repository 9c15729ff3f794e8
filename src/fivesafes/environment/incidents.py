"""Incident response as use cases: the register, suspending the environment, the security log.

Governance holds the rules (only a data custodian manages incidents, a suspension stops every
action but the response's, closing needs a root cause). Here each step is one call a face makes
with the caller's credential, so a person without the role is refused the same way from the
command line as from any later face, and the refusal is in the ledger as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from fivesafes.environment.refusals import refusing
from fivesafes.governance import incidents, security_log, suspension
from fivesafes.governance.incidents import Category, IncidentView, Severity
from fivesafes.governance.security_log import SecurityReport

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def open_incident(
    env: Environment,
    credential: str,
    category: Category,
    severity: Severity,
    summary: str,
    entries: Sequence[int] = (),
    notice: str | None = None,
) -> str:
    """Register an incident, deviation or audit finding linked to the ledger entries involved
    (a data custodian); its id."""
    with refusing(env.cp, "open_incident"):
        return incidents.open_incident(
            env.cp, credential, category, severity, summary, entries, notice
        )


def close_incident(
    env: Environment, credential: str, incident_id: str, root_cause: str, actions: str
) -> None:
    """Close an incident with its root cause and what was done so it cannot recur."""
    with refusing(env.cp, "close_incident"):
        incidents.close_incident(env.cp, credential, incident_id, root_cause, actions)


def register(env: Environment, credential: str, *, open_only: bool = False) -> list[IncidentView]:
    """The incident register (a data custodian): it names ledger entries and causes."""
    with refusing(env.cp, "list_incidents"):
        return incidents.list_incidents(env.cp, credential, open_only=open_only)


def suspend(env: Environment, credential: str, reason: str, incident_id: str | None = None) -> int:
    """Suspend the whole environment while an incident is handled (a data custodian); the
    ledger entry's index."""
    with refusing(env.cp, "suspend_environment"):
        return suspension.suspend(env.cp, credential, reason, incident_id)


def resume(env: Environment, credential: str) -> None:
    """Lift the suspension (a data custodian)."""
    with refusing(env.cp, "resume_environment"):
        suspension.resume(env.cp, credential)


def security_report(
    env: Environment, credential: str, start: datetime, end: datetime
) -> SecurityReport:
    """Refused sign-ins, account changes, identifiable reads and administrative actions with
    ``start <= time < end``, for review (a data custodian)."""
    with refusing(env.cp, "security_report"):
        return security_log.security_report(env.cp, credential, start, end)
