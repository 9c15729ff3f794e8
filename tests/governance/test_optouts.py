"""Opt-outs and consent: loading them, and the promise that research extracts leave people out."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import cast

import orjson
import pytest
from governance_support import World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from fivesafes.governance import (
    AccessDenied,
    ConsentScope,
    ControlPlane,
    OptOutFileError,
    OptOutKind,
    Purpose,
    Role,
    add_opt_out,
    excluded_patient_ids,
    load_opt_outs,
    opt_out_report,
    record_opt_outs_applied,
    set_wearable_consent,
    wearable_consented_ids,
)
from fivesafes.governance.tables import OptOut
from fivesafes.model.codes import nhs_number_check_digit
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store


def sample_nhs_number(serial: int) -> str | None:
    """The Modulus-11-valid NHS number in the 999 test range with this serial, if there is one."""
    first_nine = f"999{serial:06d}"
    check = nhs_number_check_digit(first_nine)
    return None if check is None else f"{first_nine}{check}"


NHS_NUMBERS = cast(
    st.SearchStrategy[str],
    st.integers(0, 999_999).map(sample_nhs_number).filter(lambda n: n is not None),
)
A, B, C = "9990000018", "9990000026", "9990000034"


@pytest.fixture
def custodian(cp: ControlPlane) -> str:
    return World.start(cp).tokens["cus"]


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.in_memory(secrets.token_bytes(32)) as s:
        yield s


def add_patients(store: Store, numbers: list[str]) -> None:
    rows = [(store.pseudonymise(n), "female", date(1980, 1, 1)) for n in numbers]
    store.con.executemany(
        "INSERT INTO analysis.patients (patient_id, sex, date_of_birth) VALUES (?, ?, ?)", rows
    )


def test_the_sample_numbers_are_modulus_11_valid() -> None:
    assert [sample_nhs_number(n) for n in (1, 2, 3)] == [A, B, C]


def test_a_file_loads_in_one_go_with_counts_and_a_hash_in_the_ledger(
    cp: ControlPlane, custodian: str, tmp_path: Path
) -> None:
    path = tmp_path / "opt-outs.csv"
    path.write_text(f"nhs_number,kind\n{A},national\n\n{B},type1\n{B[:3]} {B[3:6]} {B[6:]},type1\n")
    loaded = load_opt_outs(cp, custodian, path)
    assert (loaded.rows, loaded.added, loaded.by_kind) == (3, 2, {"national": 1, "type1": 2})
    assert loaded.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_opt_outs(cp, custodian, path).added == 0
    entries = b"".join(cp.ledger.entries())
    assert A.encode() not in entries and B.encode() not in entries
    loads = [r["subject"] for r in map(orjson.loads, cp.ledger.entries()) if r["kind"] == "load"]
    assert loads[0] == {
        "what": "opt_outs",
        "file_sha256": loaded.file_sha256,
        "rows": 3,
        "added": 2,
        "by_kind": {"national": 1, "type1": 2},
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{A},national\n9990000019,type1\n", "line 2: NHS number '9990000019' fails"),
        (f"{A},national\n{B},opt-in\n", "line 2: kind 'opt-in' is not national or type1"),
        (f"{A}\n", "line 1: expected 2 columns"),
    ],
)
def test_a_bad_row_names_its_line_and_loads_nothing(
    cp: ControlPlane, custodian: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "opt-outs.csv"
    path.write_text(content)
    with pytest.raises(OptOutFileError, match=message):
        load_opt_outs(cp, custodian, path)
    with cp.transaction() as session:
        assert session.query(OptOut).count() == 0


def test_exclusions_follow_the_purpose(cp: ControlPlane, custodian: str, store: Store) -> None:
    add_opt_out(cp, custodian, A, OptOutKind.NATIONAL)
    add_opt_out(cp, custodian, B, OptOutKind.TYPE1)
    both = {store.pseudonymise(A), store.pseudonymise(B)}
    assert excluded_patient_ids(store, "research", cp) == both
    assert excluded_patient_ids(store, "planning", cp) == both
    assert excluded_patient_ids(store, "direct_care", cp) == set()
    with pytest.raises(ValueError):
        excluded_patient_ids(store, "marketing", cp)


def test_only_custodians_set_opt_outs_and_see_counts(cp: ControlPlane) -> None:
    world = World.start(cp)
    analyst = world.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied):
        add_opt_out(cp, analyst, A, OptOutKind.NATIONAL)
    record_opt_outs_applied(cp, "research", 3, project_id="heat")
    with pytest.raises(AccessDenied):
        opt_out_report(cp, analyst)
    (applied,) = opt_out_report(cp, world.tokens["cus"])
    assert (applied.project_id, applied.purpose, applied.excluded) == ("heat", "research", 3)


def test_wearable_consent_is_per_scope_and_revocable(
    cp: ControlPlane, custodian: str, store: Store
) -> None:
    set_wearable_consent(cp, custodian, A, ConsentScope.CARE, True)
    set_wearable_consent(cp, custodian, B, ConsentScope.RESEARCH, True)
    assert wearable_consented_ids(store, "care", cp) == {store.pseudonymise(A)}
    assert wearable_consented_ids(store, "research", cp) == {store.pseudonymise(B)}
    set_wearable_consent(cp, custodian, B, ConsentScope.RESEARCH, False)
    assert wearable_consented_ids(store, "research", cp) == set()


def test_the_store_finds_its_own_control_plane(data_dir: DataDir) -> None:
    with ControlPlane.open(data_dir) as cp:
        add_opt_out(cp, World.start(cp).tokens["cus"], C, OptOutKind.NATIONAL)
    with Store.open(data_dir) as store:
        assert excluded_patient_ids(store, "research") == {store.pseudonymise(C)}


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=st.lists(NHS_NUMBERS, min_size=1, max_size=40, unique=True),
    data=st.data(),
    purpose=st.sampled_from(list(Purpose)),
)
def test_property_an_opted_out_patient_never_appears_in_a_research_extract(
    cp: ControlPlane,
    custodian: str,
    store: Store,
    tmp_path: Path,
    population: list[str],
    data: st.DataObject,
    purpose: Purpose,
) -> None:
    """Whoever is in the store and whoever opted out (of either kind, some not even in the
    store): the extract, the store's patients minus the exclusions, has no opted-out person for
    research or planning, and everyone for direct care."""
    store.con.execute("DELETE FROM analysis.patients")
    with cp.transaction() as session:
        session.execute(delete(OptOut))
    add_patients(store, population)
    outsiders = data.draw(st.lists(NHS_NUMBERS, max_size=5), label="outsiders")
    chosen = data.draw(st.lists(st.sampled_from(population + outsiders)), label="opted out")
    kinds = data.draw(
        st.lists(st.sampled_from(list(OptOutKind)), min_size=len(chosen), max_size=len(chosen)),
        label="kinds",
    )
    path = tmp_path / "opt-outs.csv"
    path.write_text("".join(f"{n},{k}\n" for n, k in zip(chosen, kinds, strict=True)))
    load_opt_outs(cp, custodian, path)

    excluded = excluded_patient_ids(store, purpose, cp)
    everyone = {
        r[0] for r in store.con.execute("SELECT patient_id FROM analysis.patients").fetchall()
    }
    extract = everyone - excluded
    opted_out = {store.pseudonymise(n) for n in chosen}
    if purpose is Purpose.DIRECT_CARE:
        assert extract == everyone
    else:
        assert not extract & opted_out
        assert extract == everyone - opted_out
