"""Replaying the whole stored log to check nothing was changed, removed or reordered.

:func:`audit_store` trusts nothing that is stored: it re-hashes every entry from its bytes,
rebuilds the tree, recomputes the root at every checkpoint's size and checks every checkpoint's
signature against the key the key chain says was in force (and a retiring key's co-signature,
when a checkpoint carries one). Any edit to an entry changes its leaf hash and so every later
root; a deletion or a reordering changes the leaf sequence, and both also break the index each
entry carries. Every stored column is checked for what it must hold (a 32-byte leaf hash, an
integer position, a checkpoint's time), and a file that cannot be read at all is reported as a
failure too. Problems are collected, not raised, so an auditor sees everything that is wrong at
once; ``ledger verify`` never ends in a traceback.

A checkpoint row's ``created`` time is the one thing no signature covers: it is bookkeeping
(when the checkpoint was made) that nothing else depends on, so an edit is caught only when it
is not a UTC time.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

from fivesafes.ledger.entry import KEY_INIT, KEY_KINDS, decode_entry
from fivesafes.ledger.errors import LedgerStorageError
from fivesafes.ledger.keys import KeyChain
from fivesafes.ledger.merkle import EMPTY_ROOT, HASH_SIZE, MerkleTree, leaf_hash
from fivesafes.ledger.note import Checkpoint, NoteError, NoteVerifier, parse_note, signed_by
from fivesafes.ledger.storage import LedgerStore, StoredCheckpoint


@dataclass(frozen=True)
class Problem:
    """One thing found wrong: where (an entry or checkpoint) and what."""

    where: str
    message: str


@dataclass
class VerifyReport:
    """The outcome of replaying the log."""

    origin: str
    entries: int
    checkpoints: int
    signed_size: int
    root_hash: bytes
    keys: list[str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def unreadable(cls, message: str, origin: str = "?") -> VerifyReport:
        """The report on a ledger whose storage cannot be read at all."""
        return cls(origin, 0, 0, 0, EMPTY_ROOT, [], [Problem("storage", message)])

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last checkpoint, which no signature covers yet."""
        return max(self.entries - self.signed_size, 0)

    def render(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        lines = [
            f"ledger {self.origin}: {self.entries} entries, {self.checkpoints} checkpoints",
            f"root hash now: {root}",
            *(f"key: {k}" for k in self.keys),
        ]
        if self.unsigned_tail:
            lines.append(
                f"{self.unsigned_tail} entries after the last checkpoint are not signed yet"
            )
        if self.ok:
            lines.append(
                "OK: every entry re-hashed, every root recomputed, every signature checked"
            )
        else:
            lines.append(f"FAILED: {len(self.problems)} problem(s)")
            lines += [f"  {p.where}: {p.message}" for p in self.problems]
        return "\n".join(lines)


def audit_store(
    store: LedgerStore, origin: str | None = None, trusted_key: str | None = None
) -> VerifyReport:
    """Replay every entry and checkpoint in ``store``.

    ``origin`` is the origin the auditor expects (default: the log's own, its first key's name);
    ``trusted_key`` (a vkey) pins the log's first key.
    """
    try:
        return _audit(store, origin, trusted_key)
    except LedgerStorageError as exc:
        return VerifyReport.unreadable(str(exc), origin or "?")


def _audit(store: LedgerStore, origin: str | None, trusted_key: str | None) -> VerifyReport:
    problems: list[Problem] = []
    chain = KeyChain()
    leaves = bytearray()
    key_entries: list[int] = []
    expected = 0
    for row in store.entries():
        where = f"entry {row.index}"
        if row.index > expected:
            problems.append(Problem(where, f"entries {expected}..{row.index - 1} are missing"))
        elif row.index < expected:
            problems.append(Problem(where, f"stored at position {row.index}, before {expected}"))
        try:
            record = decode_entry(row.entry)
        except ValueError as exc:
            problems.append(Problem(where, f"unreadable entry: {exc}"))
        else:
            if record["index"] != row.index:
                problems.append(Problem(where, f"entry says it is {record['index']} (reordered?)"))
            if record["kind"] != row.kind:
                problems.append(Problem(where, "stored kind differs from the entry's kind"))
            if record["kind"] in KEY_KINDS:
                key_entries.append(row.index)
                try:
                    chain.apply(row.index, record["kind"], record["subject"])
                except (ValueError, KeyError, TypeError) as exc:
                    problems.append(Problem(where, f"bad key entry: {exc}"))
        leaf = leaf_hash(row.entry)
        if len(row.leaf_hash) != HASH_SIZE:
            problems.append(
                Problem(where, f"stored leaf hash is {len(row.leaf_hash)} bytes, not a SHA-256")
            )
        elif leaf != row.leaf_hash:
            problems.append(Problem(where, "stored leaf hash does not match the entry"))
        leaves += leaf
        expected = max(expected, row.index + 1)
    tree = MerkleTree([bytes(leaves)] if leaves else [])
    del leaves
    log_origin = origin or "?"
    if not chain.verifiers:
        problems.append(Problem("entry 0", f"the log does not start with a {KEY_INIT} entry"))
    else:
        log_origin = chain.origin
        if origin is not None and log_origin != origin:
            problems.append(
                Problem("entry 0", f"the log's origin is {log_origin!r}, not {origin!r}")
            )
        if trusted_key is not None and chain.first.vkey != trusted_key:
            problems.append(Problem("entry 0", "the log's first key is not the trusted key"))

    stored = store.checkpoints()
    sizes = {cp.size for cp in stored}
    for cp in stored:
        problems += _check_checkpoint(cp, log_origin, tree, chain)
    problems += [
        Problem(
            f"checkpoint {i + 1}", f"missing: key entry {i} is always signed at once (removed?)"
        )
        for i in key_entries
        if i + 1 not in sizes and i + 1 <= tree.size
    ]
    return VerifyReport(
        origin=log_origin,
        entries=tree.size,
        checkpoints=len(stored),
        signed_size=max(sizes, default=0),
        root_hash=tree.root(),
        keys=[v.vkey for v in chain.verifiers],
        problems=problems,
    )


def _check_checkpoint(
    cp: StoredCheckpoint, origin: str, tree: MerkleTree, chain: KeyChain
) -> list[Problem]:
    where = f"checkpoint {cp.size}"
    problems = []
    if not _is_utc_time(cp.created):
        problems.append(Problem(where, f"its time {cp.created!r} is not a UTC timestamp"))
    if cp.size > tree.size:
        return [
            *problems,
            Problem(where, f"covers {cp.size} entries but only {tree.size} remain (removed?)"),
        ]
    verifier = chain.signer_for(cp.size)
    if verifier is None:
        return [*problems, Problem(where, "no key was in force for this checkpoint")]
    cosigner = chain.cosigner_for(cp.size)
    trusted: list[NoteVerifier] = [verifier] if cosigner is None else [verifier, cosigner]
    try:
        note = parse_note(cp.note)
        signers = signed_by(note, trusted)
        head = Checkpoint.from_body(note.text)
    except NoteError as exc:
        return [*problems, Problem(where, f"signature does not verify: {exc}")]
    if verifier not in signers:
        problems.append(Problem(where, "no valid signature by the key in force for it"))
    if head.origin != origin or head.size != cp.size:
        problems.append(Problem(where, f"signed body names {head.origin!r} at size {head.size}"))
    if head.size > tree.size or head.root_hash != tree.root(head.size):
        problems.append(
            Problem(where, "root hash differs: an entry it covers was changed, removed or moved")
        )
    return problems


def _is_utc_time(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    offset = moment.utcoffset()
    return offset is not None and not offset
