"""An export can be checked by following VERIFY.md alone, with no fivesafes code.

The checking half of this test uses only hashlib, base64, json, ``cryptography``'s Ed25519 and
the RFC reference in ``ledger_reference``; it follows the steps of the exported VERIFY.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from itertools import pairwise
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ledger_reference import mth, path, proof
from ledger_support import job, load, login, open_ledger

from fivesafes.ledger.export import proof_path


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """Step 1: name, key ID and public key; the key ID must be the C2SP hash."""
    name, hex_id, encoded = vkey.split("+", 2)  # base64 may itself hold "+"
    raw = base64.b64decode(encoded)
    assert raw[0] == 1 and len(raw) == 33
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert key_id.hex() == hex_id
    return name, key_id, raw[1:]


def open_signed(note: str, key: tuple[str, bytes, bytes]) -> list[str]:
    """Step 2: check the signature line for ``key`` and return the body lines."""
    name, key_id, public = key
    text, signatures = note.split("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        signer, encoded = line.removeprefix("— ").split(" ")
        raw = base64.b64decode(encoded)
        if signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], text.encode())
            return text.splitlines()
    raise AssertionError("no signature by the expected key")


def stack_roots(leaves: list[bytes]) -> list[bytes]:
    """Step 3's one-pass method: the root after each number of leaves."""
    stack: list[tuple[bytes, int]] = []
    roots = [hashlib.sha256(b"").digest()]
    for leaf in leaves:
        stack.append((leaf, 1))
        while len(stack) > 1 and stack[-1][1] == stack[-2][1]:
            (upper, count), (lower, _) = stack.pop(), stack.pop()
            stack.append((hashlib.sha256(b"\x01" + lower + upper).digest(), count * 2))
        running = stack[-1][0]
        for below, _ in reversed(stack[:-1]):
            running = hashlib.sha256(b"\x01" + below + running).digest()
        roots.append(running)
    return roots


def inclusion_root(index: int, size: int, leaf: bytes, hashes: list[bytes]) -> bytes | None:
    """Step 4, as VERIFY.md words it."""
    fn, sn, r = index, size - 1, leaf
    for p in hashes:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn // 2, sn // 2
    return r if sn == 0 else None


def test_an_export_checks_out_by_the_written_algorithm(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "log", checkpoint_every=6)
    ledger.append_many(("login", "bob", login(f"s{i}")) for i in range(10))
    first_key = ledger.verifier.vkey  # what the operator publishes elsewhere
    ledger.rotate_key()
    ledger.append("job", job("J-1", "P-1"))
    ledger.append_many(("load", "ops", load(f"b{i}")) for i in range(9))
    out = tmp_path / "export"
    summary = ledger.export(out)
    assert "VERIFY.md" in summary.render()

    keys = (out / "keys.txt").read_text().splitlines()
    assert keys[0] == first_key
    parsed_keys = [parse_vkey(k) for k in keys]

    lines = (out / "entries.ndjson").read_bytes().split(b"\n")
    assert lines.pop() == b""
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == list(range(len(lines)))
    leaves = [hashlib.sha256(b"\x00" + line).digest() for line in lines]
    roots = stack_roots(leaves)
    assert roots == [mth(tuple(lines[:n])) for n in range(len(lines) + 1)]

    # Step 6: the key in force for entry i changes after each key_rotation entry.
    rotations = [r["index"] for r in records if r["kind"] == "key_rotation"]
    assert [records[r]["subject"]["new_key"] for r in rotations] == keys[1:]

    def key_for(size: int) -> tuple[str, bytes, bytes]:
        return parsed_keys[sum(1 for r in rotations if r < size - 1)]

    checkpoint_files = sorted((out / "checkpoints").iterdir(), key=lambda p: int(p.name))
    sizes = []
    for file in checkpoint_files:
        origin, size, root = open_signed(file.read_text(), key_for(int(file.name)))
        assert origin == ledger.origin and int(size) == int(file.name)
        assert base64.b64decode(root) == roots[int(size)]
        sizes.append(int(size))
    latest = int(open_signed((out / "checkpoint").read_text(), key_for(len(lines)))[1])
    assert latest == len(lines) == sizes[-1]

    for index in range(latest):
        data = json.loads(proof_path(out, index).read_text())
        hashes = [bytes.fromhex(h) for h in data["path"]]
        assert hashes == path(index, tuple(lines))
        assert bytes.fromhex(data["leaf_hash"]) == leaves[index]
        assert inclusion_root(index, data["tree_size"], leaves[index], hashes) == roots[latest]

    for old, new in pairwise(sizes):
        data = json.loads((out / "consistency" / f"{old}-{new}.json").read_text())
        assert [bytes.fromhex(h) for h in data["path"]] == proof(old, tuple(lines[:new]))


def test_an_edited_export_no_longer_matches_its_checkpoint(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "log")
    ledger.append_many(("login", "bob", login(f"s{i}")) for i in range(5))
    out = tmp_path / "export"
    ledger.export(out)
    text = (out / "entries.ndjson").read_bytes().replace(b'"s3"', b'"s9"')
    lines = text.split(b"\n")[:-1]
    leaves = [hashlib.sha256(b"\x00" + line).digest() for line in lines]
    key = parse_vkey((out / "keys.txt").read_text().strip())
    root = base64.b64decode(open_signed((out / "checkpoint").read_text(), key)[2])
    assert stack_roots(leaves)[-1] != root
