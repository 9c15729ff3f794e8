"""Projects as use cases: apply, revise, decide (signed, with a key in hand or in two steps
with the key kept elsewhere, :mod:`.prepared`), the public lists, and what governs an
approved project: its documents (DPIA, ethics, agreement, funding), its resource ceiling, and
closing it at the end.

Governance holds the rules: one form for every approval, decisions signed with the decider's own
registered key, nobody deciding a project they are on or applied for, documents and ceilings set
by an approver off the project, closure by a data custodian. Here each step is one call a face
makes with the caller's credential, and each refusal is logged as one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivesafes.environment import prepared
from fivesafes.environment.prepared import Prepared
from fivesafes.environment.project_close import ProjectClosed, close_project
from fivesafes.environment.refusals import refusing
from fivesafes.governance import (
    Application,
    DecisionRecord,
    Verdict,
    decide,
    list_projects,
    revise_project,
    submit_project,
    waiting_summary,
    waiting_times,
)
from fivesafes.governance import whoami as governance_whoami
from fivesafes.governance.project_records import Ceiling, record_document, set_ceiling
from fivesafes.governance.projects import ProjectSummary, Status, Wait
from fivesafes.governance.projects import decision_statement as governance_statement
from fivesafes.governance.signing import DecisionSigner

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def apply(env: Environment, credential: str, project_id: str, form: Application) -> int:
    """Submit a new application (an analyst, who must be one of its members); its version."""
    with refusing(env.cp, "submit_project"):
        return submit_project(env.cp, credential, project_id, form)


def revise(env: Environment, credential: str, project_id: str, form: Application) -> int:
    """Resubmit after changes were asked for (a member); the new version."""
    with refusing(env.cp, "revise_project"):
        return revise_project(env.cp, credential, project_id, form)


def decision(
    env: Environment,
    credential: str,
    project_id: str,
    verdict: Verdict,
    reasons: str,
    signer: DecisionSigner,
    until: date | None = None,
) -> DecisionRecord:
    """Approve (until a date), ask for changes or reject, signed with the approver's own key."""
    with refusing(env.cp, "decide_project"):
        return decide(env.cp, credential, project_id, verdict, reasons, signer, until)


def decision_statement(
    env: Environment,
    credential: str,
    project_id: str,
    verdict: Verdict,
    reasons: str,
    until: date | None = None,
    key_id: str | None = None,
) -> Prepared:
    """The statement an approver's decision would record, prepared for them to sign on their
    own machine (with the key named, or their only one); every check of a decision is made."""
    with refusing(env.cp, "decide_project"):
        key, pinned = prepared.pinning(env)
        statement = governance_statement(
            env.cp, credential, project_id, verdict, reasons, until, key_id, pinned
        )
        return prepared.prepared(key, prepared.DECISION, statement, pinned)


def signed_decision(
    env: Environment,
    credential: str,
    project_id: str,
    statement: Mapping[str, Any],
    reasons: str,
    signature: str,
    seal: str,
) -> DecisionRecord:
    """Record a decision :func:`decision_statement` prepared and the approver signed: only if
    the statement is still exactly what deciding now would record, unexpired, and signed with
    the approver's own registered key."""
    with refusing(env.cp, "decide_project"):
        signed = prepared.signed_elsewhere(
            env, prepared.DECISION, statement, "decided_at", signature, seal
        )
        verdict, until = _verdict_of(statement)
        return decide(env.cp, credential, project_id, verdict, reasons, signed, until)


def _verdict_of(statement: Mapping[str, Any]) -> tuple[Verdict, date | None]:
    verdict = prepared.choice_of(statement, "decision", Verdict)
    until = statement.get("until")
    if until is None:
        return verdict, None
    try:
        return verdict, date.fromisoformat(str(until))
    except ValueError:
        raise ValueError("statement.until: expected a date, like 2027-03-31") from None


def listing(env: Environment) -> list[ProjectSummary]:
    """Every project and its status: public."""
    with refusing(env.cp, "list_projects"):
        return list_projects(env.cp)


def projects_of(env: Environment, credential: str) -> list[ProjectSummary]:
    """The projects the caller is a member of (anyone signed in; their own only)."""
    with refusing(env.cp, "my_projects"):
        me = governance_whoami(env.cp, credential)
        return [p for p in list_projects(env.cp) if me.person_id in p.members]


def awaiting_decision(env: Environment, credential: str) -> list[ProjectSummary]:
    """Applications submitted and not yet decided, for an approver's list (anyone signed in:
    which are waiting is public; whether one may decide is :func:`decision`'s to say)."""
    with refusing(env.cp, "applications_waiting"):
        governance_whoami(env.cp, credential)
        return [p for p in list_projects(env.cp) if p.status == Status.SUBMITTED]


def waits(env: Environment) -> tuple[list[Wait], dict[str, dict[str, float | int]]]:
    """Every wait of every application and a summary per step: public, so delays are seen."""
    with refusing(env.cp, "project_waits"):
        found = waiting_times(env.cp)
        return found, waiting_summary(found)


def document(
    env: Environment, credential: str, project_id: str, kind: str, reference: str, ends: date
) -> None:
    """Record (or renew) a project's DPIA, ethics approval, agreement or funding and the day it
    ends (an approver off the project); once it ends, the project's jobs and releases stop."""
    with refusing(env.cp, "record_project_document"):
        record_document(env.cp, credential, project_id, kind, reference, ends)


def ceiling(env: Environment, credential: str, project_id: str, limits: Ceiling) -> None:
    """Set the most each of a project's job actions may use (an approver, not the analyst)."""
    with refusing(env.cp, "set_project_ceiling"):
        set_ceiling(env.cp, credential, project_id, limits)


def close(
    env: Environment,
    credential: str,
    project_id: str,
    key: bytes,
    archive: Path,
    workspaces: Sequence[Path] = (),
) -> ProjectClosed:
    """Archive a finished project's outputs, history and ``workspaces`` into ``archive``
    (sealed with the backup ``key``), then delete them (a data custodian)."""
    with refusing(env.cp, "close_project"):
        return close_project(env.cp, credential, env.data_dir, project_id, key, archive, workspaces)
