"""The control plane: its database, its ledger, its clock, and the check every action goes through.

Every operation in :mod:`.accounts`, :mod:`.projects` and :mod:`.optouts` takes the caller's
credential, not a trusted user object, and calls :meth:`ControlPlane.authenticate` inside its own
transaction: so an account or token that expired a second ago can do nothing, whatever the caller
held before. Each use of a credential, allowed or refused, is a ``login`` entry in the ledger.

Ledger entries for a change are appended inside the change's database transaction, just before it
commits: if the ledger cannot be written, the change is rolled back, so nothing happens unlogged.
A command whose change must also survive a kill between the two writes runs as an
:meth:`ControlPlane.operation`: an intent entry first, the change, then its outcome entry, with a
lock held throughout (see :mod:`fivesafes.ledger.intents`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fivesafes.governance.database import database_url, open_engine
from fivesafes.governance.identity import IdentityProvider, PersonalTokens
from fivesafes.governance.ledger_store import SqlLedgerStore
from fivesafes.governance.people import AccessPolicy
from fivesafes.governance.roles import (
    AccessDenied,
    Action,
    Role,
    allowed,
    needed_roles,
    roles_problem,
)
from fivesafes.governance.tables import Account, AccountRole
from fivesafes.ledger import (
    Ledger,
    LedgerError,
    LedgerStorageError,
    LedgerStore,
    Receipt,
    SqliteLedgerStore,
    VerifyReport,
    configured_origin,
)
from fivesafes.ledger.audit import audit_store
from fivesafes.ledger.intents import (
    INTERRUPTED,
    LOCK_SUFFIX,
    Intent,
    Operation,
    OperationBusy,
    OperationLock,
    Resolver,
    is_answered,
    open_intents,
)
from fivesafes.store.config import DataDir

LEDGER_FILE = "ledger.sqlite"
OPERATIONS_FOLDER = "operations"
"""Where the locks of operations under way are kept, in the data directory."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Principal:
    """A caller whose credential and account were checked just now, in this transaction."""

    person_id: str
    roles: frozenset[Role]
    token_id: str | None

    def may(self, action: Action) -> bool:
        return allowed(self.roles, action)


def account_problem(account: Account, now: datetime) -> str | None:
    """Why an account may not act right now, or None if it may."""
    if account.disabled_at is not None:
        return f"account {account.person_id} is disabled"
    if account.expires_at <= now:
        return f"account {account.person_id} expired on {account.expires_at:%Y-%m-%d}"
    if account.trained_on > now.date():
        return f"account {account.person_id} has training dated in the future"
    if account.accredited_until is not None and account.accredited_until < now.date():
        return f"account {account.person_id}'s accreditation lapsed on {account.accredited_until}"
    return None


def roles_of(session: Session, person_id: str) -> frozenset[Role]:
    rows = session.scalars(select(AccountRole.role).where(AccountRole.person_id == person_id))
    return frozenset(Role(r) for r in rows)


