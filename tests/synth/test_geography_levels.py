"""The synthetic geography's hierarchy above the LSOAs: local authorities and Sub ICB
Locations as the ONS lookup has them, every practice in exactly one Sub ICB Location of its own
ICB, and the codes carried into the analysis layer so that counts by local authority, Sub ICB
Location and ICB each add up to England's."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.model.codes import CodeSystem, code_problem
from fivesafes.model.lookups import load_icbs, load_lsoa_geography
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth import generate
from fivesafes.synth.generator import _stream
from fivesafes.synth.geography import build_geography

LOOKUP = {r["lsoa_code"]: r for r in load_lsoa_geography().to_pylist()}
ICB_OF_ODS = {r["icb_ods_code"]: r["icb_code"] for r in load_icbs().to_pylist()}


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([300, 5_000, 40_000, 400_000]))
def test_every_practice_lies_in_one_sub_icb_of_its_own_icb_and_areas_are_the_onss(
    seed: int, patients: int
) -> None:
    geo = build_geography(np.random.default_rng(seed), patients)
    codes = [s.code for s in geo.sub_icbs]
    assert len(set(codes)) == len(codes)  # each Sub ICB Location once
    for practice in geo.practices:
        assert 0 <= practice.sub_icb < len(geo.sub_icbs)  # in exactly one
        sub = geo.sub_icbs[practice.sub_icb]
        assert practice.area == sub.code and sub.icb == practice.icb  # inside its ICB
        # and one its ICB's people live in
        assert practice.sub_icb in set(geo.lsoa_sub_icb[geo.lsoa_icb == practice.icb].tolist())
    for icb in geo.icbs:
        assert ICB_OF_ODS[icb.code] == icb.area
    for k, lsoa in enumerate(geo.lsoa_codes):
        real = LOOKUP[lsoa]
        sub = geo.sub_icbs[int(geo.lsoa_sub_icb[k])]
        assert sub.code == real["sub_icb_code"] and sub.ods_code == real["sub_icb_ods_code"]
        assert geo.icbs[sub.icb].area == real["icb_code"]  # every Sub ICB in one ICB, the ONS's
        la = geo.local_authorities[int(geo.lsoa_local_authority[k])]
        assert la.code == real["lad_code"] and la.name == real["lad_name"]
        assert code_problem(CodeSystem.LOCAL_AUTHORITY, la.code) is None
        assert code_problem(CodeSystem.SUB_ICB, sub.code) is None


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1_000, 5_000]))
def test_a_small_population_is_spread_over_finer_areas_at_each_level(
    seed: int, patients: int
) -> None:
    """A demo-sized population's ICBs are not its regions again, nor its practices' Sub ICB
    Locations its ICBs, nor the local authorities its people live in those Sub ICB Locations:
    each level has more areas than the one above, some area above holding several."""
    geo = build_geography(np.random.default_rng(seed), patients)
    regions = {icb.region for icb in geo.icbs}
    registered = {(p.icb, p.area) for p in geo.practices}
    assert len(regions) == 7 < len(geo.icbs)
    assert len(geo.icbs) < len(registered)  # some ICB's practices lie in two Sub ICBs
    assert len({a for _, a in registered}) < len(geo.local_authorities)
    for icb in range(len(geo.icbs)):  # each ICB's people live over more than one LSOA
        assert (geo.lsoa_icb == icb).sum() >= 2


def test_the_levels_are_the_same_for_the_same_seed() -> None:
    first, again = (build_geography(_stream(3, "geography"), 5_000) for _ in range(2))
    assert [(p.code, p.area) for p in first.practices] == [
        (p.code, p.area) for p in again.practices
    ]
    assert first.lsoa_codes == again.lsoa_codes
    other = build_geography(_stream(4, "geography"), 5_000)
    assert other.lsoa_codes != first.lsoa_codes


def test_placing_practices_in_sub_icbs_leaves_every_other_draw_as_it_was() -> None:
    """The Sub ICB Locations are drawn on a spawned stream: the geography's own stream (and so
    the people drawn after it) is where it would be without them."""
    rng = _stream(1, "geography")
    build_geography(rng, 5_000)
    after = rng.random()
    again = _stream(1, "geography")
    geo = build_geography(again, 5_000)
    assert again.random() == after
    same = build_geography(_stream(1, "geography"), 5_000)
    assert [p.area for p in same.practices] == [p.area for p in geo.practices]  # deterministic


@pytest.fixture(scope="module")
def registrations(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, ...]]:
    root = tmp_path_factory.mktemp("levels")
    generate(root / "synth", 1500, seed=5)
    data = DataDir(root / "data", root / "key")
    create_key(data.key_file)
    with Store.open(data) as s:
        load(s, [root / "synth"], today=date(2026, 1, 1))
        rows = s.con.execute(
            "SELECT r.*, a.sub_icb_code AS lsoa_sub_icb FROM analysis.practice_registrations r "
            "LEFT JOIN analysis.areas a USING (lsoa_code)"
        ).fetchall()
    return rows


def test_registrations_carry_the_codes_and_every_level_adds_up_to_england(
    registrations: list[tuple[object, ...]],
) -> None:
    rows = registrations
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r (patient_id BIGINT, start_date DATE, end_date DATE, practice VARCHAR, "
        "region VARCHAR, lsoa VARCHAR, imd BIGINT, sub_icb VARCHAR, icb VARCHAR, la VARCHAR, "
        "lsoa_sub_icb VARCHAR)"
    )
    con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    (total,) = con.execute("SELECT count(*) FROM r").fetchone() or (0,)
    assert total > 1500
    for column, system in (("sub_icb", CodeSystem.SUB_ICB), ("icb", CodeSystem.ICB),
                           ("la", CodeSystem.LOCAL_AUTHORITY)):  # fmt: skip
        values = [v for (v,) in con.execute(f"SELECT {column} FROM r").fetchall()]
        assert all(v is not None and code_problem(system, v) is None for v in values), column
        by_area = con.execute(f"SELECT sum(n) FROM (SELECT {column}, count(*) n FROM r "
                              "GROUP BY 1)").fetchone()  # fmt: skip
        assert by_area == (total,), column  # the areas of a level add up to England
    # each practice in one Sub ICB Location, each Sub ICB Location in one ICB
    assert con.execute("SELECT max(n) FROM (SELECT practice, count(DISTINCT sub_icb) n FROM r "
                       "GROUP BY 1)").fetchone() == (1,)  # fmt: skip
    assert con.execute("SELECT max(n) FROM (SELECT sub_icb, count(DISTINCT icb) n FROM r "
                       "GROUP BY 1)").fetchone() == (1,)  # fmt: skip
    for sub, icb in con.execute("SELECT DISTINCT sub_icb, icb FROM r").fetchall():
        assert any(real["sub_icb_code"] == sub and real["icb_code"] == icb
                   for real in LOOKUP.values())  # fmt: skip
    # the local authority is the address's, the LSOA's own in the ONS lookup
    for lsoa, la in con.execute("SELECT DISTINCT lsoa, la FROM r").fetchall():
        assert LOOKUP[lsoa]["lad_code"] == la
    # registration and residence differ for some: the practice's Sub ICB need not be the home's
    differ = con.execute("SELECT count(*) FROM r WHERE sub_icb <> lsoa_sub_icb").fetchone()
    assert differ is not None and 0 < differ[0] < total
    # and at 1,500 people each level is finer than the one above it, in the store as loaded
    areas = [con.execute(f"SELECT count(DISTINCT {c}) FROM r").fetchone() or (0,)
             for c in ("region", "icb", "sub_icb", "la")]  # fmt: skip
    assert areas[0] < areas[1] < areas[2] < areas[3], areas
