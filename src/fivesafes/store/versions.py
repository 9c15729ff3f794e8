"""One store that can be read while it is written: every write makes a new version of the file.

DuckDB lets one process write a database file, or many processes read it, never both at once:
a reader holds a shared lock, a writer an exclusive one. The API server reads all the time, and
so do the commands beside it (the catalogue, job snapshots), so a load that wrote the file in
place would have to wait for every reader to go away, or every reader would fail while it ran.

So no writer ever writes the file readers have open. :func:`writing` copies the current version
beside it (``store.duckdb.next``), lets the writer change the copy in its usual transaction,
adds the lookup indexes readers need (:mod:`.indexes`), checkpoints it into one
self-contained file and renames it over ``store.duckdb``: the atomic
rename is the commit. A reader that opened the old version keeps reading it (an open file
outlives its name) until it opens the store again, so it always sees one whole version, never
half a load; a reader that opens after the rename sees the new one. :class:`Follower` is that
reader for a long-lived process: it reopens when the file's identity changes and closes an old
version once no request is still using it. Writers queue on ``store.duckdb.lock`` (``flock``),
so two loads never race; a writer killed part-way leaves only a ``.next`` file, which the next
writer removes, and the store as it was.

The price is a copy of the file per write (0.6 s for the 459 MB of 100,000 patients here) and
twice its size on disk while writing; ``docs/architecture.md`` has the figures and the
alternatives.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from fivesafes.failpoints import failpoint
from fivesafes.store import indexes
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

T = TypeVar("T")
NEXT_SUFFIX = ".next"
COMPACT_SUFFIX = ".compact"
_OPENED = itertools.count()
LOCK_SUFFIX = ".lock"


def _sibling(database: Path, suffix: str) -> Path:
    return database.with_name(database.name + suffix)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writer_lock(database: Path) -> Iterator[None]:
    """Hold the store's one writer lock (waiting for a writer before us to finish)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(_sibling(database, LOCK_SUFFIX), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _compacted(data_dir: DataDir, written: Path) -> Path:
    """A fresh file holding exactly what ``written`` holds now, copied table by table
    (``COPY FROM DATABASE``): the blocks ``written`` freed, which still hold deleted rows, are
    not carried over, as they would be by a byte copy of the file."""
    target = _sibling(data_dir.database, COMPACT_SUFFIX)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{written}' AS old (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS new")
        con.execute("COPY FROM DATABASE old TO new")
        con.execute("DETACH old")
        con.execute("USE new")
        indexes.ensure(con)
        con.execute("CHECKPOINT new")
    finally:
        con.close()
    _remove(written)
    return target


@contextmanager
def writing(data_dir: DataDir, *, bulk: bool = True, compact: bool = False) -> Iterator[Store]:
    """A writable copy of the store's current version; it becomes the current version when the
    block ends without an error, and is thrown away when it does not. A ``bulk`` writer (a
    load) writes without the lookup indexes, which are built again before the commit; a small
    write (``bulk=False``) keeps them up to date as it goes. A ``compact`` writer (a deletion)
    commits a fresh copy of what it wrote instead (:func:`_compacted`), so that no block of the
    new version holds a row it deleted."""
    database = data_dir.database
    fresh = _sibling(database, NEXT_SUFFIX)
    fresh_wal = _sibling(fresh, ".wal")
    old_wal = _sibling(database, ".wal")
    compacted = _sibling(database, COMPACT_SUFFIX)
    with writer_lock(database):
        # what a writer killed part-way left behind
        _remove(fresh, fresh_wal, compacted, _sibling(compacted, ".wal"))
        if database.exists():
            shutil.copyfile(database, fresh)
            if old_wal.exists():  # written in place by something that did not checkpoint
                shutil.copyfile(old_wal, fresh_wal)
        store = Store(duckdb.connect(str(fresh)), data_dir.key_file, fresh)
        try:
            if bulk:
                indexes.drop(store.con)
            yield store
            indexes.ensure(store.con)
            store.con.execute("CHECKPOINT")
        except BaseException:
            store.close()
            _remove(fresh, fresh_wal)
            raise
        store.close()
        if compact:
            try:
                fresh = _compacted(data_dir, fresh)
            except BaseException:
                _remove(fresh, fresh_wal, compacted, _sibling(compacted, ".wal"))
                raise
            failpoint("store.compacted")  # both copies on disk, neither the current version
        _fsync(fresh)
        # A WAL beside the old version would be replayed onto the new one by the next reader:
        # it is already in the copy, so it goes before the rename.
        _remove(old_wal)
        os.replace(fresh, database)
        _fsync(database.parent)


@dataclass
class _Version:
    """One opened version of the store and how many requests are reading it right now."""

    identity: tuple[int, int, int, int]
    con: duckdb.DuckDBPyConnection
    readers: int = 0
    retired: bool = False
    memo: dict[Hashable, Any] = field(default_factory=dict)
    """Answers worked out once for this version (it never changes once committed)."""


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class Follower:
    """A long-lived reader that always reads the newest version of the store.

    :meth:`reading` hands out a cursor on the newest version; the version it reads stays open
    for as long as the cursor is used, even if a writer replaces the file meanwhile.
    """

    data_dir: DataDir
    threads: int = 2
    _current: _Version | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reading: threading.local = field(default_factory=threading.local)

    def _open(self) -> _Version:
        """Open the version the store's name points at now.

        DuckDB keeps one database instance per path in a process, so connecting to
        ``store.duckdb`` again would hand back the version already open. Each version is opened
        through a hard link of its own (a name never used before, removed once open: the open
        file keeps the version), so the new version is read, not the cached old one.
        """
        database = self.data_dir.database
        link = _sibling(database, f".read-{os.getpid()}-{next(_OPENED)}")
        link.unlink(missing_ok=True)
        os.link(database, link)
        try:
            identity = _identity(link)
            config: dict[str, str | bool | int | float | list[str]] = {"threads": self.threads}
            con = duckdb.connect(str(link), read_only=True, config=config)
        finally:
            link.unlink(missing_ok=True)
        return _Version(identity, con)

    def _newest(self) -> _Version:
        database = self.data_dir.database
        try:
            identity = _identity(database)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no store at {database}: load data first with `fivesafes load`"
            ) from None
        with self._lock:
            current = self._current
            if current is None or current.identity != identity:
                opened = self._open()
                if current is not None:
                    current.retired = True
                    if current.readers == 0:
                        current.con.close()
                self._current = current = opened
            current.readers += 1
            return current

    def _release(self, version: _Version) -> None:
        with self._lock:
            version.readers -= 1
            if version.retired and version.readers == 0:
                version.con.close()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the newest committed version of the store."""
        version = self._newest()
        outer = getattr(self._reading, "version", None)
        self._reading.version = version
        try:
            cursor = version.con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            self._reading.version = outer
            self._release(version)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``'s answer for the version this thread is reading, worked out once per
        version: a committed version never changes, so what it holds (who is registered where,
        which types have history) can be reused by every request that reads it. Only inside
        :meth:`reading`."""
        version: _Version | None = getattr(self._reading, "version", None)
        if version is None:
            raise RuntimeError("memo is for use inside reading()")
        if key not in version.memo:  # two threads may both compute it; either answer is right
            version.memo[key] = compute()
        found: T = version.memo[key]
        return found

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.readers == 0:
                    self._current.con.close()
                self._current = None
