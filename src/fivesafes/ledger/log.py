"""The ledger: an append-only, signed, publicly checkable log of everything the environment does.

SATRE asks that a trusted research environment keep an audit trail of who did what; we go further
and make that trail tamper-evident and public (RFC 9162 transparency log). :class:`Ledger` ties
the pieces together: entries are encoded (:mod:`.entry`), hashed into the Merkle tree
(:mod:`.merkle`), stored (:mod:`.storage`), and covered by Ed25519-signed C2SP checkpoints
(:mod:`.note`) every ``checkpoint_every`` entries or ``checkpoint_interval`` seconds, whichever
comes first; every checkpoint is kept. Reading back is :meth:`Ledger.verify` (replay everything),
:meth:`Ledger.prove`, :meth:`Ledger.consistency`, :meth:`Ledger.export` and
:meth:`Ledger.public_view`; each returns data with a ``render()`` for the command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
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
    KINDS,
    RECEIPT_KINDS,
    check_subject,
    check_value,
    encode_entry,
    utc_timestamp,
)
from fivesafes.ledger.export import ExportSummary, export_ledger
from fivesafes.ledger.keys import (
    KEY_FILE,
    NEXT_KEY_FILE,
    KeyChain,
    load_or_create_key,
    read_key,
    rotation_statement,
    write_key,
)
from fivesafes.ledger.merkle import MerkleTree, leaf_hash
from fivesafes.ledger.note import Checkpoint, NoteSigner, NoteVerifier
from fivesafes.ledger.public import PUBLIC_KINDS, PublicView, public_view
from fivesafes.ledger.receipt import ConsistencyProof, InclusionProof, Receipt
from fivesafes.ledger.storage import LedgerStore, SqliteLedgerStore, StoredCheckpoint, StoredEntry

DEFAULT_ORIGIN = "fivesafes.local/ledger"
LEDGER_ACTOR = "ledger"
"""The actor named on entries the ledger writes about itself (its keys)."""

Record = tuple[str, str, Mapping[str, Any]]
"""One event to log: (kind, actor, subject)."""


class LedgerError(RuntimeError):
    """The ledger cannot be opened or extended safely (for example its key is missing)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_record(kind: str, actor: str, subject: Mapping[str, Any]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}; expected one of {sorted(KINDS)}")
    check_value(actor, "actor")
    check_subject(subject)


def verify_file(
    db_path: Path, origin: str = DEFAULT_ORIGIN, trusted_key: str | None = None
) -> VerifyReport:
    """Replay a ledger file without its signing key, as an auditor would."""
    if not db_path.is_file():
        raise FileNotFoundError(f"no ledger at {db_path}")
    store = SqliteLedgerStore(db_path, read_only=True)
    try:
        return audit_store(store, origin, trusted_key)
    finally:
        store.close()


