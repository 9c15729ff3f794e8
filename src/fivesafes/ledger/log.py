"""The ledger: an append-only, signed, publicly checkable log of everything the environment does.

SATRE asks that a trusted research environment keep an audit trail of who did what; we go further
and make that trail tamper-evident and public (RFC 9162 transparency log). :class:`Ledger` ties
the pieces together: entries are encoded (:mod:`.entry`), hashed into the Merkle tree
(:mod:`.merkle`), stored (:mod:`.storage`), and covered by Ed25519-signed C2SP checkpoints
(:mod:`.note`) every ``checkpoint_every`` entries or ``checkpoint_interval`` seconds, whichever
comes first, and at once over an entry the public may ask a receipt for (a public kind, or one
whose submitter gets a receipt); every checkpoint is kept. Each subject is checked against its
kind's declared fields (:mod:`.schema`) and the patient-data guard before anything is stored.
Reading back is :meth:`Ledger.verify` (replay everything), :meth:`Ledger.prove` (or
:meth:`Ledger.receipt`, which signs nothing), :meth:`Ledger.consistency`, :meth:`Ledger.export`,
:meth:`Ledger.publish` (C2SP tlog-tiles) and :meth:`Ledger.public_view`; each returns data with
a ``render()`` for the command line.

Appending in bulk (:meth:`Ledger.append_many`) is built for rate: one timestamp per batch (the
time the batch was committed), one scan of each encoded entry for patient data, the batch's leaf
hashes added to the tree level by level, and one SQLite transaction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fivesafes.ledger.audit import VerifyReport, audit_store
from fivesafes.ledger.entry import (
    KEY_INIT,
    KEY_KINDS,
    KEY_ROTATION,
    encode_entries,
    utc_timestamp,
)
from fivesafes.ledger.errors import LedgerError, LedgerStorageError
from fivesafes.ledger.export import ExportSummary, export_ledger
from fivesafes.ledger.keys import (
    KEY_FILE,
    NEXT_KEY_FILE,
    RETIRING_KEY_FILE,
    KeyChain,
    load_or_create_key,
    read_key,
    rotation_statement,
    write_key,
)
from fivesafes.ledger.merkle import MerkleTree
from fivesafes.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, open_checkpoint
from fivesafes.ledger.origin import check_origin, local_origin
from fivesafes.ledger.public import PublicView, public_view
from fivesafes.ledger.receipt import ConsistencyProof, InclusionProof, Receipt
from fivesafes.ledger.schema import ENTRY_KINDS, KINDS, PUBLIC_KINDS
from fivesafes.ledger.storage import EntryRow, LedgerStore, SqliteLedgerStore, StoredCheckpoint
from fivesafes.ledger.tiles import TilesSummary, publish_tiles

LEDGER_ACTOR = "ledger"
"""The actor named on entries the ledger writes about itself (its keys)."""

DEFAULT_HANDOVER = timedelta(days=30)
"""How long a retired key goes on co-signing checkpoints after a rotation, by default."""

Record = tuple[str, str, Mapping[str, Any]]
"""One event to log: (kind, actor, subject)."""
_RETRIES = 8
"""How often an append catches up with another process's appends and tries again."""

