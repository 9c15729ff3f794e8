"""The environment's Ed25519 ledger signing key, kept in a PEM file readable only by its owner.

The key is created on first use so a fresh environment can start logging at once; the file is
written with mode 0600 before any key material goes into it, so the key is never world-readable,
not even briefly. Rotation writes the next key beside the current one and swaps it in only after
the rotation entry is committed (see :meth:`fivesafes.ledger.log.Ledger.rotate_key`); the old key
stays, as the *retiring* key, until the handover the rotation entry names is over, co-signing
every checkpoint so that clients that pinned it keep accepting the log while they learn the new
one. The public half of each key, and the order they were used in, is itself in the log: see
:class:`KeyChain`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from fivesafes.ledger.entry import KEY_INIT, KEY_ROTATION
from fivesafes.ledger.note import NoteVerifier, open_note

KEY_FILE = "ledger-ed25519.pem"
NEXT_KEY_FILE = "ledger-ed25519.next.pem"
RETIRING_KEY_FILE = "ledger-ed25519.retiring.pem"


def write_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM to a new file created with mode 0600."""
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def read_key(path: Path) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from a PEM file."""
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_key(key_dir: Path) -> Ed25519PrivateKey:
    """The current ledger key in ``key_dir``, generating and saving one if there is none."""
    path = key_dir / KEY_FILE
    if path.exists():
        return read_key(path)
    key = Ed25519PrivateKey.generate()
    write_key(path, key)
    return key


def rotation_statement(origin: str, old_vkey: str, new_vkey: str) -> str:
    """The note text the old key signs to hand the log over to the new key."""
    return f"{origin}\nkey rotation\n{old_vkey}\n{new_vkey}\n"


class KeyChain:
    """Which key signs the ledger when, read from its ``key_init`` and ``key_rotation`` entries.

    Entry 0 names the first key, and its name is the log's origin. A rotation entry at index
    ``r`` carries a note, signed by the old key, naming the new one; entries up to and including
    ``r`` (so the checkpoint that covers the rotation) belong to the old key, and entries after
    ``r`` to the new one. So nobody holding only a new key can claim the log: the hand-over is
    signed by the key already trusted. Until the rotation's ``handover_until`` the old key also
    co-signs; a co-signature is checked when present, never required (the operator may end a
    handover early, say because the old key leaked).
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._verifiers: list[NoteVerifier] = []
        self.handover_until: str | None = None
        """When the latest rotation's handover ends (UTC timestamp), if there was a rotation."""

    @property
    def origin(self) -> str:
        """The log's origin: the name of its first key."""
        return self.first.name

    @property
    def verifiers(self) -> list[NoteVerifier]:
        """Every key in the chain, oldest first."""
        return list(self._verifiers)

    @property
    def first(self) -> NoteVerifier:
        if not self._verifiers:
            raise ValueError("the ledger has no key_init entry")
        return self._verifiers[0]

    @property
    def current(self) -> NoteVerifier:
        if not self._verifiers:
            raise ValueError("the ledger has no key_init entry")
        return self._verifiers[-1]

    @property
    def previous(self) -> NoteVerifier | None:
        """The key the latest rotation retired, if there was one."""
        return self._verifiers[-2] if len(self._verifiers) > 1 else None

    def apply(self, index: int, kind: str, subject: dict[str, str]) -> None:
        """Take in one key entry, raising ValueError if it is not a valid step of the chain."""
        if kind == KEY_INIT:
            if index != 0 or self._verifiers:
                raise ValueError("key_init may only be the first entry")
            self._add(0, NoteVerifier.from_vkey(subject["key"]))
        elif kind == KEY_ROTATION:
            old = self.current
            if subject["old_key"] != old.vkey:
                raise ValueError("key rotation does not start from the current key")
            new = NoteVerifier.from_vkey(subject["new_key"])
            if new.name != self.origin:
                raise ValueError(f"the new key is named {new.name!r}, not the log's origin")
            text = open_note(subject["statement"], [old]).text
            if text != rotation_statement(self.origin, old.vkey, new.vkey):
                raise ValueError("key rotation statement does not match its entry")
            self._add(index + 1, new)
            self.handover_until = subject.get("handover_until")

    def signer_for(self, size: int) -> NoteVerifier | None:
        """The key that must sign a checkpoint of ``size`` entries (the key of entry size-1)."""
        position = self._position(size)
        return None if position is None else self._verifiers[position]

    def cosigner_for(self, size: int) -> NoteVerifier | None:
        """The key that may co-sign a checkpoint of ``size`` entries: the one before its signer."""
        position = self._position(size)
        return None if not position else self._verifiers[position - 1]

    def _position(self, size: int) -> int | None:
        last = max(size - 1, 0)
        found = None
        for position, start in enumerate(self._starts):
            if start <= last:
                found = position
        return found

    def _add(self, start: int, verifier: NoteVerifier) -> None:
        self._starts.append(start)
        self._verifiers.append(verifier)
