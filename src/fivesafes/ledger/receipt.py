"""Proofs and receipts as plain data: what the ledger hands out and anyone can check.

Each class carries the numbers and hashes, a ``to_dict`` for JSON, a ``render`` for the terminal,
and a ``verify`` that needs nothing but the hashes themselves (and, for a receipt, the log's public
key), so a researcher holding a receipt can check it long after, without trusting the operator.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from fivesafes.ledger.merkle import leaf_hash, root_from_inclusion_proof, verify_consistency
from fivesafes.ledger.note import NoteError, NoteVerifier, open_checkpoint


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class InclusionProof:
    """PATH(index, D[0:tree_size]): the sibling hashes from the leaf up to the root."""

    index: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]

    def root(self) -> bytes | None:
        """The root this proof leads to, or None if it is malformed for its index and size."""
        return root_from_inclusion_proof(self.index, self.tree_size, self.leaf_hash, self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
        }

    def render(self) -> str:
        lines = [
            f"inclusion proof for entry {self.index} in a tree of {self.tree_size} entries",
            f"leaf hash: {self.leaf_hash.hex()}",
            *(f"  {i:2d}  {p.hex()}" for i, p in enumerate(self.path)),
        ]
        root = self.root()
        lines.append(f"root:      {root.hex() if root else 'MALFORMED PROOF'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(old_size, D[0:new_size]): shows the older tree is a prefix of the newer one."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: tuple[bytes, ...]

    def verify(self) -> bool:
        return verify_consistency(
            self.old_size, self.new_size, self.old_root, self.new_root, self.path
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root.hex(),
            "new_root": self.new_root.hex(),
            "path": [p.hex() for p in self.path],
        }

    def render(self) -> str:
        return "\n".join(
            [
                f"consistency proof from {self.old_size} to {self.new_size} entries",
                f"old root: {self.old_root.hex()}",
                f"new root: {self.new_root.hex()}",
                *(f"  {i:2d}  {p.hex()}" for i, p in enumerate(self.path)),
                f"verifies: {'yes' if self.verify() else 'NO'}",
            ]
        )


@dataclass(frozen=True)
class Receipt:
    """What a submitter keeps: the entry, its index, its inclusion proof and the signed checkpoint.

    ``proof`` and ``checkpoint`` are None when no checkpoint covers the entry yet; ask the ledger
    to ``prove`` it later.
    """

    index: int
    entry: bytes
    proof: InclusionProof | None
    checkpoint: str | None

    def verify(self, verifiers: Iterable[NoteVerifier]) -> bool:
        """True if the checkpoint is signed by a trusted key and includes exactly this entry."""
        if self.proof is None or self.checkpoint is None:
            return False
        try:
            head = open_checkpoint(self.checkpoint, verifiers)
        except NoteError:
            return False
        return (
            orjson.loads(self.entry).get("index") == self.index
            and self.proof.index == self.index
            and self.proof.tree_size == head.size
            and self.proof.leaf_hash == leaf_hash(self.entry)
            and self.proof.root() == head.root_hash
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "entry": self.entry.decode(),
            "proof": None if self.proof is None else self.proof.to_dict(),
            "checkpoint": self.checkpoint,
        }

    def render(self) -> str:
        lines = [f"ledger receipt for entry {self.index}", self.entry.decode()]
        if self.proof is None or self.checkpoint is None:
            lines.append("not yet covered by a signed checkpoint; prove it again later")
        else:
            lines += [self.proof.render(), "signed checkpoint:", self.checkpoint.rstrip("\n")]
        return "\n".join(lines)
