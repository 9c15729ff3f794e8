"""Benchmark the synthetic population generator.

Prints the wall time to generate and write a population, records per second, output
size, and beside it a floor no Python generator of the same output can beat by much:
re-serialising the very same resources with orjson and writing the bytes. The ratio
says how much sampling and building records add on top of writing them.

    .venv/bin/python bench/bench_synth.py                    # 100,000 patients
    .venv/bin/python bench/bench_synth.py --patients 20000   # a quick run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson

from fivesafes.synth import generate


def floor_seconds(out: Path) -> float:
    """Time to serialise every written resource again with orjson and write it out
    (one file at a time, so memory stays bounded)."""
    total = 0.0
    with (out / "floor.bin").open("wb") as handle:
        for path in sorted(out.glob("*.ndjson")):
            resources = [orjson.loads(line) for line in path.read_bytes().splitlines()]
            started = time.perf_counter()
            handle.write(
                b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in resources)
            )
            total += time.perf_counter() - started
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        summary = generate(out, args.patients, args.seed, args.faults)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in out.iterdir())
        floor = floor_seconds(out)
    print(f"patients {args.patients:,}  records {summary.records:,}  faults {summary.faults:,}")
    print(f"generate  {seconds:8.2f} s  {summary.records / seconds:12,.0f} records/s  "
          f"{size / 2**20:8.1f} MiB")  # fmt: skip
    print(f"floor     {floor:8.2f} s  (orjson re-serialise + write)  {seconds / floor:5.1f}x floor")
    for written in summary.files:
        print(f"  {written.name:<28}{written.records:>12,}")


if __name__ == "__main__":
    main()
