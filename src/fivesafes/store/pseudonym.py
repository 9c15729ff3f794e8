"""Pseudonymous patient identifiers: a keyed hash of the NHS number.

``patient_id`` = the first 8 bytes of HMAC-SHA256(key, NHS number), as a signed
64-bit integer. A keyed hash (not a plain one) because the space of NHS numbers
is small enough to hash exhaustively: without the key nobody can go from an
identifier back to a number. 64 bits keep joins on hundreds of millions of rows
fast while collisions stay vanishingly rare (the chance of any collision among
n patients is about n^2 / 2^65: 3 in 100 million for a million patients). The
key is created on first use with
owner-only permissions and never enters the database (SATRE: pseudonymisation
keys held separately from data).
"""

from __future__ import annotations

import hmac
import os
import secrets
from hashlib import sha256
from pathlib import Path

KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The environment's secret key, creating it (mode 0600) the first time."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"{path}: the pseudonym key must be {KEY_BYTES} bytes, found {len(key)}"
            )
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class Pseudonymiser:
    """Turns NHS numbers into ``patient_id`` values with one environment's key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, nhs_number: str) -> int:
        digest = hmac.new(self._key, nhs_number.encode("ascii"), sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)
