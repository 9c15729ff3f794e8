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
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from fivesafes.ledger.entry import check_subject
from fivesafes.ledger.log import Record
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


RECENT = 1.0
"""Seconds an authentication is reused for the same token and purpose while the control plane
is unchanged."""


def _control_stamp(cp: ControlPlane) -> tuple[int, int, int] | None:
    """Something that changes whenever the control plane's database commits a change: a SQLite
    file's identity, size and modification time (every committed write rewrites pages of it).
    None where no such cheap sign exists (PostgreSQL): every request is then authenticated."""
    url = cp.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    try:
        st = os.stat(url.database)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class RecentCallers:
    """Callers authenticated in the last :data:`RECENT` second, by token and purpose.

    A server answering hundreds of reads a second from one clinician's system would otherwise
    check the same token, account, roles, scopes and links (seven queries) and write the same
    ``login`` entry hundreds of times a second. An authentication is reused only while the
    control plane's database is unchanged, so a revoked token, a disabled account or a changed
    role is refused at the very next request; the interval bounds how late a token or account
    that simply expires is noticed. Every reuse is still a checked caller: reads are logged as
    ``identifiable_read`` entries one by one.
    """

    seconds: float = RECENT
    _known: dict[tuple[str, tuple[Action, ...]], tuple[float, Any, Caller]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self, key: tuple[str, tuple[Action, ...]], stamp: tuple[int, int, int] | None
    ) -> Caller | None:
        if stamp is None:
            return None
        with self._lock:
            found = self._known.get(key)
        if found is None:
            return None
        at, their_stamp, who = found
        if their_stamp != stamp or time.monotonic() - at > self.seconds:
            return None
        return who

    def put(
        self, key: tuple[str, tuple[Action, ...]], stamp: tuple[int, int, int] | None, who: Caller
    ) -> None:
        if stamp is None:
            return
        with self._lock:
            if len(self._known) > 10_000:  # many tokens at once: start again rather than grow
                self._known.clear()
            self._known[key] = (time.monotonic(), stamp, who)


@dataclass
class Records:
    """The identifiable layer and the control plane, open for a long-lived face."""

    cp: ControlPlane
    data_dir: DataDir
    follower: Follower
    reads_log: GroupCommit
    recent: RecentCallers = field(default_factory=RecentCallers)

    @classmethod
    def open(cls, env: Environment) -> Records:
        return cls(env.cp, env.data_dir, Follower(env.data_dir), GroupCommit(env.cp))

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
    entry names what they came to do); refused, and logged, if they hold none of them. An
    authentication of the same token made in the last second is reused while the control plane
    is unchanged (:class:`RecentCallers`)."""
    if not credential:
        raise AccessDenied("this needs a bearer token")
    cp = records.cp
    key = (hashlib.sha256(credential.encode()).hexdigest(), tuple(actions))
    stamp = _control_stamp(cp)
    known = records.recent.get(key, stamp)
    if known is not None:
        return known
    try:
        roles = roles_of(session, cp.identity.identify(session, credential, cp.now()).person_id)
    except AccessDenied:
        roles = frozenset()  # authenticate below refuses it, and logs the refusal
    chosen = next((a for a in actions if allowed(roles, a)), actions[0])
    who = identify(cp, session, credential, chosen)
    records.recent.put(key, stamp, who)
    return who


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


def _read_subject(who: Caller, patient: str, types: Iterable[str], relationship: str,
                  reason: str | None) -> dict[str, Any]:  # fmt: skip
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
        text = reason or ""
        try:
            check_subject({"reason": text})
            subject["reason"] = text
        except PatientDataError:  # a reason that looks like personal data: keep its hash only
            subject["reason_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    return subject


@dataclass
class _Waiting:
    records: list[Record]
    done: bool = False
    error: BaseException | None = None


@dataclass
class GroupCommit:
    """Many requests' ledger entries appended together, each request answered only once its
    own entries are stored.

    Appending one entry is one SQLite transaction (most of its cost is the commit), and a
    server under load has many requests waiting to log a read at once. So the first request to
    arrive writes what every request waiting beside it has queued, in one ``append_many``
    transaction, while later arrivals queue for the next group; each request returns (and its
    response leaves) only when the group holding its entries is committed. With one request at
    a time it is exactly one append per request. A group that fails (an entry the ledger
    refuses) is retried request by request, so each request gets its own error.
    """

    cp: ControlPlane
    _pending: list[_Waiting] = field(default_factory=list)
    _writing: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def append(self, records: list[Record]) -> None:
        mine = _Waiting(records)
        with self._cond:
            self._pending.append(mine)
            while not mine.done:
                if self._writing:
                    self._cond.wait()
                    continue
                group, self._pending, self._writing = self._pending, [], True
                self._cond.release()
                try:
                    self._write(group)
                finally:
                    self._cond.acquire()
                    self._writing = False
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error

    def _write(self, group: list[_Waiting]) -> None:
        try:
            self.cp.ledger.append_many([r for waiting in group for r in waiting.records])
        except BaseException:
            for waiting in group:
                try:
                    self.cp.ledger.append_many(waiting.records)
                except BaseException as exc:  # handed to the request it belongs to
                    waiting.error = exc
        for waiting in group:
            waiting.done = True


def log_reads(
    records: Records,
    who: Caller,
    reads: Iterable[tuple[str, Iterable[str], str]],
    reason: str | None = None,
) -> None:
    """One ``identifiable_read`` entry per patient read: (patient id, types, relationship),
    stored (with other requests' entries, :class:`GroupCommit`) before this returns."""
    entries: list[Record] = [
        ("identifiable_read", who.person_id, _read_subject(who, patient, types, how, reason))
        for patient, types, how in reads
    ]
    if entries:
        records.reads_log.append(entries)


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
