"""Where ledger entries and checkpoints are kept: one narrow, append-only storage interface.

Everything the ledger reads or writes goes through :class:`LedgerStore`, so moving the control
plane to another database (SQLAlchemy over SQLite or PostgreSQL) means writing one new class.
:class:`SqliteLedgerStore` is the default. It refuses UPDATE and DELETE with triggers — defence in
depth only: anyone with write access to the file can drop a trigger, which is why tampering is
caught cryptographically by :meth:`fivesafes.ledger.log.Ledger.verify`, not by the database.

For the same reason reading trusts nothing about the file: columns are named, not taken with
``SELECT *``; a value of the wrong type (SQLite types each value, not each column, so a hand edit
can store TEXT or REAL in a BLOB column) comes back in a form the audit reports rather than one
that crashes it; and a file that is not a ledger at all (not a database, a table or column gone)
raises :class:`~fivesafes.ledger.errors.LedgerStorageError` naming the file and what is wrong.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

from fivesafes.ledger.errors import LedgerStorageError

T = TypeVar("T")


class StoredEntry(NamedTuple):
    """One entry row: its position, kind, canonical bytes and leaf hash."""

    index: int  # type: ignore[assignment]  # the row's position, shadowing tuple.index
    kind: str
    entry: bytes
    leaf_hash: bytes


EntryRow = tuple[int, str, bytes, bytes]
"""An entry row as the ledger writes it: (index, kind, entry, leaf hash); a :class:`StoredEntry`
is one, with names."""


class StoredCheckpoint(NamedTuple):
    """One signed checkpoint: the tree size it covers, the signed note and when it was made."""

    size: int
    note: str
    created: str


class LedgerStore(Protocol):
    """The storage the ledger needs: append rows atomically, read them back in order."""

    def append(self, entries: Sequence[EntryRow], checkpoints: Sequence[StoredCheckpoint]) -> None:
        """Store entries and the checkpoints covering them in one transaction."""
        ...

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        """Entries in index order, from ``start`` up to (not including) ``stop``."""
        ...

    def entries_of_kinds(self, kinds: Sequence[str]) -> Iterator[StoredEntry]:
        """Entries of the given kinds, in index order."""
        ...

    def newest_of_kinds(self, kinds: Sequence[str], skip: int, count: int) -> list[StoredEntry]:
        """Entries of the given kinds, newest first: ``count`` of them after the newest ``skip``
        (a page of them, so a reader never needs the whole log)."""
        ...

    def count_of_kinds(self, kinds: Sequence[str]) -> int:
        """How many entries are of the given kinds."""
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
_PAGE_SIZE = 16_384


def as_bytes(value: object) -> bytes:
    """A stored blob as bytes, whatever type a hand edit gave it (TEXT, a number, NULL).

    Anything that was not a blob comes back as bytes that cannot hash to what was signed, so the
    audit reports the edit instead of crashing on it.
    """
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return b"" if value is None else repr(value).encode()


def as_text(value: object) -> str:
    """A stored text value as text, whatever type a hand edit gave it."""
    if type(value) is str:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else repr(value)


def as_index(value: object, table: str, column: str) -> int:
    """A stored position; anything but an integer means the table itself was rebuilt."""
    if type(value) is not int:
        raise LedgerStorageError(f"{table}.{column} holds {value!r}, not an integer position")
    return value


def entry_row(idx: object, kind: object, entry: object, leaf: object, table: str) -> StoredEntry:
    return StoredEntry(as_index(idx, table, "idx"), as_text(kind), as_bytes(entry), as_bytes(leaf))


def checkpoint_row(size: object, note: object, created: object, table: str) -> StoredCheckpoint:
    return StoredCheckpoint(as_index(size, table, "size"), as_text(note), as_text(created))


_ENTRY_COLUMNS = "SELECT idx, kind, entry, leaf_hash FROM entries"


class SqliteLedgerStore:
    """The ledger in one SQLite file: an ``entries`` and a ``checkpoints`` table, append-only."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (creating if needed) the ledger file; ``read_only`` opens an existing one as is."""
        self._path = path
        with self._reading():
            if read_only:
                self._db = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
                )
                self._db.text_factory = bytes  # TEXT that is not UTF-8 must not stop a read
                self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            # A server's request threads share the ledger: the Ledger serialises its appends,
            # and SQLite serialises the connection itself.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.text_factory = bytes
            self._db.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # a new file only; appends faster
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            tables = ("entries", "checkpoints")
            script = _SCHEMA + "".join(_APPEND_ONLY.format(table=t) for t in tables)
            self._db.executescript(script)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn any SQLite error into one line naming the file: the file is not a ledger."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise LedgerStorageError(f"{self._path} cannot be read as a ledger: {exc}") from exc

    def append(self, entries: Sequence[EntryRow], checkpoints: Sequence[StoredCheckpoint]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", entries)
            db.executemany("INSERT INTO checkpoints VALUES (?, ?, ?)", checkpoints)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _stream(self, sql: str, params: Sequence[object], row: Callable[..., T]) -> Iterator[T]:
        with self._reading():
            cursor = self._db.execute(sql, params)
            while rows := cursor.fetchmany(_READ_BATCH):
                for values in rows:
                    yield row(*values)

    @staticmethod
    def _entries(idx: object, kind: object, entry: object, leaf: object) -> StoredEntry:
        return entry_row(idx, kind, entry, leaf, "entries")

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[StoredEntry]:
        if stop is None:
            return self._stream(
                f"{_ENTRY_COLUMNS} WHERE idx >= ? ORDER BY idx", (start,), self._entries
            )
        sql = f"{_ENTRY_COLUMNS} WHERE idx >= ? AND idx < ? ORDER BY idx"
        return self._stream(sql, (start, stop), self._entries)

    def entries_of_kinds(self, kinds: Sequence[str]) -> Iterator[StoredEntry]:
        marks = ",".join("?" * len(kinds))
        sql = f"{_ENTRY_COLUMNS} WHERE kind IN ({marks}) ORDER BY idx"
        return self._stream(sql, kinds, self._entries)

    def newest_of_kinds(self, kinds: Sequence[str], skip: int, count: int) -> list[StoredEntry]:
        marks = ",".join("?" * len(kinds))
        sql = f"{_ENTRY_COLUMNS} WHERE kind IN ({marks}) ORDER BY idx DESC LIMIT ? OFFSET ?"
        return list(self._stream(sql, [*kinds, count, skip], self._entries))

    def count_of_kinds(self, kinds: Sequence[str]) -> int:
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT count(*) FROM entries WHERE kind IN ({marks})"
        return next(self._stream(sql, kinds, lambda n: as_index(n, "entries", "count")))

    def leaf_hashes(self) -> Iterator[bytes]:
        return self._stream("SELECT leaf_hash FROM entries ORDER BY idx", (), as_bytes)

    def checkpoints(self) -> list[StoredCheckpoint]:
        sql = "SELECT size, note, created FROM checkpoints ORDER BY size"
        return list(self._stream(sql, (), self._checkpoint))

    @staticmethod
    def _checkpoint(size: object, note: object, created: object) -> StoredCheckpoint:
        return checkpoint_row(size, note, created, "checkpoints")

    def close(self) -> None:
        self._db.close()
