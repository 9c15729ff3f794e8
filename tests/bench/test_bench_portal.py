"""The portal's bench runs, at a tiny size: its world is written, both pages answer, and it
prints each page's figure beside its floor with their ratio (what it measures is not asserted:
speed belongs to the bench, not the suite)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_portal.py"


def test_the_portal_bench_runs_small() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--projects", "5", "--entries", "120", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("5 projects, 120 ledger entries"), done.stdout
    for path in ("/projects", "/ledger"):
        line = next(x for x in done.stdout.splitlines() if x.startswith(f"GET {path}:"))
        assert re.search(r"floor, SQL and an f-string table: [\d.]+ ms; ratio [\d.]+", line), line
        assert re.search(r"peak memory [\d.]+ MiB \(floor [\d.]+ MiB\)", line), line
