"""A witness: a verifier that remembers the last checkpoint it accepted and never goes back.

A signed checkpoint alone does not stop an operator from rolling the log back or showing one
log to the public and another to an auditor (a split view). A witness closes that gap: it keeps
the latest checkpoint it accepted (optionally in a file, so it survives restarts) and only
accepts a newer one that is at least as large and comes with a consistency proof from the one it
holds. Anyone can run one; several independent witnesses make a split view visible.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from fivesafes.ledger.merkle import verify_consistency
from fivesafes.ledger.note import Checkpoint, NoteError, NoteVerifier, open_checkpoint


class WitnessRefusal(ValueError):
    """The witness refused a checkpoint; the message says why."""


class Witness:
    """Accepts checkpoints of one log only if signed, not smaller, and consistent with the last."""

    def __init__(
        self, origin: str, verifiers: Iterable[NoteVerifier], state_file: Path | None = None
    ) -> None:
        self.origin = origin
        self._verifiers = list(verifiers)
        self._state_file = state_file
        self._latest: Checkpoint | None = None
        if state_file is not None and state_file.exists():
            self._latest = self._open(state_file.read_text(encoding="utf-8"))

    @property
    def latest(self) -> Checkpoint | None:
        """The latest checkpoint accepted."""
        return self._latest

    def trust(self, verifier: NoteVerifier) -> None:
        """Also accept signatures from ``verifier`` (after checking a key rotation)."""
        self._verifiers.append(verifier)

    def observe(self, note: str, proof: Sequence[bytes] = ()) -> Checkpoint:
        """Accept ``note`` if it extends the latest checkpoint (``proof`` is the consistency proof
        from the latest to it), or raise :class:`WitnessRefusal`."""
        head = self._open(note)
        old = self._latest
        if old is not None:
            if head.size < old.size:
                raise WitnessRefusal(
                    f"rollback: checkpoint of {head.size} entries after one of {old.size}"
                )
            if not verify_consistency(old.size, head.size, old.root_hash, head.root_hash, proof):
                raise WitnessRefusal(
                    f"split view: checkpoint of {head.size} entries is not consistent with the "
                    f"accepted one of {old.size}"
                )
        self._latest = head
        if self._state_file is not None:
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(note, encoding="utf-8")
            os.replace(tmp, self._state_file)
        return head

    def _open(self, note: str) -> Checkpoint:
        try:
            head = open_checkpoint(note, self._verifiers)
        except NoteError as exc:
            raise WitnessRefusal(f"bad signature: {exc}") from exc
        if head.origin != self.origin:
            raise WitnessRefusal(f"checkpoint is for log {head.origin!r}, not {self.origin!r}")
        return head
