"""The store as a generate-dataset sandbox sees it: the analysis layer and nothing else."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fivesafes.jobs.snapshot import analysis_snapshot
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store


def fill(data_dir: DataDir, patients: int) -> None:
    """A store with identifiable rows, quarantined rows and analysis rows."""
    with Store.open(data_dir) as store:
        con = store.con
        for i in range(patients):
            con.execute(
                "INSERT INTO analysis.patients VALUES (?, 'female', DATE '1980-01-01', NULL, NULL)",
                [i],
            )
        con.execute("INSERT INTO identifiable.Patient (id, resource) VALUES ('p', '9990000018')")
        con.execute("INSERT INTO meta.quarantine (rule, message) VALUES ('r', 'NHS 9990000018')")


def test_only_the_analysis_layer_is_copied(data_dir: DataDir, tmp_path: Path) -> None:
    fill(data_dir, 3)
    snapshot = analysis_snapshot(data_dir)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        schemas = {
            r[0] for r in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()
        }
        assert schemas == {"analysis", "meta"}
        assert con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM meta.quarantine").fetchone() == (0,)
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM identifiable.Patient")
    assert b"9990000018" not in snapshot.read_bytes()
    assert b"9990000018" in data_dir.database.read_bytes()
    shown = DataDir(tmp_path / "shown", Path("/nonexistent/key"))
    shown.root.mkdir()
    shown.database.symlink_to(snapshot)
    with Store.open(shown, read_only=True) as store:  # opened as a sandbox would open it
        assert store.con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (3,)


def test_one_copy_until_the_store_changes(data_dir: DataDir) -> None:
    fill(data_dir, 1)
    first = analysis_snapshot(data_dir)
    assert analysis_snapshot(data_dir) == first
    fill(data_dir, 2)
    second = analysis_snapshot(data_dir)
    assert second != first and not first.exists()
    with duckdb.connect(str(second), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (3,)
