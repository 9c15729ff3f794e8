"""Pseudonymous patient identifiers: a keyed hash of the NHS number.

``patient_id`` = the first 8 bytes of HMAC-SHA256(key, NHS number), as a signed
64-bit integer. A keyed hash (not a plain one) because the space of NHS numbers
is small enough to hash exhaustively: without the key nobody can go from an
identifier back to a number. 64 bits keep joins on hundreds of millions of rows
fast while collisions stay vanishingly rare (the chance of any collision among
n patients is about n^2 / 2^65: 3 in 100 million for a million patients). The
key never enters the database (SATRE: pseudonymisation keys held separately from data).

The key is made once, by an explicit initialisation of the environment (:func:`create_key`),
never on first use: an environment that lost its key and quietly made a new one would hash
every opt-out to a pseudonym nobody has, and the next research extract would hold everyone who
opted out. So reading a key that is not there is an error that says what to do
(:func:`read_key`), and the store records the key's fingerprint when the key is first used with
it and refuses any other key after that (see :class:`fivesafes.store.database.Store`).
"""

from __future__ import annotations

import hmac
import os
import secrets
from hashlib import sha256
from pathlib import Path

KEY_BYTES = 32
FINGERPRINT_LABEL = b"fivesafes pseudonym key fingerprint v1"


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing, malformed, or not the one the store was made with."""


def read_key(path: Path) -> bytes:
    """The environment's secret key; never made here (see the module's docstring)."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise PseudonymKeyError(
            f"no pseudonym key at {path}: a key is made only when a data custodian initialises "
            "the environment (fivesafes environment init); if this environment had one, restore "
            "it from its backup, since a new key would match no one's opt-out"
        ) from None
    except OSError as exc:
        raise PseudonymKeyError(f"cannot read the pseudonym key at {path}: {exc}") from None
    if len(key) != KEY_BYTES:
        raise PseudonymKeyError(
            f"{path}: the pseudonym key must be {KEY_BYTES} bytes, found {len(key)}"
        )
    return key


def create_key(path: Path) -> bytes:
    """Make the environment's key (mode 0600, in an owner-only folder); refuse if one exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PseudonymKeyError(f"{path} exists; refusing to replace a pseudonym key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def key_fingerprint(key: bytes) -> str:
    """What the store keeps to recognise its key: a keyed hash that says nothing of the key."""
    return hmac.new(key, FINGERPRINT_LABEL, sha256).hexdigest()


class Pseudonymiser:
    """Turns NHS numbers into ``patient_id`` values with one environment's key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, nhs_number: str) -> int:
        digest = hmac.new(self._key, nhs_number.encode("ascii"), sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)
