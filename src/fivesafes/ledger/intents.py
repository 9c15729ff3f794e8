"""Intents and outcomes: how a command that writes both the ledger and some state survives a crash.

A load changes the DuckDB store, a decision the control plane, a publication a folder; each also
writes the ledger, and no transaction spans the two. So such a command writes, in this order:

1. an ``intent`` entry naming the operation, its key (a load id, a project, a release) and the
   exact subject its outcome entry will have -- before the state is touched, so nothing can
   change unannounced (if the ledger cannot be written, nothing happens);
2. the state change, atomically (one DuckDB transaction, one database transaction, one rename);
3. the outcome entry -- an entry of the operation's own kind (``load``, ``approval``,
   ``release``...) with ``intent`` set to the intent's index -- or an ``abandoned`` entry when
   the change did not happen.

A kill between 1 and 3 leaves an intent without an outcome. Recovery (run at start-up, see
``fivesafes.environment.recovery``) finds each one, looks at the state, and writes the outcome
that is true: the subject stored in the intent when the change is there (finishing it first if
it was half-done), ``abandoned`` when it is not. Because the outcome's subject is fixed in the
intent, the entry recovery writes is the one the command would have written.

While a command runs it holds an exclusive lock on its operation (:class:`OperationLock`, a
``flock`` the kernel drops the moment the process dies, however it dies), taken before the intent
is written: so recovery can tell an intent whose owner is gone from one still under way, and two
processes never carry out, or recover, the same operation at once.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fivesafes.ledger.log import Ledger, LedgerError
from fivesafes.ledger.receipt import Receipt
from fivesafes.ledger.storage import LedgerStore, StoredEntry

INTENT = "intent"
ABANDONED = "abandoned"
INTERRUPTED = "interrupted before the change was made"
"""The reason an ``abandoned`` entry gives when a process died between intent and change."""


class OperationBusy(LedgerError):
    """Another process is carrying out (or recovering) this very operation right now."""


@dataclass(frozen=True)
class Intent:
    """An intent entry: which operation, on what, by whom, and the outcome subject it promised."""

    index: int
    actor: str
    operation: str
    """The kind of the outcome entry: ``load``, ``approval``, ``release``, ``job``."""
    key: str
    outcome: Mapping[str, Any]


Resolver = Callable[[Intent], bool]
"""Looks at the state an intent is about: True when the change is there (after completing it if
it was left half-done), False when it is not (after tidying anything it left)."""


def _intent(row: StoredEntry) -> Intent:
    record = orjson.loads(row.entry)
    subject = record["subject"]
    return Intent(
        row.index, record["actor"], subject["operation"], subject["key"], subject["outcome"]
    )


def _answered(store: LedgerStore, operations: set[str]) -> set[int]:
    """Indices of the intents that outcome or ``abandoned`` entries answer."""
    found = set()
    for row in store.entries_of_kinds(sorted({ABANDONED, *operations})):
        intent = orjson.loads(row.entry)["subject"].get("intent")
        if isinstance(intent, int):
            found.add(intent)
    return found


def open_intents(store: LedgerStore) -> list[Intent]:
    """Every intent no outcome answers yet, oldest first: what recovery has to settle."""
    intents = {row.index: _intent(row) for row in store.entries_of_kinds([INTENT])}
    if not intents:
        return []
    answered = _answered(store, {i.operation for i in intents.values()})
    return [intent for index, intent in sorted(intents.items()) if index not in answered]


def is_answered(store: LedgerStore, intent: Intent) -> bool:
    """Whether an outcome for ``intent`` is in the ledger now (read afresh, not remembered)."""
    return intent.index in _answered(store, {intent.operation})


LOCK_SUFFIX = ".lock"


def _file_name(operation: str, key: str) -> str:
    return f"{operation}-{re.sub(r'[^A-Za-z0-9._-]', '_', key)}{LOCK_SUFFIX}"


class OperationLock:
    """An exclusive ``flock`` on one operation's lock file, held while it is carried out.

    The file names its operation and key on its first line, then any scratch paths the
    operation made before its intent (a staging folder): if the process dies before the intent
    is written, nothing in the ledger points at them, so recovery reads them here and removes
    them (:meth:`scratch`).
    """

    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def claim(cls, directory: Path, operation: str, key: str) -> OperationLock | None:
        """The lock, or None when another living process holds it."""
        directory.mkdir(parents=True, exist_ok=True)
        lock = cls.take(directory / _file_name(operation, key))
        if lock is not None and os.fstat(lock._fd).st_size == 0:
            os.write(lock._fd, orjson.dumps({"operation": operation, "key": key}) + b"\n")
        return lock

    @classmethod
    def take(cls, path: Path) -> OperationLock | None:
        """The lock on an existing or new file ``path``, or None while a living process has it."""
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:
                current = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                return cls(path, fd)
            os.close(fd)  # its last holder removed the file as we opened it: take the new one

    def scratch(self, path: Path) -> None:
        """Note a path the operation is about to make before its intent, so that recovery can
        remove it should the process die first."""
        os.write(self._fd, orjson.dumps({"scratch": str(path)}) + b"\n")

    def contents(self) -> tuple[str, str, list[Path]]:
        """The operation, key and scratch paths this file records ("" for a file left empty)."""
        records = []
        for line in self.path.read_bytes().splitlines():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # a line cut short by the kill: its path was not made yet
        head = records[0] if records else {}
        paths = [Path(r["scratch"]) for r in records[1:] if "scratch" in r]
        return head.get("operation", ""), head.get("key", ""), paths

    def release(self, *, remove: bool) -> None:
        """Let go; ``remove`` the file too once the operation is settled (nothing to recover)."""
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)


class Operation:
    """One recoverable operation: write its intent, make the change, then commit or abandon."""

    def __init__(
        self,
        ledger: Ledger,
        operation: str,
        key: str,
        resolve: Resolver,
        lock: OperationLock | None = None,
    ) -> None:
        self._ledger = ledger
        self.operation = operation
        self.key = key
        self._resolve = resolve
        self._lock = lock
        self._intent: Intent | None = None
        self.settled = False
        """True once an outcome or ``abandoned`` entry answers the intent."""

    @classmethod
    def resume(cls, ledger: Ledger, intent: Intent, resolve: Resolver) -> Operation:
        """An operation whose intent an earlier process wrote (for recovery to settle)."""
        operation = cls(ledger, intent.operation, intent.key, resolve)
        operation._intent = intent
        return operation

    @property
    def pending(self) -> bool:
        """An intent is logged and nothing answers it yet: recovery's business if we stop now."""
        return self._intent is not None and not self.settled

    @property
    def intent(self) -> Intent:
        if self._intent is None:
            raise LedgerError(f"{self.operation} {self.key} has no intent in the ledger yet")
        return self._intent

    def scratch(self, path: Path) -> Path:
        """Note (in the lock file) a path about to be made before the intent; returns it."""
        if self._lock is None or self._intent is not None:
            raise LedgerError("scratch paths are noted by the operation's owner, before its intent")
        self._lock.scratch(path)
        return path

    def intend(self, outcome: Mapping[str, Any], actor: str) -> Intent:
        """Log the intent, with the exact subject the outcome entry will have; before any change."""
        if self._intent is not None:
            known = self._intent.index
            raise LedgerError(f"{self.operation} {self.key} already has intent {known}")
        subject = {"operation": self.operation, "key": self.key, "outcome": dict(outcome)}
        receipt = self._ledger.append(INTENT, subject, actor=actor)
        self._intent = Intent(receipt.index, actor, self.operation, self.key, dict(outcome))
        return self._intent

    def commit(self) -> Receipt:
        """Log the outcome the intent promised: the change is made."""
        intent = self.intent
        subject = {**intent.outcome, "intent": intent.index}
        receipt = self._ledger.append(self.operation, subject, actor=intent.actor)
        self.settled = True
        return receipt

    def abandon(self, reason: str) -> Receipt:
        """Log that the change was not made (and will not be, under this intent)."""
        intent = self.intent
        subject = {
            "operation": self.operation,
            "key": self.key,
            "intent": intent.index,
            "reason": reason,
        }
        receipt = self._ledger.append(ABANDONED, subject, actor=intent.actor)
        self.settled = True
        return receipt

    def settle(self, reason: str) -> bool:
        """Decide from the state whether the change was made, as recovery does, and log that;
        ``reason`` goes in the ``abandoned`` entry if it was not. Returns True if committed."""
        committed = self._resolve(self.intent)
        if committed:
            self.commit()
        else:
            self.abandon(reason)
        return committed

    def settle_after(self, error: BaseException) -> None:
        """After ``error``, settle an open intent from the state; if even that fails, leave it
        open for recovery at the next start (it must never be guessed)."""
        if not self.pending:
            return
        try:
            self.settle(f"failed with {type(error).__name__} before the change was made")
        except Exception:  # recovery settles it from the state at the next start
            return
