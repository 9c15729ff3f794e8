"""The Merkle tree against RFC 9162's definitions and against published RFC 6962 test vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_reference import mth, path, proof

from fivesafes.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# Published RFC 6962 test vectors, taken as facts from transparency-dev/merkle:
# leaf inputs and roots from testonly/constants.go (LeafInputs, RootHashes),
# proofs from proof/verify_test.go (inclusionProofs, consistencyProofs; the Go file numbers
# leaves from 1, here they are converted to RFC 0-based indices).
VECTOR_LEAVES = tuple(
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
)
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_INCLUSION = [  # (index, tree size, proof)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
VECTOR_CONSISTENCY = [  # (old size, new size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

MAX_SIZE = 70
# The eight published leaves, then more of varied lengths: every size up to MAX_SIZE is checked.
LEAVES = VECTOR_LEAVES + tuple(bytes([i]) * (i % 9) + i.to_bytes(2, "big") for i in range(8, 70))


def tree_of(leaves: tuple[bytes, ...]) -> MerkleTree:
    return MerkleTree(leaf_hash(d) for d in leaves)


FULL = tree_of(LEAVES)


def test_hashes_are_the_rfc_domain_separated_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_roots_match_published_vectors() -> None:
    tree = tree_of(VECTOR_LEAVES)
    assert [tree.root(n).hex() for n in range(9)] == VECTOR_ROOTS


@pytest.mark.parametrize(("index", "size", "expected"), VECTOR_INCLUSION)
def test_inclusion_proofs_match_published_vectors(
    index: int, size: int, expected: list[str]
) -> None:
    tree = tree_of(VECTOR_LEAVES)
    assert [p.hex() for p in tree.inclusion_proof(index, size)] == expected
    root = bytes.fromhex(VECTOR_ROOTS[size])
    assert verify_inclusion(
        index, size, leaf_hash(VECTOR_LEAVES[index]), tree.inclusion_proof(index, size), root
    )


@pytest.mark.parametrize(("old", "new", "expected"), VECTOR_CONSISTENCY)
def test_consistency_proofs_match_published_vectors(
    old: int, new: int, expected: list[str]
) -> None:
    tree = tree_of(VECTOR_LEAVES)
    assert [p.hex() for p in tree.consistency_proof(old, new)] == expected
    roots = [bytes.fromhex(VECTOR_ROOTS[old]), bytes.fromhex(VECTOR_ROOTS[new])]
    assert verify_consistency(old, new, *roots, [bytes.fromhex(h) for h in expected])


def test_roots_match_reference_for_every_size() -> None:
    for n in range(MAX_SIZE + 1):
        assert FULL.root(n) == mth(LEAVES[:n]), n
        assert tree_of(LEAVES[:n]).root() == mth(LEAVES[:n]), n


def test_inclusion_proofs_match_reference_and_verify_for_every_index_and_size() -> None:
    for n in range(1, MAX_SIZE + 1):
        root = mth(LEAVES[:n])
        for m in range(n):
            got = FULL.inclusion_proof(m, n)
            assert got == path(m, LEAVES[:n]), (m, n)
            assert verify_inclusion(m, n, leaf_hash(LEAVES[m]), got, root), (m, n)


def test_consistency_proofs_match_reference_and_verify_for_every_pair() -> None:
    for n in range(1, MAX_SIZE + 1):
        new_root = mth(LEAVES[:n])
        for m in range(1, n + 1):
            got = FULL.consistency_proof(m, n)
            assert got == proof(m, LEAVES[:n]), (m, n)
            assert verify_consistency(m, n, mth(LEAVES[:m]), new_root, got), (m, n)


def _flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


# A proof is always checked against the root for the size it claims: a signed checkpoint binds
# size and root together (the RFC's verification algorithms alone do not pin the size). So a
# wrong index or size below is paired with the genuine root of that size.
BIG = tree_of(LEAVES + tuple(b"more" + i.to_bytes(2, "big") for i in range(MAX_SIZE + 2)))


def _wrong_inclusions(m: int, n: int, p: list[bytes]):
    """Ways the proof of leaf m in tree n can be wrong, as verify_inclusion arguments."""
    leaf, root = BIG.leaf(m), BIG.root(n)
    for wm, wn in [(m + 1, n), (m - 1, n), (m ^ 2, n), (m, n + 1), (m, n * 2), (m, n // 2)]:
        if 0 <= wm < wn and p == BIG.inclusion_proof(wm, wn) and leaf == BIG.leaf(wm):
            continue  # by chance the genuine proof of that claim, so not a wrong one
        yield wm, wn, leaf, p, BIG.root(wn)
    yield m, n, _flip(leaf), p, root
    yield m, n, BIG.leaf((m + 1) % BIG.size), p, root
    yield m, n, leaf, p, _flip(root)
    yield m, n, leaf, [*p, root], root
    yield m, n, leaf, [root, *p], root
    if p:
        yield m, n, leaf, p[:-1], root
        yield m, n, leaf, p[1:], root
    for i in range(len(p)):
        yield m, n, leaf, [*p[:i], _flip(p[i], 3), *p[i + 1 :]], root
    for i in range(1, len(p)):
        yield m, n, leaf, [*p[: i - 1], p[i], p[i - 1], *p[i + 1 :]], root


def test_every_wrong_inclusion_proof_fails() -> None:
    for n in range(1, MAX_SIZE + 1):
        for m in range(n):
            for args in _wrong_inclusions(m, n, BIG.inclusion_proof(m, n)):
                assert not verify_inclusion(*args), (m, n, args[:2])


def _wrong_consistencies(m: int, n: int, p: list[bytes]):
    old, new = BIG.root(m), BIG.root(n)
    for wm, wn in [(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n - 1), (m, n + 1)]:
        if 0 < wm <= wn and p == BIG.consistency_proof(wm, wn):
            continue  # by chance the genuine proof of that claim
        yield wm, wn, BIG.root(max(wm, 0)), BIG.root(wn), p
    yield m, n, _flip(old), new, p
    yield m, n, old, _flip(new), p
    yield m, n, new, old, p
    yield m, n, old, new, []
    yield m, n, old, new, p[:-1]
    yield m, n, old, new, [*p, new]
    yield m, n, old, new, [old, *p]
    yield m, n, old, new, [p[0], *p]
    for i in range(len(p)):
        yield m, n, old, new, [*p[:i], _flip(p[i], 4), *p[i + 1 :]]


def test_every_wrong_consistency_proof_fails() -> None:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            for args in _wrong_consistencies(m, n, BIG.consistency_proof(m, n)):
                assert not verify_consistency(*args), (m, n, args[:2])


def test_trivial_consistency_cases() -> None:
    root = FULL.root(5)
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, FULL.root(6), [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, root, root, [])
    assert not verify_consistency(6, 5, root, root, [])
    assert FULL.consistency_proof(7, 7) == []
    with pytest.raises(ValueError):
        FULL.consistency_proof(0, 5)


def test_out_of_range_requests_are_refused() -> None:
    with pytest.raises(IndexError):
        FULL.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        FULL.root(MAX_SIZE + 1)
    assert not verify_inclusion(0, 0, FULL.leaf(0), [], EMPTY_ROOT)


@settings(deadline=None)
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=300), st.data())
def test_incremental_tree_agrees_with_reference(leaves: list[bytes], data: st.DataObject) -> None:
    as_tuple = tuple(leaves)
    tree = tree_of(as_tuple)
    n = data.draw(st.integers(1, len(leaves)), label="size")
    m = data.draw(st.integers(0, n - 1), label="index")
    old = data.draw(st.integers(1, n), label="old size")
    assert tree.root(n) == mth(as_tuple[:n])
    assert tree.inclusion_proof(m, n) == path(m, as_tuple[:n])
    assert tree.consistency_proof(old, n) == proof(old, as_tuple[:n])


@settings(deadline=None)
@given(st.integers(1, 200), st.data())
def test_truncate_forgets_exactly_the_later_leaves(size: int, data: st.DataObject) -> None:
    tree = tree_of(tuple(i.to_bytes(2, "big") for i in range(size)))
    keep = data.draw(st.integers(0, size))
    tree.truncate(keep)
    again = tree_of(tuple(i.to_bytes(2, "big") for i in range(keep)))
    assert tree.size == keep
    assert tree.root() == again.root()
    tree.append(leaf_hash(b"next"))
    again.append(leaf_hash(b"next"))
    assert tree.root() == again.root()
