"""What the record use cases (care, personal, directory) share: where records are, who is
calling, how a read is logged, and the ways such a use case says no.

:class:`Records` is the open identifiable layer for a long-lived face (the API server), opened
from an open :class:`~fivesafes.environment.core.Environment` (so a server, like every other
face, starts only in an initialised environment whose key is in place, after recovery): its
control plane, its data directory and a :class:`~fivesafes.store.versions.Follower` that always
reads the newest committed version of the store, so reads go on while loads run.

Every read of a person's record is an ``identifiable_read`` ledger entry saying who read it,
which record (the Patient's resource id, never the NHS number), which resource types, and the
relationship that allowed it (``registered``, ``encounter``, ``self``) or the break-glass reason;
:func:`reads_of` lists them back for the person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import orjson
from sqlalchemy.orm import Session

from fivesafes.governance import AccessDenied, Action, ControlPlane
from fivesafes.governance.access import Caller, identify
from fivesafes.governance.control import roles_of
from fivesafes.governance.roles import allowed
from fivesafes.governance.scopes import Permission
from fivesafes.ledger import PatientDataError
from fivesafes.store.config import DataDir
from fivesafes.store.load import LoadReport
from fivesafes.store.versions import Follower

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


class NotFound(LookupError):
    """No such resource (or none the caller may know exists)."""


class Gone(LookupError):
    """The resource was deleted."""


class VersionMismatch(ValueError):
    """The change was made against a version that is no longer the current one."""


class PreconditionRequired(ValueError):
    """A change must say which version it changes (``If-Match``)."""


@dataclass(frozen=True)
class Issue:
    """One problem with a request, as an OperationOutcome issue: where, which rule, what."""

    path: str
    code: str
    message: str


class Invalid(ValueError):
    """The request cannot be done as asked; ``issues`` say where and why."""

    def __init__(self, message: str, issues: Sequence[Issue] = (), code: str = "invalid") -> None:
        super().__init__(message)
        self.issues = tuple(issues) or (Issue("", code, message),)
        self.code = code


def rejections(report: LoadReport) -> list[Issue]:
    """Each finding of each record a load rejected, as issues to answer a request with."""
    return [
        Issue(path, rule, message)
        for verdict in report.verdicts
        if not verdict.accepted
        for path, rule, message in verdict.findings
    ]


@dataclass
class Records:
    """The identifiable layer and the control plane, open for a long-lived face."""

    cp: ControlPlane
    data_dir: DataDir
    follower: Follower

    @classmethod
    def open(cls, env: Environment) -> Records:
        return cls(env.cp, env.data_dir, Follower(env.data_dir))

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.follower.reading() as cursor:
            yield cursor

    def close(self) -> None:
        self.follower.close()


def caller(
    records: Records, session: Session, credential: str | None, actions: Sequence[Action]
) -> Caller:
    """The caller, authenticated for the first of ``actions`` their roles allow (so the login
    entry names what they came to do); refused, and logged, if they hold none of them."""
    if not credential:
        raise AccessDenied("this needs a bearer token")
    cp = records.cp
    try:
        roles = roles_of(session, cp.identity.identify(session, credential, cp.now()).person_id)
    except AccessDenied:
        roles = frozenset()  # authenticate below refuses it, and logs the refusal
    chosen = next((a for a in actions if allowed(roles, a)), actions[0])
    return identify(cp, session, credential, chosen)


def require_scope(
    cp: ControlPlane, who: Caller, rtype: str, permission: Permission, action: Action
) -> None:
    """Refuse (and log) what the token's scopes do not grant, whatever the role allows."""
    if not who.scopes.grants(rtype, permission):
        reason = (
            f"the token's scopes ({who.scopes or 'none'}) do not allow "
            f"{permission.name.lower()} of {rtype}"
        )
        raise cp.refuse(who.principal, action, reason)


def log_reads(
    cp: ControlPlane,
    who: Caller,
    reads: Iterable[tuple[str, Iterable[str], str]],
    reason: str | None = None,
) -> None:
    """One ``identifiable_read`` entry per patient read: (patient id, types, relationship)."""
    records = []
    for patient, types, relationship in reads:
        subject: dict[str, Any] = {
            "patient": patient,
            "resource_types": sorted(set(types)),
            "relationship": relationship,
        }
        if who.client_id:
            subject["client_id"] = who.client_id
        if who.ods_code:
            subject["ods_code"] = who.ods_code
        if relationship == "break-glass":
            subject["break_glass"] = 1
            subject["reason"] = reason or ""
        records.append(("identifiable_read", who.person_id, subject))
    for kind, actor, subject in records:
        try:
            cp.log(kind, subject, actor)
        except PatientDataError:  # a reason that looks like personal data: keep its hash only
            text = str(subject.pop("reason", ""))
            subject["reason_sha256"] = hashlib.sha256(text.encode()).hexdigest()
            cp.log(kind, subject, actor)


@dataclass(frozen=True)
class ReadEntry:
    """One read of a person's record, as the person is shown it."""

    index: int
    time: str
    reader: str
    resource_types: tuple[str, ...]
    relationship: str
    reason: str | None


def reads_of(cp: ControlPlane, patient_id: str) -> list[ReadEntry]:
    """Every read of one person's record, oldest first, from the ledger."""
    found = []
    for entry in cp.ledger.of_kinds(["identifiable_read"]):
        record = orjson.loads(entry)
        subject = record["subject"]
        if subject.get("patient") != patient_id:
            continue
        found.append(
            ReadEntry(
                record["index"],
                record["time"],
                record["actor"],
                tuple(subject.get("resource_types", ())),
                subject.get("relationship", ""),
                subject.get("reason"),
            )
        )
    return found
