"""Suspending the whole environment in the first minutes of an incident (SATRE 2.6.04).

When something may be going wrong — a leaked token, a suspected breach, a release that should
not have left — the first need is to stop everything at once, before anyone knows what
happened, and without editing anyone's account or project. A data custodian suspends the
environment, naming the reason and, where it is registered yet, the incident: from then on every
action but the response's own (:data:`fivesafes.governance.people.DURING_SUSPENSION`) is refused,
whoever asks and under any policy, and the refusal says why. Lifting it is a second, logged
step. Both are public ``environment`` entries in the ledger: the public sees that the
environment stopped, and when it resumed.
"""

from __future__ import annotations

from fivesafes.governance.control import ControlPlane
from fivesafes.governance.operating_tables import Incident, Suspension
from fivesafes.governance.people import active_suspension
from fivesafes.governance.roles import Action


def suspend(cp: ControlPlane, credential: str, reason: str, incident_id: str | None = None) -> int:
    """Stop every action but the incident response's; returns the suspension's number."""
    if not reason.strip():
        raise ValueError("say why the environment is suspended")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_INCIDENTS)
        held = active_suspension(session)
        if held is not None:
            raise ValueError(f"the environment is already suspended ({held.reason})")
        if incident_id is not None and session.get(Incident, incident_id) is None:
            raise ValueError(f"no incident {incident_id}")
        row = Suspension(
            incident_id=incident_id,
            reason=reason.strip(),
            suspended_by=me.person_id,
            suspended_at=cp.now(),
        )
        session.add(row)
        session.flush()
        statement = f"suspended: {reason.strip()}" + (f" ({incident_id})" if incident_id else "")
        cp.log("environment", {"change": "suspended", "statement": statement}, me.person_id)
        return row.suspension_id


def resume(cp: ControlPlane, credential: str) -> None:
    """Lift the suspension in force."""
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.MANAGE_INCIDENTS)
        held = active_suspension(session)
        if held is None:
            raise ValueError("the environment is not suspended")
        held.lifted_by, held.lifted_at = me.person_id, cp.now()
        statement = f"resumed after: {held.reason}"
        cp.log("environment", {"change": "resumed", "statement": statement}, me.person_id)
