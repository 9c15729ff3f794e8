"""Whole-pipeline load throughput beside ``fhir.resources`` parsing the same files.

Ours is everything from file to store: read, parse, base-R4 validation, the
environment's rules, flattening, whole-load checks in SQL, merge into the
identifiable layer and the analysis-layer rebuild, committed. The peer is
``fhir.resources`` (pydantic models) reading the same NDJSON lines and
validating each into its model: parsing only, nothing stored. Both run in this
process on the same files, one after the other, so the ratio holds however busy
the machine is. Run: ``python bench/bench_load.py --patients 20000``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth import generate


def ours(source: Path, root: Path, workers: int) -> tuple[float, int]:
    """Seconds to load ``source`` into a fresh store, and resources loaded."""
    if not (root / "key").exists():
        create_key(root / "key")
    with Store.open(DataDir(root / f"data-{workers}", root / "key")) as store:
        start = time.perf_counter()
        report = load(store, [source], workers=workers)
        seconds = time.perf_counter() - start
    fhir_kinds = [k for k in report.counts if k[0].isupper()]
    return seconds, sum(report.counts[k]["loaded"] for k in fhir_kinds)


def peer(source: Path) -> tuple[float, int]:
    """Seconds for fhir.resources to parse and validate every NDJSON line, and lines parsed."""
    import orjson
    from fhir.resources.R4B import get_fhir_model_class

    start = time.perf_counter()
    n = 0
    for path in sorted(source.glob("*.ndjson")):
        with path.open("rb") as handle:
            for line in handle:
                resource = orjson.loads(line)
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                n += 1
    return time.perf_counter() - start, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        summary = generate(root / "source", patients=args.patients, seed=args.seed)
        print(f"{summary.records:,} records for {args.patients:,} synthetic patients")
        rows = [("fivesafes load, 1 process", *ours(root / "source", root, 1))]
        if cores > 1:
            rows.append((f"fivesafes load, {cores} processes", *ours(root / "source", root, cores)))
        peer_seconds, peer_n = peer(root / "source")
        rows.append(("fhir.resources parse only", peer_seconds, peer_n))
    peer_rate = peer_n / peer_seconds
    print(f"{'pipeline':<34}{'resources':>11}{'seconds':>9}{'per second':>12}{'vs peer':>9}")
    for name, seconds, n in rows:
        rate = n / seconds
        print(f"{name:<34}{n:>11,}{seconds:>9.1f}{rate:>12,.0f}{rate / peer_rate:>8.2f}x")


if __name__ == "__main__":
    main()
