"""The ledger's storage in the control-plane database, for a control plane on PostgreSQL.

The ledger library (:mod:`fivesafes.ledger`) needs only the narrow
:class:`~fivesafes.ledger.storage.LedgerStore` interface; this is that interface over SQLAlchemy,
so in production the ledger lives in PostgreSQL with everything else, backed up and replicated
with it. On SQLite the ledger keeps its own file (``ledger.sqlite``): SQLite allows one writer at
a time, and a change and its ledger entry are written while the change's transaction is open.

Reads trust the tables no more than the SQLite store trusts its file: rows are converted by the
same functions, and a database error while reading (a table or column gone) is a
:class:`~fivesafes.ledger.errors.LedgerStorageError`, which ``ledger verify`` reports as a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from fivesafes.governance.tables import LedgerCheckpoint, LedgerEntry
from fivesafes.ledger.errors import LedgerStorageError
from fivesafes.ledger.storage import (
    EntryRow,
    StoredCheckpoint,
    StoredEntry,
    checkpoint_row,
    entry_row,
)

_READ_BATCH = 10_000


class SqlLedgerStore:
    """Ledger entries and checkpoints in tables ``ledger_entries`` and ``ledger_checkpoints``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, entries: Sequence[EntryRow], checkpoints: Sequence[StoredCheckpoint]) -> None:
        with self._engine.begin() as connection:
            if entries:
                rows = [
                    {"idx": idx, "kind": kind, "entry": entry, "leaf_hash": leaf}
                    for idx, kind, entry, leaf in entries
                ]
                connection.execute(insert(LedgerEntry), rows)
            if checkpoints:
                connection.execute(insert(LedgerCheckpoint), [c._asdict() for c in checkpoints])

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise LedgerStorageError(f"the ledger tables cannot be read: {message}") from exc

    def _stream(self, query: Select[int, str, bytes, bytes]) -> Iterator[StoredEntry]:
        with self._reading(), self._engine.connect() as connection:
            rows = connection.execution_options(yield_per=_READ_BATCH).execute(query)
            for idx, kind, entry, leaf in rows:
                yield entry_row(idx, kind, entry, leaf, "ledger_entries")

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        t = LedgerEntry
        query = select(t.idx, t.kind, t.entry, t.leaf_hash).where(t.idx >= start)
        if stop is not None:
            query = query.where(t.idx < stop)
        return self._stream(query.order_by(t.idx))

    def entries_of_kinds(self, kinds: Sequence[str]) -> Iterator[StoredEntry]:
        t = LedgerEntry
        query = select(t.idx, t.kind, t.entry, t.leaf_hash).where(t.kind.in_(list(kinds)))
        return self._stream(query.order_by(t.idx))

    def newest_of_kinds(self, kinds: Sequence[str], skip: int, count: int) -> list[StoredEntry]:
        t = LedgerEntry
        query = select(t.idx, t.kind, t.entry, t.leaf_hash).where(t.kind.in_(list(kinds)))
        return list(self._stream(query.order_by(t.idx.desc()).limit(count).offset(skip)))

    def count_of_kinds(self, kinds: Sequence[str]) -> int:
        t = LedgerEntry
        with self._reading(), self._engine.connect() as connection:
            found = connection.execute(select(func.count()).where(t.kind.in_(list(kinds))))
            return int(found.scalar_one())

    def leaf_hashes(self) -> Iterator[bytes]:
        return (row.leaf_hash for row in self.entries())

    def checkpoints(self) -> list[StoredCheckpoint]:
        t = LedgerCheckpoint
        with self._reading(), self._engine.connect() as connection:
            rows = connection.execute(select(t.size, t.note, t.created).order_by(t.size))
            return [checkpoint_row(*row, "ledger_checkpoints") for row in rows]

    def close(self) -> None:
        """Nothing to close: the engine belongs to the control plane."""
