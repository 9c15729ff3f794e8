"""The security-log report for a period (SATRE 2.5.03: security logs of significant events,
reviewed to detect and respond to suspicious activity).

The security log is the ledger itself — tamper-evident, append-only, signed — so the report
reads it, not a second log that could disagree: refused sign-ins and refused actions, changes
to accounts and their roles, reads of identifiable data (break-glass reads through the care
APIs), and administrative actions (datasets, incidents, backups, restores, decommissioning).
Only a data custodian may read it, because refusals can name people who tried.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from fivesafes.governance.control import ControlPlane
from fivesafes.governance.roles import Action

ADMINISTRATIVE = frozenset({"dataset", "incident", "environment", "project_record"})


@dataclass(frozen=True)
class SecurityEvent:
    index: int
    time: str
    kind: str
    actor: str
    what: str


@dataclass(frozen=True)
class SecurityReport:
    start: datetime
    end: datetime
    refused: list[SecurityEvent] = field(default_factory=list)
    account_changes: list[SecurityEvent] = field(default_factory=list)
    identifiable_reads: list[SecurityEvent] = field(default_factory=list)
    administrative: list[SecurityEvent] = field(default_factory=list)

    def refusals_by_person(self) -> Counter[str]:
        """Who was refused how often: many refusals of one person are worth a look."""
        return Counter(e.actor for e in self.refused)


def _describe(kind: str, subject: dict[str, object]) -> str:
    if kind == "login":
        return f"{subject.get('action')}: {subject.get('outcome')}"
    if kind == "account":
        return f"{subject.get('person_id')}: {subject.get('change')} {subject.get('role', '')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(subject.items()) if not k.endswith("sha256"))


def security_report(
    cp: ControlPlane, credential: str, start: datetime, end: datetime
) -> SecurityReport:
    """Every significant security event with ``start <= time < end``."""
    with cp.transaction() as session:
        cp.authenticate(session, credential, Action.OPERATE)
    report = SecurityReport(start, end)
    for raw in cp.ledger.entries():
        entry = orjson.loads(raw)
        time = entry["time"]
        if not start <= datetime.fromisoformat(time.replace("Z", "+00:00")) < end:
            continue
        kind, subject = entry["kind"], entry["subject"]
        event = SecurityEvent(entry["index"], time, kind, entry["actor"], _describe(kind, subject))
        if kind in ("login", "refusal") and str(subject.get("outcome", "refused")).startswith(
            "refused"
        ):
            report.refused.append(event)
        elif kind == "account" and subject.get("change") not in ("token_issued", "signed_in"):
            report.account_changes.append(event)
        elif kind == "identifiable_read":
            report.identifiable_reads.append(event)
        elif kind in ADMINISTRATIVE:
            report.administrative.append(event)
    return report