class Ledger:
    """An open ledger: an append-only store, its Merkle tree in memory and its signing key.

    One process writes to a ledger at a time (the tree lives in that process's memory); a second
    writer's appends fail on the store's unique index rather than fork the log. Readers and
    auditors can use :func:`verify_file` at any time.
    """

    def __init__(
        self,
        store: LedgerStore,
        key_dir: Path,
        origin: str = DEFAULT_ORIGIN,
        *,
        checkpoint_every: int = 1000,
        checkpoint_interval: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if checkpoint_every < 1 or checkpoint_interval <= 0:
            raise ValueError("checkpoints need a positive entry count and interval")
        self.origin = origin
        self._store = store
        self._key_dir = key_dir
        self._every = checkpoint_every
        self._interval = checkpoint_interval
        self._clock = clock
        self._tree = MerkleTree(store.leaf_hashes())
        stored = store.checkpoints()
        self._latest: StoredCheckpoint | None = stored[-1] if stored else None
        self._last_checkpoint_at = (
            datetime.fromisoformat(self._latest.created) if self._latest else clock()
        )
        self._chain = KeyChain(origin)
        for row in store.entries_of_kinds(sorted(KEY_KINDS)):
            self._chain.apply(row.index, row.kind, orjson.loads(row.entry)["subject"])
        self._signer = self._open_signer()

    @classmethod
    def open(
        cls, db_path: Path, key_dir: Path, origin: str = DEFAULT_ORIGIN, **options: Any
    ) -> Ledger:
        """Open (or create) the ledger in SQLite file ``db_path`` with keys under ``key_dir``."""
        return cls(SqliteLedgerStore(db_path), key_dir, origin, **options)

    def _open_signer(self) -> NoteSigner:
        """Load the key file, creating it and the log's first entry (key_init) for a new log."""
        if self._tree.size == 0:
            self._signer = NoteSigner(self.origin, load_or_create_key(self._key_dir))
            self._commit([(KEY_INIT, LEDGER_ACTOR, {"key": self._signer.verifier.vkey})], True)
            return self._signer
        pending = self._key_dir / NEXT_KEY_FILE
        if pending.exists():
            # A rotation was interrupted: finish it only if its entry was committed.
            if NoteSigner(self.origin, read_key(pending)).verifier == self._chain.current:
                os.replace(pending, self._key_dir / KEY_FILE)
            else:
                pending.unlink()
        path = self._key_dir / KEY_FILE
        if not path.exists():
            raise LedgerError(f"ledger key {path} is missing; the log cannot be signed without it")
        signer = NoteSigner(self.origin, read_key(path))
        if signer.verifier != self._chain.current:
            raise LedgerError(f"ledger key {path} is not the key the log says is current")
        return signer

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
        """Log one event. Jobs and releases are signed at once so their receipt proves inclusion."""
        _check_record(kind, actor, subject)
        (row,) = self._commit([(kind, actor, subject)], kind in RECEIPT_KINDS)
        return self._receipt(row.index, row.entry)

    def append_many(self, records: Iterable[Record], *, batch_size: int = 10_000) -> int:
        """Log many events fast, one transaction per batch; returns how many were logged."""
        count = 0
        iterator = iter(records)
        while batch := list(islice(iterator, batch_size)):
            for record in batch:
                _check_record(*record)
            count += len(self._commit(batch, False))
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

    def rotate_key(self) -> Receipt:
        """Replace the signing key; the hand-over entry and its checkpoint carry the old key."""
        old = self._signer
        new = NoteSigner(self.origin, Ed25519PrivateKey.generate())
        pending = self._key_dir / NEXT_KEY_FILE
        write_key(pending, new.private_key)
        old_vkey, new_vkey = old.verifier.vkey, new.verifier.vkey
        subject = {
            "old_key": old_vkey,
            "new_key": new_vkey,
            "statement": old.sign(rotation_statement(self.origin, old_vkey, new_vkey)),
        }
        (row,) = self._commit([(KEY_ROTATION, LEDGER_ACTOR, subject)], True)
        os.replace(pending, self._key_dir / KEY_FILE)
        self._signer = new
        return self._receipt(row.index, row.entry)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Stored entry bytes in index order."""
        return (row.entry for row in self._store.entries(start, stop))

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every signed checkpoint, smallest first."""
        return self._store.checkpoints()

    def prove(self, index: int) -> Receipt:
        """The entry at ``index`` with its inclusion proof in the latest checkpoint.

        If no checkpoint covers the entry yet, one is signed first: a proof is only worth
        something against a signed root.
        """
        if not 0 <= index < self.size:
            raise IndexError(f"entry {index} does not exist; the ledger has {self.size} entries")
        if index >= self.signed_size:
            self.checkpoint()
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

    def verify(self, trusted_key: str | None = None) -> VerifyReport:
        """Replay the whole stored log; ``trusted_key`` (a vkey) pins the log's first key."""
        return audit_store(self._store, self.origin, trusted_key)

    def export(self, directory: Path) -> ExportSummary:
        """Write entries, checkpoints, keys and proofs as static files anyone can check."""
        self.checkpoint()
        return export_ledger(self, directory)

    def public_view(self) -> PublicView:
        """Projects, purposes, people's public names, jobs and releases — never patient data."""
        return public_view(row.entry for row in self._store.entries_of_kinds(sorted(PUBLIC_KINDS)))

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

    def _commit(self, records: Sequence[Record], force_checkpoint: bool) -> list[StoredEntry]:
        """Encode, hash and store ``records`` with the checkpoints they are due, all or nothing."""
        tree, clock, every = self._tree, self._clock, self._every
        start, signed = tree.size, self.signed_size
        rows: list[StoredEntry] = []
        heads: list[StoredCheckpoint] = []
        try:
            for kind, actor, subject in records:
                index = tree.size
                body = encode_entry(index, utc_timestamp(clock()), kind, actor, subject)
                leaf = leaf_hash(body)
                tree.append(leaf)
                rows.append(StoredEntry(index, kind, body, leaf))
                if tree.size - signed >= every:
                    heads.append(self._sign(tree.size))
                    signed = tree.size
            if tree.size > signed and (force_checkpoint or self._interval_elapsed()):
                heads.append(self._sign(tree.size))
            self._store.append(rows, heads)
        except BaseException:
            tree.truncate(start)
            raise
        for row, (kind, _, subject) in zip(rows, records, strict=True):
            if kind in KEY_KINDS:
                self._chain.apply(row.index, kind, dict(subject))
        if heads:
            self._latest = heads[-1]
            self._last_checkpoint_at = clock()
        return rows

    def _sign(self, size: int) -> StoredCheckpoint:
        note = Checkpoint(self.origin, size, self._tree.root(size)).sign(self._signer)
        return StoredCheckpoint(size, note, utc_timestamp(self._clock()))

    def _interval_elapsed(self) -> bool:
        return (self._clock() - self._last_checkpoint_at).total_seconds() >= self._interval

    def _receipt(self, index: int, entry: bytes) -> Receipt:
        latest = self._latest
        if latest is None or latest.size <= index:
            return Receipt(index, entry, None, None)
        return Receipt(index, entry, self.inclusion(index, latest.size), latest.note)
