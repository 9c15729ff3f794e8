"""The decision makers' benches run, at a tiny size: the waiting list simulation prints patients
simulated a second beside its floor, and the area profile checks its figures against the
hand-written DuckDB query at every level before it prints each side's time. What they measure
is not asserted: speed belongs to the bench, not the suite (issue 16 runs them at a million)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_waiting_list_bench_runs_small() -> None:
    out = _run("bench_waiting_list.py", "--weeks", "4", "--runs", "2", "--start", "100",
               "--repeats", "1")  # fmt: skip
    assert "waiting list of 100 plus 500 referrals a week, 4 weeks x 2 runs" in out, out
    for name in ("ours", "floor"):
        line = next(x for x in out.splitlines() if x.strip().startswith(name))
        assert re.search(r"[\d,]+ patients/s +x +[\d.]+ of ours +peak +[\d.]+ MiB", line), line


def test_the_area_profile_bench_agrees_with_its_floor_at_every_level() -> None:
    """The bench asserts, before timing, that every published DSR and comparison equals the
    hand-written query's; a level it could not match would stop it with an error."""
    out = _run("bench_area_profile.py", "--patients", "20000", "--repeats", "1")
    headings = re.findall(r"area profile of 20,000 patients by (\w+): (\d+) areas", out)
    assert [level for level, _ in headings] == ["region", "icb", "sub_icb", "local_authority"]
    assert all(int(areas) > 1 for _, areas in headings), headings
    assert out.count("figures agree") == 4, out
    for name in ("ours", "floor"):
        lines = [x for x in out.splitlines() if x.strip().startswith(name)]
        assert len(lines) == 4 and all(re.search(r"x +[\d.]+ of the floor", x) for x in lines)