class ControlPlane:
    """An open control plane. Use :meth:`open`; close it (or use ``with``) to sign the ledger.

    The ledger is in ``ledger.sqlite`` in the data directory when the control plane is SQLite,
    and in the control-plane database itself on PostgreSQL (see :mod:`.ledger_store`).
    """

    def __init__(
        self,
        engine: Engine,
        ledger_store: Callable[[bool], LedgerStore],
        key_dir: Path,
        origin: str | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        identity: IdentityProvider | None = None,
        lock_dir: Path | None = None,
        policy: AccessPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy or AccessPolicy()
        """What accounts must hold to act, beyond their role (:mod:`.people`)."""
        self.lock_dir = lock_dir
        """Where operations' locks live (:meth:`operation`); None: this plane runs none."""
        self.clock = clock
        self.identity: IdentityProvider = identity or PersonalTokens()
        self._ledger_store = ledger_store
        self._key_dir = key_dir
        self._origin = origin
        """The configured ledger origin (from the deployment's public name), if there is one."""
        self._ledger: Ledger | None = None
        self._acting = threading.local()

    @property
    def acting(self) -> Principal | None:
        """The last caller authenticated in this thread, so a command line can say who acted
        and a refusal names who was refused. Per thread: a server answers requests side by
        side on one control plane, and one request's refusal must never name another's caller."""
        found: Principal | None = getattr(self._acting, "principal", None)
        return found

    @acting.setter
    def acting(self, principal: Principal | None) -> None:
        self._acting.principal = principal

    @classmethod
    def open(
        cls,
        data_dir: DataDir,
        *,
        url: str | None = None,
        origin: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        policy: AccessPolicy | None = None,
    ) -> ControlPlane:
        """The control plane of ``data_dir``: database from ``url`` (or the environment/default),
        ledger in the data directory, ledger key beside the pseudonym key, ledger origin from
        ``origin`` or the deployment's public name (``$FIVESAFES_PUBLIC_NAME``)."""
        origin = origin or configured_origin()
        engine = open_engine(url or database_url(data_dir.root))
        ledger_path = data_dir.root / LEDGER_FILE
        key_dir = data_dir.key_file.parent

        def ledger_store(read_only: bool) -> LedgerStore:
            if engine.dialect.name == "sqlite":
                if read_only and not ledger_path.is_file():
                    raise FileNotFoundError(f"no ledger at {ledger_path}: nothing logged yet")
                return SqliteLedgerStore(ledger_path, read_only=read_only)
            return SqlLedgerStore(engine)

        lock_dir = data_dir.root / OPERATIONS_FOLDER
        return cls(
            engine, ledger_store, key_dir, origin, clock=clock, lock_dir=lock_dir, policy=policy
        )

    @classmethod
    def for_data_root(cls, root: Path) -> ControlPlane:
        """The control plane beside a store whose data directory is ``root`` (environment keys)."""
        return cls.open(DataDir.from_env(root))

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use so read-only callers never need its signing key."""
        if self._ledger is None:
            store = self._ledger_store(False)
            self._ledger = Ledger(store, self._key_dir, self._origin, clock=self.clock)
        return self._ledger

    @property
    def origin(self) -> str:
        """The ledger's origin, which is also the name of its signing key."""
        return self.ledger.origin

    def verify_ledger(self, trusted_key: str | None = None) -> VerifyReport:
        """Replay the whole ledger read-only, without its signing key, as an auditor would; a
        ledger that cannot be read at all is a failed report."""
        try:
            store = self._ledger_store(True)
        except LedgerStorageError as exc:
            return VerifyReport.unreadable(str(exc))
        try:
            return audit_store(store, self._origin, trusted_key)
        finally:
            store.close()

    def claim(self, operation: str, key: str) -> OperationLock | None:
        """The lock of one operation, or None while another living process holds it."""
        if self.lock_dir is None:
            raise LedgerError("this control plane has no data directory to keep operations in")
        return OperationLock.claim(self.lock_dir, operation, key)

    @contextmanager
    def operation(self, operation: str, key: str, resolve: Resolver) -> Iterator[Operation]:
        """Carry out one recoverable operation (see :mod:`fivesafes.ledger.intents`).

        The lock is held for the whole block. An intent for the same operation that a dead
        process left open is settled first, so a retry finds the state and the ledger agreeing
        even where recovery has not run. Inside the block, call ``intend`` before changing
        anything and ``commit`` once the change is made. If the block fails after the intent,
        ``resolve`` looks at the state and the true outcome is logged at once; if even that
        fails, the intent stays open and recovery settles it at the next start.
        """
        lock = self.claim(operation, key)
        if lock is None:
            raise OperationBusy(f"{operation} {key} is under way in another process; try later")
        carried = Operation(self.ledger, operation, key, resolve, lock)
        try:
            for left in self.open_intents():
                if (left.operation, left.key) == (operation, key):
                    Operation.resume(self.ledger, left, resolve).settle(INTERRUPTED)
            yield carried
        except BaseException as error:
            carried.settle_after(error)
            raise
        finally:
            lock.release(remove=not carried.pending)

    def leftover_locks(self) -> Iterator[OperationLock]:
        """The lock of every operation whose owner is gone without settling it, held in turn:
        release each (recovery reads what scratch paths it left)."""
        if self.lock_dir is None or not self.lock_dir.is_dir():
            return
        for path in sorted(self.lock_dir.glob(f"*{LOCK_SUFFIX}")):
            lock = OperationLock.take(path)
            if lock is not None:
                yield lock

    def open_intents(self) -> list[Intent]:
        """Intents no outcome answers yet (read-only: no signing key needed to ask)."""
        try:
            store = self._ledger_store(True)
        except FileNotFoundError:
            return []
        try:
            return open_intents(store)
        finally:
            store.close()

    def answered(self, intent: Intent) -> bool:
        """Whether the ledger holds an outcome for ``intent`` now."""
        store = self._ledger_store(True)
        try:
            return is_answered(store, intent)
        finally:
            store.close()

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed at the end of the block, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def log(self, kind: str, subject: Mapping[str, Any], actor: str) -> Receipt:
        return self.ledger.append(kind, subject, actor=actor)

    def authenticate(self, session: Session, credential: str, action: Action) -> Principal:
        """Check a credential, its account and its role for ``action``; log the use either way."""
        now = self.clock()
        person_id, token_id = "unknown", None
        try:
            who = self.identity.identify(session, credential, now)
            person_id, token_id = who.person_id, who.token_id
            account = session.get(Account, person_id)
            if account is None:
                raise AccessDenied(f"no account {person_id}")
            problem = account_problem(account, now)
            if problem:
                raise AccessDenied(problem)
            principal = Principal(person_id, roles_of(session, person_id), token_id)
            conflict = roles_problem(principal.roles)
            if conflict:  # held despite the checks at account changes (e.g. edited in the database)
                raise AccessDenied(f"account {person_id} holds roles that {conflict}")
            if not principal.may(action):
                what = action.value.replace("_", " ")
                raise AccessDenied(f"{person_id} may not {what}: it needs {needed_roles(action)}")
            problem = self.policy.problem(
                session, person_id, principal.roles, token_id, who.factor, action, now.date()
            )
            if problem:
                raise AccessDenied(problem)
        except AccessDenied as refused:
            self.log_login(person_id, token_id, action.value, f"refused: {refused}")
            raise
        self.log_login(person_id, token_id, action.value, "allowed")
        self.acting = principal
        return principal

    def refuse(self, principal: Principal, action: Action, reason: str) -> AccessDenied:
        """Log a refusal found after authentication (e.g. not on the project); raise the result."""
        self.log_login(principal.person_id, principal.token_id, action.value, f"refused: {reason}")
        return AccessDenied(reason)

    def log_login(self, person_id: str, token_id: str | None, action: str, outcome: str) -> None:
        """A use of a credential (a token, or an enrolment code), allowed or refused."""
        subject = {"provider": self.identity.name, "action": action, "outcome": outcome}
        if token_id:
            subject["token_id"] = token_id
        self.log("login", subject, person_id)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self.engine.dispose()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def second_person(
    cp: ControlPlane, me: Principal, action: Action, recorded_by: str, what: str
) -> None:
    """Refuse (logged) someone agreeing to what they recorded themselves: a dataset's entry in
    the register and each release delegation take two people (SATRE separation of duties)."""
    if recorded_by == me.person_id:
        raise cp.refuse(me, action, f"nobody {what}")
