"""Benchmark the ledger: bulk appends, reopening, full verification, and proofs.

Every figure is printed beside a floor that no implementation of the same format can beat in
Python: plain ``hashlib`` SHA-256 over the same entry bytes (for appends and replays), and the
raw cost of the node hashes a proof needs (for proofs). The ratio says how much our storage,
encoding and bookkeeping add on top of the hashing the RFC requires.

    .venv/bin/python bench/bench_ledger.py                  # 1,000,000 entries
    .venv/bin/python bench/bench_ledger.py --entries 20000  # a quick run
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fivesafes.ledger import Ledger
from fivesafes.ledger.merkle import node_hash, verify_consistency, verify_inclusion

KINDS = ("load", "login", "job", "review", "identifiable_read")


def records(count: int) -> Iterator[tuple[str, str, dict[str, object]]]:
    """Realistic small entries: identifiers and hashes, as the ledger holds in production."""
    for i in range(count):
        digest = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        yield (
            KINDS[i % 5],
            f"user-{i % 97}",
            {"id": f"E-{i}", "project_id": "P-42", "sha256": digest},
        )


def timed(label: str, seconds: float, per: int, floor: float | None = None) -> None:
    """One result line: total, rate, and the ratio to the floor if there is one."""
    rate = f"{per / seconds:>12,.0f}/s" if seconds else ""
    ratio = f"{seconds / floor:>8.1f}x floor ({floor:.3f} s)" if floor else ""
    print(f"{label:<44}{seconds:>9.3f} s {rate}  {ratio}")


def per_call(label: str, seconds: float, calls: int, floor: float) -> None:
    micros, floor_micros = seconds / calls * 1e6, floor / calls * 1e6
    ratio = micros / floor_micros
    print(f"{label:<44}{micros:>9.1f} µs each   {ratio:>8.1f}x floor ({floor_micros:.1f} µs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries to append")
    parser.add_argument("--proofs", type=int, default=10_000, help="proofs of each kind to time")
    parser.add_argument("--batch-size", type=int, default=10_000, help="entries per transaction")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--dir", type=Path, help="where to keep the ledger (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, args.dir or Path(tmp))


def run(args: argparse.Namespace, directory: Path) -> None:
    n = args.entries
    db, keys = directory / "bench-ledger.db", directory / "keys"
    db.unlink(missing_ok=True)
    print(f"ledger benchmark: {n:,} entries, batches of {args.batch_size:,}, checkpoint every "
          f"{args.checkpoint_every:,}, in {directory}")  # fmt: skip

    ledger = Ledger.open(db, keys, checkpoint_every=args.checkpoint_every)
    start = time.perf_counter()
    ledger.append_many(records(n), batch_size=args.batch_size)
    ledger.checkpoint()
    append_s = time.perf_counter() - start
    entries = list(ledger.entries())
    start = time.perf_counter()
    for entry in entries:
        hashlib.sha256(b"\x00" + entry).digest()
    hash_floor = time.perf_counter() - start
    size = ledger.size
    mean_bytes = sum(map(len, entries)) / size
    del entries
    checkpoints = len(ledger.checkpoints())
    ledger.close()
    print(f"{size:,} entries of {mean_bytes:.0f} bytes on average, "
          f"{checkpoints:,} checkpoints, {db.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
    print()
    timed("append (encode, hash, tree, SQLite, sign)", append_s, n, hash_floor)

    start = time.perf_counter()
    ledger = Ledger.open(db, keys)
    timed("reopen (rebuild tree from stored hashes)", time.perf_counter() - start, size)

    start = time.perf_counter()
    report = ledger.verify()
    verify_s = time.perf_counter() - start
    assert report.ok, report.render()
    timed("verify (replay, re-hash, every checkpoint)", verify_s, size, hash_floor)
    print()

    rng = random.Random(9162)
    depth = math.ceil(math.log2(size))
    left, right = hashlib.sha256(b"l").digest(), hashlib.sha256(b"r").digest()
    start = time.perf_counter()
    for _ in range(args.proofs):
        for _ in range(depth):
            node_hash(left, right)
    proof_floor = time.perf_counter() - start

    indices = [rng.randrange(size) for _ in range(args.proofs)]
    start = time.perf_counter()
    proofs = [ledger.inclusion(i, size) for i in indices]
    per_call("inclusion proof: make", time.perf_counter() - start, args.proofs, proof_floor)
    root = ledger.consistency(size).new_root
    start = time.perf_counter()
    ok = all(verify_inclusion(p.index, size, p.leaf_hash, p.path, root) for p in proofs)
    per_call("inclusion proof: verify", time.perf_counter() - start, args.proofs, proof_floor)
    assert ok

    pairs = [sorted(rng.sample(range(1, size + 1), 2)) for _ in range(args.proofs)]
    start = time.perf_counter()
    consistency = [ledger.consistency(a, b) for a, b in pairs]
    per_call("consistency proof: make", time.perf_counter() - start, args.proofs, proof_floor)
    start = time.perf_counter()
    ok = all(
        verify_consistency(c.old_size, c.new_size, c.old_root, c.new_root, c.path)
        for c in consistency
    )
    per_call("consistency proof: verify", time.perf_counter() - start, args.proofs, proof_floor)
    assert ok
    ledger.close()
    print()
    print(f"floors: hashlib SHA-256(0x00 ‖ entry) over the same {size:,} entries; "
          f"{depth} node hashes (ceil(log2 n)) per proof")  # fmt: skip


if __name__ == "__main__":
    main()
