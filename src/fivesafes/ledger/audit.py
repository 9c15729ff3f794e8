"""Replaying the whole stored log to check nothing was changed, removed or reordered.

:func:`audit_store` trusts nothing that is stored: it re-hashes every entry from its bytes,
rebuilds the tree, recomputes the root at every checkpoint's size and checks every checkpoint's
signature against the key the key chain says was in force. Any edit to an entry changes its
leaf hash and so every later root; a deletion or a reordering changes the leaf sequence, and
both also break the index each entry carries. Problems are collected, not raised, so an auditor
sees everything that is wrong at once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from fivesafes.ledger.entry import KEY_KINDS, decode_entry
from fivesafes.ledger.keys import KeyChain
from fivesafes.ledger.merkle import MerkleTree, leaf_hash
from fivesafes.ledger.note import NoteError, open_checkpoint
from fivesafes.ledger.storage import LedgerStore


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


def audit_store(store: LedgerStore, origin: str, trusted_key: str | None = None) -> VerifyReport:
    """Replay every entry and checkpoint in ``store``; ``trusted_key`` pins the first key (vkey)."""
    problems: list[Problem] = []
    leaves: list[bytes] = []
    chain = KeyChain(origin)
    expected = 0
    for row in store.entries():
        where = f"entry {row.index}"
        if row.index != expected:
            problems.append(Problem(where, f"entries {expected}..{row.index - 1} are missing"))
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
                try:
                    chain.apply(row.index, record["kind"], record["subject"])
                except (ValueError, KeyError, TypeError) as exc:
                    problems.append(Problem(where, f"bad key entry: {exc}"))
        leaf = leaf_hash(row.entry)
        if leaf != row.leaf_hash:
            problems.append(Problem(where, "stored leaf hash does not match the entry"))
        leaves.append(leaf)
        expected = row.index + 1
    tree = MerkleTree(leaves)
    del leaves
    if not chain.verifiers:
        problems.append(Problem("entry 0", "the log does not start with a key_init entry"))
    elif trusted_key is not None and chain.verifiers[0].vkey != trusted_key:
        problems.append(Problem("entry 0", "the log's first key is not the trusted key"))

    stored = store.checkpoints()
    for cp in stored:
        problems += _check_checkpoint(cp.size, cp.note, origin, tree, chain)
    return VerifyReport(
        origin=origin,
        entries=tree.size,
        checkpoints=len(stored),
        signed_size=max((cp.size for cp in stored), default=0),
        root_hash=tree.root(),
        keys=[v.vkey for v in chain.verifiers],
        problems=problems,
    )


def _check_checkpoint(
    size: int, note: str, origin: str, tree: MerkleTree, chain: KeyChain
) -> list[Problem]:
    where = f"checkpoint {size}"
    if size > tree.size:
        return [Problem(where, f"covers {size} entries but only {tree.size} remain (removed?)")]
    verifier = chain.signer_for(size)
    if verifier is None:
        return [Problem(where, "no key was in force for this checkpoint")]
    try:
        head = open_checkpoint(note, [verifier])
    except NoteError as exc:
        return [Problem(where, f"signature does not verify: {exc}")]
    problems = []
    if head.origin != origin or head.size != size:
        problems.append(Problem(where, f"signed body names {head.origin!r} at size {head.size}"))
    if head.root_hash != tree.root(min(head.size, tree.size)):
        problems.append(
            Problem(where, "root hash differs: an entry it covers was changed, removed or moved")
        )
    return problems
