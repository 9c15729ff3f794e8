"""A store made before the ONS areas (layout 1) is brought up to this version's layout when it is
next opened for writing: its organisations' areas read again from the resources it kept, its
areas' local authorities and Sub ICB Locations filled from the ONS lookup, its registrations
built again -- the same rows a fresh load of the same files gives. Opened only for reading,
it is refused with what to do, never a query failing on a column it lacks."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from fivesafes.store import indexes
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.store.upgrades import LAYOUT, StoreOutdated, layout_of
from fivesafes.store.versions import writing
from fivesafes.synth import generate

TODAY = date(2026, 1, 1)
LAYOUT_1_LACKS = {
    'identifiable."Organization"': ("area_code",),
    "analysis.practice_registrations": ("sub_icb_code", "icb_code", "local_authority_code"),
    "analysis.areas": ("local_authority_code", "sub_icb_code"),
}
"""What a store made before the ONS areas did not have (the columns commit 0b2943f added)."""
COMPARED = {
    "analysis.practice_registrations": "patient_id, start_date",
    "analysis.areas": "lsoa_code",
    'identifiable."Organization"': "id",
}


def _rows(store: Store, table: str, order: str) -> list[tuple[object, ...]]:
    columns = "* EXCLUDE (load_id, loaded_at)" if table.startswith("identifiable") else "*"
    return store.con.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()


def _copy(old: DataDir, folder: Path) -> DataDir:
    """A copy of the old store of its own, to upgrade."""
    copy = DataDir(folder / "data", old.key_file)
    copy.root.mkdir()
    shutil.copyfile(old.database, copy.database)
    return copy


def _assert_as_fresh(upgraded: DataDir, fresh: DataDir) -> None:
    with Store.open(upgraded, read_only=True) as store, Store.open(fresh, read_only=True) as new:
        for table, order in COMPARED.items():
            assert _rows(store, table, order) == _rows(new, table, order), table


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataDir, DataDir, Path]:
    """A store loaded by this version, and a copy of it made into layout 1."""
    root = tmp_path_factory.mktemp("upgrade")
    source = root / "synth"
    generate(source, 400, seed=9)
    fresh = DataDir(root / "fresh", root / "key")
    create_key(fresh.key_file)
    with writing(fresh) as store:
        load(store, [source], today=TODAY)
    old = DataDir(root / "old", root / "key")
    old.root.mkdir()
    shutil.copyfile(fresh.database, old.database)
    with Store.open(old) as store:  # this version: it opens at LAYOUT, so nothing changes here
        con = store.con
        indexes.drop(con)
        for table, columns in LAYOUT_1_LACKS.items():
            for column in columns:
                con.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
        con.execute("DELETE FROM meta.environment WHERE name = 'store_layout'")
        indexes.ensure(con)
        con.execute("CHECKPOINT")
    return fresh, old, source


def test_the_made_up_old_store_is_layout_1_and_lacks_the_columns(
    stores: tuple[DataDir, DataDir, Path],
) -> None:
    _, old, _ = stores
    with Store.open(old, read_only=True, any_layout=True) as store:
        assert layout_of(store.con) == 1
        with pytest.raises(Exception, match="icb_code"):  # what a study would have met
            store.con.execute("SELECT icb_code FROM analysis.practice_registrations").fetchall()


def test_reading_an_old_store_is_refused_with_what_to_do(
    stores: tuple[DataDir, DataDir, Path],
) -> None:
    _, old, _ = stores
    with pytest.raises(StoreOutdated, match=r"older fivesafes \(layout 1.*`fivesafes load`"):
        Store.open(old, read_only=True)


def test_writing_upgrades_it_to_what_a_fresh_load_gives(
    stores: tuple[DataDir, DataDir, Path], tmp_path: Path
) -> None:
    fresh, old, source = stores
    upgraded = _copy(old, tmp_path)
    with writing(upgraded, bulk=False):  # any write opens it for writing, which upgrades it
        pass
    with Store.open(upgraded, read_only=True) as store:
        assert layout_of(store.con) == LAYOUT
        found = store.con.execute(
            "SELECT count(*), count(icb_code), count(sub_icb_code), count(local_authority_code),"
            " count(DISTINCT icb_code), count(DISTINCT local_authority_code) "
            "FROM analysis.practice_registrations"
        ).fetchone()
        assert found is not None and found[0] > 400
        assert found[1] == found[2] == found[3] == found[0]  # every registration has its areas
        assert found[4] > 1 and found[5] > found[4]
    _assert_as_fresh(upgraded, fresh)
    # and a load into the upgraded store (the same files again) changes nothing more
    with writing(upgraded) as store:
        report = load(store, [source], today=TODAY)
        assert report.totals["loaded"] == 0
    _assert_as_fresh(upgraded, fresh)


def test_a_load_upgrades_an_old_store_before_it_loads(
    stores: tuple[DataDir, DataDir, Path], tmp_path: Path
) -> None:
    _, old, _ = stores
    data = _copy(old, tmp_path)
    more = tmp_path / "more"
    generate(more, 50, seed=10)
    with writing(data) as store:
        load(store, [more], today=TODAY)
    with Store.open(data, read_only=True) as store:
        (missing,) = store.con.execute(
            "SELECT count(*) FROM analysis.practice_registrations WHERE icb_code IS NULL"
        ).fetchone() or (None,)
        assert missing == 0


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data.key_file)
    with Store.open(data) as store:
        store.con.execute(
            "UPDATE meta.environment SET value = ? WHERE name = 'store_layout'", [str(LAYOUT + 1)]
        )
    for read_only in (True, False):
        with pytest.raises(StoreOutdated, match="newer fivesafes"):
            Store.open(data, read_only=read_only)
