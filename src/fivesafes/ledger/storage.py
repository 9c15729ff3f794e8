"""Where ledger entries and checkpoints are kept: one narrow, append-only storage interface.

Everything the ledger reads or writes goes through :class:`LedgerStore`, so moving the control
plane to another database (SQLAlchemy over SQLite or PostgreSQL) means writing one new class.
:class:`SqliteLedgerStore` is the default. It refuses UPDATE and DELETE with triggers — defence in
depth only: anyone with write access to the file can drop a trigger, which is why tampering is
caught cryptographically by :meth:`fivesafes.ledger.log.Ledger.verify`, not by the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol


class StoredEntry(NamedTuple):
    """One entry row: its position, kind, canonical bytes and leaf hash."""

    index: int
    kind: str
    entry: bytes
    leaf_hash: bytes


class StoredCheckpoint(NamedTuple):
    """One signed checkpoint: the tree size it covers, the signed note and when it was made."""

    size: int
    note: str
    created: str


class LedgerStore(Protocol):
    """The storage the ledger needs: append rows atomically, read them back in order."""

    def append(
        self, entries: Sequence[StoredEntry], checkpoints: Sequence[StoredCheckpoint]
    ) -> None:
        """Store entries and the checkpoints covering them in one transaction."""
        ...

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        """Entries in index order, from ``start`` up to (not including) ``stop``."""
        ...

    def entries_of_kinds(self, kinds: Sequence[str]) -> Iterator[StoredEntry]:
        """Entries of the given kinds, in index order."""
        ...

    def leaf_hashes(self) -> Iterator[bytes]:
        """Every stored leaf hash in index order (to rebuild the tree on open)."""
        ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, smallest tree first."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    entry BLOB NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    created TEXT NOT NULL
);
"""
_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""
_READ_BATCH = 10_000


def _as_bytes(value: bytes | str) -> bytes:
    """A stored blob as bytes; a row edited by hand may come back as TEXT (SQLite typing is per
    value), and verify must report that edit, not crash on it."""
    return value.encode() if type(value) is str else bytes(value)


class SqliteLedgerStore:
    """The ledger in one SQLite file: an ``entries`` and a ``checkpoints`` table, append-only."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (creating if needed) the ledger file; ``read_only`` opens an existing one as is."""
        if read_only:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        script = _SCHEMA + "".join(_APPEND_ONLY.format(table=t) for t in ("entries", "checkpoints"))
        self._db.executescript(script)

    def append(
        self, entries: Sequence[StoredEntry], checkpoints: Sequence[StoredCheckpoint]
    ) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", entries)
            db.executemany("INSERT INTO checkpoints VALUES (?, ?, ?)", checkpoints)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[object]) -> Iterator[StoredEntry]:
        cursor = self._db.execute(sql, params)
        while rows := cursor.fetchmany(_READ_BATCH):
            for idx, kind, entry, leaf in rows:
                yield StoredEntry(idx, kind, _as_bytes(entry), _as_bytes(leaf))

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        stop = -1 if stop is None else stop
        sql = "SELECT * FROM entries WHERE idx >= ? AND (? < 0 OR idx < ?) ORDER BY idx"
        return self._rows(sql, (start, stop, stop))

    def entries_of_kinds(self, kinds: Sequence[str]) -> Iterator[StoredEntry]:
        marks = ",".join("?" * len(kinds))
        return self._rows(f"SELECT * FROM entries WHERE kind IN ({marks}) ORDER BY idx", kinds)

    def leaf_hashes(self) -> Iterator[bytes]:
        cursor = self._db.execute("SELECT leaf_hash FROM entries ORDER BY idx")
        while rows := cursor.fetchmany(_READ_BATCH):
            for (leaf,) in rows:
                yield leaf

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._db.execute("SELECT size, note, created FROM checkpoints ORDER BY size")
        return [StoredCheckpoint(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
