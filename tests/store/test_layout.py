"""The analysis layer exported as Parquet by patient range: the same rows, read by either
engine with the same answers, refused when damaged, replaced whole."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from fivesafes import Dataset
from fivesafes.model import TABLES
from fivesafes.query.engines import DuckDBEngine
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.layout import MANIFEST, LayoutError, export_layout, read_layout
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth import generate
from fivesafes.tables import clinical_events, patients, practice_registrations

TODAY = date(2026, 1, 1)
INDEX = date(2024, 3, 31)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    root = tmp_path_factory.mktemp("layout")
    generate(root / "synth", 300, seed=11)
    data = DataDir(root / "data", root / "key")
    create_key(data.key_file)  # as `fivesafes environment init` makes it
    with Store.open(data) as store:
        load(store, [root / "synth"], today=TODAY)
    return data


def _rows(con: Any, sql: str) -> list[tuple[Any, ...]]:
    return sorted(con.execute(sql).fetchall(), key=lambda r: tuple(map(str, r)))


def _definition() -> Dataset:
    dataset = Dataset()
    registration = practice_registrations.for_patient_on(INDEX)
    dataset.define_population(registration.exists_for_patient() & patients.is_alive_on(INDEX))
    dataset.sex = patients.sex
    dataset.age = patients.age_on(INDEX)
    dataset.events = clinical_events.where(
        clinical_events.date.is_on_or_before(INDEX)
    ).count_for_patient()
    dataset.imd = registration.imd_decile
    return dataset


def test_every_table_is_exported_whole_by_patient_range(store_dir: DataDir, tmp_path: Path) -> None:
    with Store.open(store_dir) as store:
        layout = export_layout(store.con, tmp_path / "export", part_patients=70)
        con = store.con
        assert len(layout.ranges) == 5  # 300 patients, about 70 a part
        for name, table in TABLES.items():
            files = layout.files(name)
            stored = _rows(con, f'SELECT * FROM analysis."{name}"')
            exported = []
            for index, path in enumerate(files):
                part = con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
                exported += part
                if "patient_id" in table.column_names:
                    low, high = layout.ranges[index]
                    ids = [row[table.column_names.index("patient_id")] for row in part]
                    assert ids == sorted(ids) and all(low <= i <= high for i in ids)
            assert sorted(exported, key=lambda r: tuple(map(str, r))) == stored, name
    manifest = orjson.loads((tmp_path / "export" / MANIFEST).read_bytes())
    assert manifest["patients"] == 300 and manifest["load_id"]
    assert read_layout(tmp_path / "export").manifest == manifest


def test_duckdb_over_the_export_answers_as_over_the_store(
    store_dir: DataDir, tmp_path: Path
) -> None:
    with Store.open(store_dir) as store:
        layout = export_layout(store.con, tmp_path / "export", part_patients=70)
        from_store = DuckDBEngine(store.con, part_patients=70).dataset(_definition().query())
    from_files = DuckDBEngine.over_layout(read_layout(layout.folder), 70).dataset(
        _definition().query()
    )
    assert from_files.num_rows > 100
    assert from_files.equals(from_store)


def test_a_damaged_export_is_refused_with_the_file_named(
    store_dir: DataDir, tmp_path: Path
) -> None:
    with Store.open(store_dir) as store:
        layout = export_layout(store.con, tmp_path / "export", part_patients=100)
    victim = layout.files("clinical_events")[1]
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(LayoutError, match=f"{re.escape(str(victim))} does not match its checksum"):
        read_layout(layout.folder)
    victim.unlink()
    with pytest.raises(LayoutError, match=f"{re.escape(str(victim))} is missing"):
        read_layout(layout.folder)
    with pytest.raises(LayoutError, match=r"no _manifest\.json"):
        read_layout(tmp_path)


def test_an_export_replaces_the_last_whole_and_never_a_foreign_folder(
    store_dir: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(store_dir) as store:
        first = export_layout(store.con, tmp_path / "export", part_patients=100)
        before = {p: p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file()}

        def failing(*args: object, **kwargs: object) -> str:
            raise OSError("disk full")

        monkeypatch.setattr("fivesafes.store.layout.file_sha256", failing)
        with pytest.raises(OSError, match="disk full"):
            export_layout(store.con, tmp_path / "export", part_patients=50)
        monkeypatch.undo()
        after = {p: p.read_bytes() for p in (tmp_path / "export").rglob("*") if p.is_file()}
        assert after == before  # the failed export left the last one as it was
        assert [p.name for p in tmp_path.iterdir()] == ["export"]  # and no scratch folder
        second = export_layout(store.con, tmp_path / "export", part_patients=50)
        assert len(second.ranges) > len(first.ranges)
        assert len(list((tmp_path / "export" / "patients").iterdir())) == len(second.ranges)
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep")
        with pytest.raises(LayoutError, match="not an export"):
            export_layout(store.con, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    duckdb.connect().close()
