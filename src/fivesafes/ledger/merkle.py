"""The RFC 9162 Merkle tree behind the ledger, with the proofs and their verification.

Hashes follow RFC 9162 §2.1 (the same as RFC 6962): a leaf hash is SHA-256(0x00 ‖ entry) and an
interior node is SHA-256(0x01 ‖ left ‖ right); the tree of ``n`` leaves splits at the largest power
of two smaller than ``n``. Every subtree that the RFC's recursive definitions (MTH, PATH, SUBPROOF)
ever visit is a perfect, aligned subtree or a chain of them, so :class:`MerkleTree` caches the
hash of every perfect subtree as it is completed. Appending is amortised O(1) hashes, and roots of
any earlier size, inclusion proofs and consistency proofs cost O(log n).

The verification functions implement the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 word for
word, so that anyone holding only a root hash can check our proofs without trusting this module's
proof generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d): the leaf hash of one ledger entry."""
    return sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` > 1), where the RFC splits."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree that keeps leaf hashes and every completed perfect subtree.

    ``_levels[h]`` holds, back to back, the hashes of the perfect subtrees of height ``h``
    (``2**h`` leaves), in order; level 0 is the leaf hashes. Storing them in one ``bytearray`` per
    level keeps a million-leaf tree to about 64 MB, with no per-hash object overhead.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Build the tree over ``leaf_hashes`` level by level (faster than appending one by one)."""
        level = bytearray().join(leaf_hashes)
        if len(level) % HASH_SIZE:
            raise ValueError("leaf hashes must be 32 bytes each")
        self._size = len(level) // HASH_SIZE
        self._levels: list[bytearray] = [level]
        pair = 2 * HASH_SIZE
        while len(level) >= pair:
            end = len(level) - len(level) % pair
            level = bytearray().join(
                sha256(_NODE_PREFIX + level[i : i + pair]).digest() for i in range(0, end, pair)
            )
            self._levels.append(level)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash, hashing each subtree the new leaf completes (amortised one hash)."""
        levels = self._levels
        levels[0] += leaf
        self._size += 1
        n = self._size
        height = 0
        while n & 1 == 0:
            below = levels[height]
            if len(levels) == height + 1:
                levels.append(bytearray())
            levels[height + 1] += sha256(_NODE_PREFIX + below[-2 * HASH_SIZE :]).digest()
            n >>= 1
            height += 1

    def extend(self, leaves: bytes) -> None:
        """Add many leaf hashes (32 bytes each, back to back) at once, level by level.

        The same tree as appending them one by one, but each level's new nodes are made in one
        pass, which is several times faster for a batch.
        """
        if len(leaves) % HASH_SIZE:
            raise ValueError("leaf hashes must be 32 bytes each")
        levels = self._levels
        levels[0] += leaves
        self._size += len(leaves) // HASH_SIZE
        pair = 2 * HASH_SIZE
        height = 0
        while len(levels[height]) >= pair:
            below = levels[height]
            if len(levels) == height + 1:
                levels.append(bytearray())
            above = levels[height + 1]
            start, end = len(above) * 2, len(below) - len(below) % pair
            if start == end:
                break
            view = memoryview(below)
            above += b"".join(
                sha256(_NODE_PREFIX + view[i : i + pair]).digest() for i in range(start, end, pair)
            )
            view.release()
            height += 1

    def subtree_hashes(self, height: int, start: int, count: int) -> bytes:
        """The hashes of ``count`` perfect subtrees of ``2**height`` leaves from the ``start``-th
        on, back to back (tlog-tiles serves them as tiles)."""
        if height >= len(self._levels) or (start + count) << height > self._size or start < 0:
            raise ValueError(f"no {count} complete subtrees of height {height} from {start}")
        return bytes(self._levels[height][start * HASH_SIZE : (start + count) * HASH_SIZE])

    def truncate(self, size: int) -> None:
        """Forget every leaf from ``size`` on (to undo appends whose storage failed)."""
        self._check_size(size)
        for height, level in enumerate(self._levels):
            del level[(size >> height) * HASH_SIZE :]
        self._size = size

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        self._check_index(index, self._size)
        return self._perfect(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[0:size]): the root hash of the tree as it was at ``size`` leaves (default: now)."""
        size = self._size if size is None else size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf end first."""
        size = self._size if size is None else size
        self._check_size(size)
        self._check_index(index, size)
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1; empty when the sizes are equal."""
        new_size = self._size if new_size is None else new_size
        self._check_size(new_size)
        if not 0 < old_size <= new_size:
            raise ValueError(
                f"consistency needs 0 < old size <= new size, got {old_size}, {new_size}"
            )
        return self._subproof(old_size, 0, new_size, True)

    def _perfect(self, height: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def _range(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the RFC recursion can visit (start aligned to its split).

        Such a range is a run of perfect subtrees of decreasing size; the RFC's hash of it is
        those subtrees folded together from the right.
        """
        peaks: list[bytes] = []
        while start < end:
            n = end - start
            width = n if n & (n - 1) == 0 else _split(n)
            height = width.bit_length() - 1
            peaks.append(self._perfect(height, start >> height))
            start += width
        result = peaks.pop()
        while peaks:
            result = node_hash(peaks.pop(), result)
        return result

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._range(start + k, end)]
        return [*self._path(m - k, start + k, end), self._range(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._range(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self._range(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._range(start, start + k)]

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is outside 0..{self._size}")

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise IndexError(f"leaf index {index} is outside a tree of {size} leaves")


def root_from_inclusion_proof(
    index: int, size: int, leaf: bytes, path: Sequence[bytes]
) -> bytes | None:
    """Recompute the root from an inclusion proof (RFC 9162 §2.1.3.2), or None if malformed."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """True when ``path`` proves leaf hash ``leaf`` sits at ``index`` in the tree with ``root``."""
    return root_from_inclusion_proof(index, size, leaf, path) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """True when ``path`` proves the tree ``old_root`` is a prefix of ``new_root`` (§2.1.4.2).

    The RFC defines proofs only for 0 < old < new; we also accept the two trivial cases a log
    client meets in practice: equal sizes (same root, empty proof) and an empty old tree.
    """
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path and old_root == EMPTY_ROOT
    if not path or any(len(c) != HASH_SIZE for c in path):
        return False
    proof = list(path)
    if old_size & (old_size - 1) == 0:
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