__all__ = ["DEFAULT_HANDOVER", "Ledger", "LedgerError", "Record", "verify_file"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_record(kind: str, actor: str, subject: Mapping[str, Any]) -> None:
    """The checks that need no encoding: a caller's kind, its declared fields, the actor's type
    (the actor's and the subject's values are checked for patient data once encoded)."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}; expected one of {sorted(KINDS)}")
    ENTRY_KINDS[kind].check(subject)
    if type(actor) is not str:
        raise ValueError(f"a ledger entry's actor is an identifier string, not {actor!r}")


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def verify_file(
    db_path: Path, origin: str | None = None, trusted_key: str | None = None
) -> VerifyReport:
    """Replay a ledger file without its signing key, as an auditor would.

    ``origin`` (if given) is the origin the auditor expects; by default the log's own, which is
    the name of its first key. A file that cannot be read as a ledger is a failed report.
    """
    if not db_path.is_file():
        raise FileNotFoundError(f"no ledger at {db_path}")
    try:
        store = SqliteLedgerStore(db_path, read_only=True)
    except LedgerStorageError as exc:
        return VerifyReport.unreadable(str(exc))
    try:
        return audit_store(store, origin, trusted_key)
    finally:
        store.close()


class Ledger:
    """An open ledger: an append-only store, its Merkle tree in memory and its signing key.

    The tree lives in the writing process's memory; a second process's appends fail on the
    store's unique index rather than fork the log, and the writer that lost the race takes in
    what the other appended (:meth:`catch_up`) and tries again. Readers and
    auditors can use :func:`verify_file` at any time.

    ``origin`` is the origin the environment is configured with (see :mod:`.origin`); a new log
    takes it (or, when it is None, a unique local one), an existing log must already have it.
    """

    def __init__(
        self,
        store: LedgerStore,
        key_dir: Path,
        origin: str | None = None,
        *,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
        handover: timedelta = DEFAULT_HANDOVER,
    ) -> None:
        if checkpoint_every < 1 or checkpoint_interval <= 0:
            raise ValueError("checkpoints need a positive entry count and interval")
        if handover < timedelta(0):
            raise ValueError("a key handover cannot be negative")
        self._store = store
        self._key_dir = key_dir
        self._every = checkpoint_every
        self._interval = checkpoint_interval
        self._clock = clock
        self._handover = handover
        try:
            self._tree = MerkleTree(store.leaf_hashes())
        except ValueError as exc:
            raise LedgerStorageError(f"the ledger's stored leaf hashes are damaged: {exc}") from exc
        stored = store.checkpoints()
        self._latest: StoredCheckpoint | None = stored[-1] if stored else None
        self._last_checkpoint_at = clock()
        self._chain = KeyChain()
        try:
            for row in store.entries_of_kinds(sorted(KEY_KINDS)):
                self._chain.apply(row.index, row.kind, orjson.loads(row.entry)["subject"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerError(
                f"the ledger's key entries do not check out ({exc}); run `fivesafes ledger verify`"
            ) from exc
        self._cosigner: NoteSigner | None = None
        self._lock = threading.RLock()
        """Appends from several threads (the API server's requests) go one at a time."""
        if self._tree.size == 0:
            self._signer = self._start(origin)
        else:
            if not self._chain.verifiers:
                raise LedgerError(
                    "the ledger does not start with its key entry; run `fivesafes ledger verify`"
                )
            self.origin = self._chain.origin
            if origin is not None and origin != self.origin:
                raise LedgerError(
                    f"this ledger's origin is {self.origin!r}, not {origin!r}: a log keeps the "
                    "origin it was created with (it is signed into every checkpoint)"
                )
            self._check_latest()
            self._signer = self._open_signer()

    @classmethod
    def open(
        cls, db_path: Path, key_dir: Path, origin: str | None = None, **options: Any
    ) -> Ledger:
        """Open (or create) the ledger in SQLite file ``db_path`` with keys under ``key_dir``."""
        return cls(SqliteLedgerStore(db_path), key_dir, origin, **options)

    def _start(self, origin: str | None) -> NoteSigner:
        """A new log: its key, its origin and its first entry (key_init), signed at once."""
        key = load_or_create_key(self._key_dir)
        if origin is None:
            origin = local_origin(NoteSigner("key", key).verifier.public_key)
        self.origin = check_origin(origin)
        self._signer = NoteSigner(self.origin, key)
        self._commit([(KEY_INIT, LEDGER_ACTOR, {"key": self._signer.verifier.vkey})], True)
        return self._signer

    def _check_latest(self) -> None:
        """Refuse to extend a log whose stored hashes no longer give its last signed root.

        Cheap (one signature, O(log n) hashes) and it stops the writer from signing new
        checkpoints over a tree someone has edited; ``verify`` checks everything.
        """
        latest = self._latest
        if latest is None:
            return
        verifier = self._chain.signer_for(latest.size)
        problem = None
        try:
            head = open_checkpoint(latest.note, [verifier] if verifier else [])
        except NoteError as exc:
            problem = f"its signature does not verify ({exc})"
        else:
            if head.size != latest.size or head.size > self._tree.size:
                problem = "it covers entries that are not stored"
            elif head.root_hash != self._tree.root(head.size):
                problem = "the stored leaf hashes give another root"
        if problem:
            raise LedgerError(
                f"the ledger's last checkpoint ({latest.size} entries) does not match the stored "
                f"log: {problem}; run `fivesafes ledger verify`"
            )

    def _open_signer(self) -> NoteSigner:
        """Load the current key (finishing an interrupted rotation) and any retiring key."""
        keys = self._key_dir
        pending = keys / NEXT_KEY_FILE
        if pending.exists():
            # A rotation was interrupted: finish it only if its entry was committed.
            if NoteSigner(self.origin, read_key(pending)).verifier == self._chain.current:
                self._retire(keys / KEY_FILE)
                os.replace(pending, keys / KEY_FILE)
            else:
                pending.unlink()
        path = keys / KEY_FILE
        if not path.exists():
            raise LedgerError(f"ledger key {path} is missing; the log cannot be signed without it")
        signer = NoteSigner(self.origin, read_key(path))
        if signer.verifier != self._chain.current:
            raise LedgerError(f"ledger key {path} is not the key the log says is current")
        retiring = keys / RETIRING_KEY_FILE
        if retiring.exists():
            cosigner = NoteSigner(self.origin, read_key(retiring))
            if cosigner.verifier != self._chain.previous:
                raise LedgerError(f"{retiring} is not the key the log's last rotation retired")
            if self._in_handover():
                self._cosigner = cosigner
            else:
                retiring.unlink()  # the handover is over: the old key signs nothing more
        return signer

    def _retire(self, current_key_file: Path) -> None:
        """Keep the key a rotation replaces as the retiring key while its handover lasts; with
        no handover, keep no retiring key at all (not even an earlier rotation's)."""
        retiring = self._key_dir / RETIRING_KEY_FILE
        if current_key_file.exists() and self._in_handover():
            write_key(retiring, read_key(current_key_file))
        else:
            retiring.unlink(missing_ok=True)

    def _in_handover(self) -> bool:
        until = self._chain.handover_until
        end = _parse_time(until) if until else None
        return end is not None and self._clock() < end

    @property
    def size(self) -> int:
        """The number of entries."""
        return self._tree.size

    @property
    def signed_size(self) -> int:
        """The size of the latest signed checkpoint."""
        return self._latest.size if self._latest else 0

    @property
    def verifier(self) -> NoteVerifier:
        """The current public key; publish ``verifier.vkey`` so anyone can check checkpoints."""
        return self._signer.verifier

    @property
    def keys(self) -> list[NoteVerifier]:
        """Every key that has signed this log, oldest first."""
        return self._chain.verifiers

    @property
    def latest_checkpoint(self) -> str | None:
        """The latest signed checkpoint note."""
        return self._latest.note if self._latest else None

    def append(self, kind: str, subject: Mapping[str, Any], *, actor: str = "system") -> Receipt:
        """Log one event. Jobs and releases are signed at once so their receipt proves inclusion,
        and so is every entry of a public kind (:meth:`_commit`)."""
        _check_record(kind, actor, subject)
        force = ENTRY_KINDS[kind].receipt
        ((index, _, entry, _),) = self._commit([(kind, actor, subject)], force)
        return self._receipt(index, entry)

    def append_many(self, records: Iterable[Record], *, batch_size: int = 10_000) -> int:
        """Log many events fast, one transaction per batch; returns how many were logged.

        A batch whose records do not all pass the checks stores nothing.
        """
        count = 0
        iterator = iter(records)
        while batch := list(islice(iterator, batch_size)):
            count += len(self._commit(batch, False, check=True))
        return count

    def checkpoint(self) -> str:
        """Sign a checkpoint for the current size now (unless one exists) and return it."""
        if self.size > self.signed_size:
            self._commit([], True)
        assert self._latest is not None  # the key_init entry is always signed
        return self._latest.note

    def maybe_checkpoint(self) -> str | None:
        """Sign a checkpoint if entries are waiting and the interval has passed (for a timer)."""
        if self.size > self.signed_size and self._interval_elapsed():
            return self.checkpoint()
        return None

    def rotate_key(self, handover: timedelta | None = None) -> Receipt:
        """Replace the signing key; the hand-over entry and its checkpoint carry the old key.

        For ``handover`` (default: the ledger's, 30 days) the old key goes on co-signing every
        checkpoint beside the new one, so a client that pinned the published old key (Go's
        ``sumdb/note``, a witness) keeps accepting the log while it learns the new key from the
        rotation entry. Pass ``timedelta(0)`` to end it at once, for a key that leaked.
        """
        handover = self._handover if handover is None else handover
        if handover < timedelta(0):
            raise ValueError("a key handover cannot be negative")
        old = self._signer
        new = NoteSigner(self.origin, Ed25519PrivateKey.generate())
        pending = self._key_dir / NEXT_KEY_FILE
        write_key(pending, new.private_key)
        old_vkey, new_vkey = old.verifier.vkey, new.verifier.vkey
        subject = {
            "old_key": old_vkey,
            "new_key": new_vkey,
            "statement": old.sign(rotation_statement(self.origin, old_vkey, new_vkey)),
            "handover_until": utc_timestamp(self._clock() + handover),
        }
        ((index, _, entry, _),) = self._commit([(KEY_ROTATION, LEDGER_ACTOR, subject)], True)
        self._retire(self._key_dir / KEY_FILE)
        os.replace(pending, self._key_dir / KEY_FILE)
        self._signer = new
        self._cosigner = old if self._in_handover() else None
        return self._receipt(index, entry)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Stored entry bytes in index order."""
        return (row.entry for row in self._store.entries(start, stop))

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every signed checkpoint, smallest first."""
        return self._store.checkpoints()

    def prove(self, index: int) -> Receipt:
        """The entry at ``index`` with its inclusion proof in the latest checkpoint.

        If no checkpoint covers the entry yet, one is signed first: a proof is only worth
        something against a signed root. A reader that must not write uses :meth:`receipt`.
        """
        if not 0 <= index < self.size:
            raise IndexError(f"entry {index} does not exist; the ledger has {self.size} entries")
        if index >= self.signed_size:
            self.checkpoint()
        return self.receipt(index)

    def receipt(self, index: int) -> Receipt:
        """The entry at ``index`` with its inclusion proof in the latest checkpoint already
        signed, signing nothing: without proof or checkpoint if none covers it yet. For reads
        anyone may make (the public portal), which must not change the log they read."""
        if not 0 <= index < self.size:
            raise IndexError(f"entry {index} does not exist; the ledger has {self.size} entries")
        (entry,) = self.entries(index, index + 1)
        return self._receipt(index, entry)

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Proof that the log at ``old_size`` is a prefix of it at ``new_size`` (default: now)."""
        new_size = self.size if new_size is None else new_size
        path = self._tree.consistency_proof(old_size, new_size)
        return ConsistencyProof(
            old_size, new_size, self._tree.root(old_size), self._tree.root(new_size), tuple(path)
        )

    def inclusion(self, index: int, tree_size: int) -> InclusionProof:
        """The inclusion proof of entry ``index`` in the tree of ``tree_size`` entries."""
        path = self._tree.inclusion_proof(index, tree_size)
        return InclusionProof(index, tree_size, self._tree.leaf(index), tuple(path))

    @property
    def tree(self) -> MerkleTree:
        """The Merkle tree (for publishing tiles); read it, never change it."""
        return self._tree

    def verify(self, trusted_key: str | None = None) -> VerifyReport:
        """Replay the whole stored log; ``trusted_key`` (a vkey) pins the log's first key."""
        return audit_store(self._store, self.origin, trusted_key)

    def export(self, directory: Path) -> ExportSummary:
        """Write entries, checkpoints, keys and proofs, and the tlog-tiles publication, as static
        files anyone can check."""
        self.checkpoint()
        return export_ledger(self, directory)

    def publish(self, directory: Path) -> TilesSummary:
        """Write (or bring up to date) the C2SP tlog-tiles publication: checkpoint and tiles."""
        self.checkpoint()
        return publish_tiles(self, directory)

    def public_view(self, kinds: Iterable[str] = PUBLIC_KINDS) -> PublicView:
        """Projects, purposes, people's public names, jobs and releases — never patient data;
        only entries of ``kinds`` (of the public ones) when a reader needs no others."""
        wanted = sorted(PUBLIC_KINDS & set(kinds))
        return public_view(row.entry for row in self._store.entries_of_kinds(wanted))

    def public_page(self, skip: int, count: int) -> tuple[int, PublicView]:
        """How many public entries there are, and ``count`` of them newest first after the
        newest ``skip``: the public view a page at a time, never the whole log at once."""
        kinds = sorted(PUBLIC_KINDS)
        rows = self._store.newest_of_kinds(kinds, skip, count)
        return self._store.count_of_kinds(kinds), public_view(row.entry for row in rows)

    def close(self) -> None:
        """Sign any unsigned entries, so nothing written is left uncovered, then close the store."""
        self.checkpoint()
        self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def of_kinds(self, kinds: Sequence[str]) -> Iterator[bytes]:
        """Stored entry bytes of the given kinds, in index order."""
        return (row.entry for row in self._store.entries_of_kinds(kinds))

    def numbered_of_kinds(self, kinds: Sequence[str]) -> Iterator[tuple[int, bytes]]:
        """(index, stored entry bytes) of the given kinds, in index order: for a reader that
        names the entry it shows (a load's, on a custodian's page)."""
        return ((row.index, row.entry) for row in self._store.entries_of_kinds(kinds))

    def catch_up(self) -> bool:
        """Take in the entries and checkpoints another process appended since this one last
        looked (the API server and a load both write one ledger); True if there were any.

        A reader calls it too (the portal, before it shows the latest checkpoint or proves an
        entry), so it holds the writers' lock: a tree is never extended twice from two threads.
        """
        with self._lock:
            start, signed = self._tree.size, self.signed_size
            rows = list(self._store.entries(start))
            if rows:
                self._tree.extend(b"".join(row.leaf_hash for row in rows))
            for row in rows:
                if row.kind in KEY_KINDS:
                    self._chain.apply(row.index, row.kind, orjson.loads(row.entry)["subject"])
            stored = self._store.checkpoints()
            if stored and (self._latest is None or stored[-1].size > self._latest.size):
                self._latest = stored[-1]
            return self._tree.size > start or self.signed_size > signed

    def _commit(
        self, records: Sequence[Record], force_checkpoint: bool, *, check: bool = False
    ) -> list[EntryRow]:
        """Store ``records`` (:meth:`_commit_once`), one caller at a time; if another process
        appended first (the store refuses our indices), catch up with it and try again."""
        with self._lock:
            for _ in range(_RETRIES):
                try:
                    return self._commit_once(records, force_checkpoint, check=check)
                except Exception:
                    if not self.catch_up():
                        raise
            return self._commit_once(records, force_checkpoint, check=check)

    def _commit_once(
        self, records: Sequence[Record], force_checkpoint: bool, *, check: bool = False
    ) -> list[EntryRow]:
        """Check (if asked), encode, hash and store ``records`` with the checkpoints they are due,
        all or nothing: nothing is stored until every record has passed.

        A checkpoint is due each time ``checkpoint_every`` entries have gone unsigned, and at the
        end when forced, when the interval has passed, or when a record is of a public kind: the
        public's reads prove an entry against the checkpoints there are and sign none
        (:meth:`receipt`), so the write that makes a public entry signs it.
        """
        tree, every = self._tree, self._every
        force_checkpoint = force_checkpoint or any(kind in PUBLIC_KINDS for kind, _, _ in records)
        start, signed = tree.size, self.signed_size
        time = utc_timestamp(self._clock())
        bodies = encode_entries(start, time, records, _check_record if check else None)
        leaves = [sha256(b"\x00" + body).digest() for body in bodies]
        kinds = [kind for kind, _, _ in records]
        rows: list[EntryRow] = list(
            zip(range(start, start + len(bodies)), kinds, bodies, leaves, strict=True)
        )
        try:
            tree.extend(b"".join(leaves))
            end = tree.size
            sizes = list(range(signed + every, end + 1, every))
            last = sizes[-1] if sizes else signed
            if end > last and (force_checkpoint or self._interval_elapsed()):
                sizes.append(end)
            heads = [self._sign(size) for size in sizes]
            self._store.append(rows, heads)
        except BaseException:
            tree.truncate(start)
            raise
        if not check:  # only the ledger's own records can be key entries
            for (position, _, _, _), (kind, _, subject) in zip(rows, records, strict=True):
                if kind in KEY_KINDS:
                    self._chain.apply(position, kind, dict(subject))
        if heads:
            self._latest = heads[-1]
            self._last_checkpoint_at = self._clock()
        return rows

    def _sign(self, size: int) -> StoredCheckpoint:
        """A checkpoint signed by the current key and, during a handover, the retiring one."""
        signers = [self._signer]
        if self._cosigner is not None and self._in_handover():
            signers.append(self._cosigner)
        note = Checkpoint(self.origin, size, self._tree.root(size)).sign(*signers)
        return StoredCheckpoint(size, note, utc_timestamp(self._clock()))

    def _interval_elapsed(self) -> bool:
        return (self._clock() - self._last_checkpoint_at).total_seconds() >= self._interval

    def _receipt(self, index: int, entry: bytes) -> Receipt:
        latest = self._latest
        if latest is None or latest.size <= index:
            return Receipt(index, entry, None, None)
        return Receipt(index, entry, self.inclusion(index, latest.size), latest.note)
