"""A plain reference for RFC 9162 §2.1, written straight from the RFC's recursive definitions.

It works on lists of leaf *data* (not hashes) and recomputes every subtree from scratch (with a
cache for speed), so it shares no code or shortcut with ``fivesafes.ledger.merkle``:

* MTH({}) = SHA-256(); MTH({d0}) = SHA-256(0x00 || d0);
  MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of 2 < n.
* PATH(m, D[n]) (§2.1.3.1) and SUBPROOF(m, D[n], b) / PROOF(m, D[n]) (§2.1.4.1).
"""

from __future__ import annotations

import hashlib
from functools import cache


def _k(n: int) -> int:
    """The largest power of two strictly less than n (n > 1), found by doubling."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def mth(leaves: tuple[bytes, ...]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: tuple[bytes, ...]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def proof(m: int, leaves: tuple[bytes, ...]) -> list[bytes]:
    return subproof(m, leaves, True)
