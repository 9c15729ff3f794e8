"""A missing or changed pseudonym key stops the work; nothing but initialisation makes one.

The attack (issue 18, hole 14): the key file was gone, the next job quietly made a new key, the
opt-outs hashed with it matched nobody, and the research extract held every opted-out person.
"""

from __future__ import annotations

from datetime import date

import pytest

from fhir_factory import basic_population, nhs_number, write_ndjson
from fivesafes.governance import ControlPlane, OptOutKind, add_opt_out, excluded_patient_ids
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import PseudonymKeyError, create_key, key_fingerprint, read_key
from governance.governance_support import World

TODAY = date(2026, 1, 1)


def _loaded(data_dir: DataDir, tmp_path) -> None:
    with Store.open(data_dir) as store:
        load(store, [write_ndjson(tmp_path / "pop.ndjson", basic_population(4))], today=TODAY)


def test_a_missing_key_is_never_made_and_stops_a_load(data_dir: DataDir, tmp_path) -> None:
    data_dir.key_file.unlink()
    with Store.open(data_dir) as store, pytest.raises(PseudonymKeyError, match="environment init"):
        load(store, [write_ndjson(tmp_path / "pop.ndjson", basic_population(2))], today=TODAY)
    assert not data_dir.key_file.exists()


def test_a_lost_key_stops_every_extraction_instead_of_letting_opt_outs_through(
    data_dir: DataDir, tmp_path
) -> None:
    _loaded(data_dir, tmp_path)
    with ControlPlane.open(data_dir) as cp:
        add_opt_out(cp, World.start(cp).tokens["cus"], nhs_number(1), OptOutKind.NATIONAL)
    data_dir.key_file.unlink()
    for read_only in (True, False):
        with Store.open(data_dir, read_only=read_only) as store, pytest.raises(PseudonymKeyError):
            excluded_patient_ids(store, "research")
    assert not data_dir.key_file.exists()  # a read-only store (or any other) never makes one


def test_a_different_key_is_refused(data_dir: DataDir, tmp_path) -> None:
    _loaded(data_dir, tmp_path)
    data_dir.key_file.unlink()
    create_key(data_dir.key_file)  # someone "fixed" the missing key by making a new one
    with ControlPlane.open(data_dir) as cp:
        add_opt_out(cp, World.start(cp).tokens["cus"], nhs_number(1), OptOutKind.NATIONAL)
        for read_only in (True, False):
            with (
                Store.open(data_dir, read_only=read_only) as store,
                pytest.raises(PseudonymKeyError, match="not the pseudonym key this store"),
            ):
                excluded_patient_ids(store, "research", control=cp)
    with Store.open(data_dir) as store, pytest.raises(PseudonymKeyError):
        load(store, [write_ndjson(tmp_path / "more.ndjson", basic_population(2))], today=TODAY)


def test_the_store_keeps_a_fingerprint_not_the_key(data_dir: DataDir, tmp_path) -> None:
    _loaded(data_dir, tmp_path)
    key = read_key(data_dir.key_file)
    with Store.open(data_dir, read_only=True) as store:
        rows = store.con.execute("SELECT name, value FROM meta.environment ORDER BY 1").fetchall()
    # the fingerprint, beside the layout the store is at (store/upgrades.py)
    assert rows == [("pseudonym_key_fingerprint", key_fingerprint(key)), ("store_layout", "2")]
    assert key.hex() not in rows[0][1] and key_fingerprint(key) != key.hex()


def test_a_key_is_never_replaced(data_dir: DataDir) -> None:
    before = data_dir.key_file.read_bytes()
    with pytest.raises(PseudonymKeyError, match="refusing to replace"):
        create_key(data_dir.key_file)
    assert data_dir.key_file.read_bytes() == before
    assert data_dir.key_file.stat().st_mode & 0o777 == 0o600
