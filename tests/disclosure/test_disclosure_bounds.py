"""17(e): the checks run in memory bounded by the file, or refuse with a message, never crash.

A 420,000-row CSV under the 5 MiB release cap, each row its own pair of categories, once made
``check-output`` allocate a 420,000 × 420,000 grid (numpy's ArrayMemoryError, 1.28 TiB)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import fivesafes.cli.disclosure  # noqa: F401  (registers check-output)
from big_tables import code, sparse_pairs
from fivesafes.cli.common import app
from fivesafes.disclosure import TableError, check_file, check_table, profile
from fivesafes.disclosure import tables as table_limits
from fivesafes.release.files import DEFAULT_RULES


def test_a_sparse_420000_row_file_is_refused_with_a_message(tmp_path: Path):
    big = sparse_pairs(tmp_path / "pairs.csv")
    assert big.stat().st_size < DEFAULT_RULES.caps[".csv"]  # small enough to request
    tracemalloc.start()
    with pytest.raises(TableError, match=r"420,000 × 420,000 categories make .* cells"):
        check_file(big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB traced for a 5 MiB file"
    result = CliRunner().invoke(app, ["check-output", str(big)])
    assert result.exit_code == 2 and "categories make" in result.output
    assert "Traceback" not in result.output


def test_too_many_hidden_cells_to_audit_are_refused(monkeypatch: pytest.MonkeyPatch):
    """The audit that no hidden cell can be worked out solves the totals as equations over
    the hidden cells; past a size it refuses rather than exhaust memory (the limit is lowered
    here so a small table reaches it)."""
    monkeypatch.setattr(table_limits, "MAX_EQUATIONS", 2_000)
    rng = np.random.default_rng(5)
    cells = [(f"r{i}", f"c{j}", int(rng.integers(0, 25))) for i in range(40) for j in range(40)]
    data = pa.table({k: [c[n] for c in cells] for n, k in enumerate(("row", "col", "n"))})
    with pytest.raises(TableError, match=r"^sparse: .* hidden cells across .* totals"):
        check_table(data, profile("ons"), "sparse")


def test_a_large_table_within_the_limits_is_checked(tmp_path: Path):
    """A one-way table of 100,000 areas, a third of them small: checked, not refused."""
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 30, 100_000)
    path = tmp_path / "areas.csv"
    path.write_text("area,n\n" + "\n".join(f"{code(i)},{n}" for i, n in enumerate(counts)) + "\n")
    tracemalloc.start()
    report = check_file(path, "ons")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.releasable and report.safe is not None
    assert int(report.safe.hidden.sum()) >= int(((counts > 0) & (counts < 10)).sum())
    assert peak < 400 * 2**20, f"{peak / 2**20:.0f} MiB traced"
