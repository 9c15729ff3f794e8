"""The cut copy an extraction reads: the analysis layer it may see, nothing else, its own alone."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from fivesafes.jobs.snapshot import DataCut, analysis_snapshot, remove_snapshot
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

EVERYONE = DataCut(
    {"patients": ("sex", "date_of_birth"), "wearable_observations": ("date", "kind", "value")},
    frozenset(),
    frozenset({0, 1, 2}),
)


def fill(data_dir: DataDir, patients: int) -> None:
    """A store with identifiable rows, quarantined rows, analysis rows and shared rows."""
    with Store.open(data_dir) as store:
        con = store.con
        for i in range(patients):
            con.execute(
                "INSERT INTO analysis.patients VALUES (?, 'female', DATE '1980-01-01', NULL, NULL)",
                [i],
            )
            con.execute(
                "INSERT INTO analysis.wearable_observations "
                "VALUES (?, DATE '2024-01-01', 'steps', 9)",
                [i],
            )
        con.execute("INSERT INTO identifiable.Patient (id, resource) VALUES ('p', '9990000018')")
        con.execute("INSERT INTO meta.quarantine (rule, message) VALUES ('r', 'NHS 9990000018')")


def _count(path: Path, sql: str) -> object:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(sql).fetchone()
        return row[0] if row else None


def test_only_the_analysis_layer_is_copied(data_dir: DataDir, tmp_path: Path) -> None:
    fill(data_dir, 3)
    snapshot = analysis_snapshot(data_dir.database, EVERYONE, tmp_path / "job-1" / "copy.duckdb")
    with duckdb.connect(str(snapshot), read_only=True) as con:
        schemas = {
            r[0] for r in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()
        }
        assert schemas == {"analysis", "meta"}
        assert con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM meta.quarantine").fetchone() == (0,)
        # the layout its store is at, so a reader opens it as it would the store; no key's print
        assert con.execute("SELECT name FROM meta.environment").fetchall() == [("store_layout",)]
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM identifiable.Patient")
    assert b"9990000018" not in snapshot.read_bytes()
    assert b"9990000018" in data_dir.database.read_bytes()
    shown = DataDir(tmp_path / "shown", Path("/nonexistent/key"))
    shown.root.mkdir()
    shown.database.symlink_to(snapshot)
    with Store.open(shown, read_only=True) as store:  # opened as a sandbox would open it
        assert store.con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (3,)


def test_the_cut_keeps_only_granted_columns_unexcluded_people_and_consented_shared_rows(
    data_dir: DataDir, tmp_path: Path
) -> None:
    fill(data_dir, 4)
    cut = DataCut(
        {"patients": ("sex",), "wearable_observations": ("kind", "value")},
        excluded=frozenset({1}),
        shared_consented=frozenset({1, 2}),
    )
    copy = analysis_snapshot(data_dir.database, cut, tmp_path / "copy.duckdb")
    assert _count(copy, "SELECT list(patient_id ORDER BY 1) FROM analysis.patients") == [0, 2, 3]
    assert _count(copy, "SELECT count(date_of_birth) FROM analysis.patients") == 0
    shared = "SELECT list(patient_id ORDER BY 1) FROM analysis.wearable_observations"
    assert _count(copy, shared) == [2]  # 1 opted out, 0 and 3 never consented
    tables = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'analysis'"
    assert _count(copy, tables) == 2  # no table that was not granted


def test_copies_of_two_projects_never_remove_each_other(data_dir: DataDir, tmp_path: Path) -> None:
    """Issue 18, hole 6: a second project's copy unlinked the first's before its sandbox could
    mount it. Each copy is its extraction's own, in its own folder, removed by it alone."""
    fill(data_dir, 2)
    first = analysis_snapshot(data_dir.database, EVERYONE, tmp_path / "job-a" / "copy.duckdb")
    fill(data_dir, 1)  # the store changes between the two
    second = analysis_snapshot(data_dir.database, EVERYONE, tmp_path / "job-b" / "copy.duckdb")
    assert first.exists() and second.exists()
    assert _count(first, "SELECT count(*) FROM analysis.patients") == 2
    assert _count(second, "SELECT count(*) FROM analysis.patients") == 3
    remove_snapshot(first)
    assert not first.exists() and second.exists()
