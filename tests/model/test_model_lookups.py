"""The shipped lookup tables: complete, consistent with each other, and with the published totals.

The published figures these tests check against are facts from the publications named in
src/fivesafes/model/lookups/SOURCES.md: England has 32,844 LSOAs (2011) in IMD 2019, and
56,550,138 residents at mid-2020 (ONS MYE2: 27,982,818 males, 28,567,320 females).
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.model.codes import CodeSystem, code_problem
from fivesafes.model.lookups import (
    AGE_BANDS,
    ATTRIBUTION,
    load_icbs,
    load_imd,
    load_lsoa_geography,
    load_lsoa_population,
    load_population,
    population_by_age_band,
)
from fivesafes.model.tables import REGIONS

LSOAS = 32_844
ENGLAND_MID_2020 = 56_550_138


def test_imd_has_every_lsoa_once_in_ten_near_equal_deciles() -> None:
    imd = load_imd(2019)
    codes = imd["lsoa_code"].to_pylist()
    assert len(codes) == len(set(codes)) == LSOAS
    assert all(code_problem(CodeSystem.LSOA, c) is None and c.startswith("E01") for c in codes)
    deciles = Counter(imd["imd_decile"].to_pylist())
    assert sorted(deciles) == list(range(1, 11))
    assert set(deciles.values()) == {3284, 3285}


def test_imd_decile_and_quintile_follow_from_the_rank() -> None:
    imd = load_imd().to_pylist()
    assert min(r["imd_rank"] for r in imd) == 1
    assert max(r["imd_rank"] for r in imd) == LSOAS
    for row in imd:
        assert row["imd_decile"] == math.ceil(row["imd_rank"] * 10 / LSOAS)
        assert row["imd_quintile"] == (row["imd_decile"] + 1) // 2


def test_geography_covers_the_same_lsoas_sorted_with_42_icbs_in_7_regions() -> None:
    geo = load_lsoa_geography(2022)
    codes = geo["lsoa_code"].to_pylist()
    assert codes == sorted(load_imd()["lsoa_code"].to_pylist())
    assert geo.num_rows == LSOAS and geo.column("region").null_count == 0
    icbs = load_icbs(2022)
    assert icbs.num_rows == 42 == len(set(geo["icb_code"].to_pylist()))
    assert set(icbs["region"].to_pylist()) == set(REGIONS)
    assert all(code_problem(CodeSystem.ODS, c) is None for c in icbs["icb_ods_code"].to_pylist())
    sub_icbs: dict[str, set[str]] = {}
    for sub, icb in zip(geo["sub_icb_code"].to_pylist(), geo["icb_code"].to_pylist(), strict=True):
        sub_icbs.setdefault(sub, set()).add(icb)
    assert len(sub_icbs) == 106 and all(len(v) == 1 for v in sub_icbs.values())


def test_the_london_icbs_are_the_five_london_ones() -> None:
    london = [r["icb_name"] for r in load_icbs().to_pylist() if r["region"] == "London"]
    assert sorted(n.removeprefix("NHS ").split(" London")[0] for n in london) == [
        "North Central",
        "North East",
        "North West",
        "South East",
        "South West",
    ]


def test_lsoa_populations_sum_to_englands_published_total() -> None:
    pop = load_lsoa_population(2020)
    assert pop["lsoa_code"].to_pylist() == load_imd()["lsoa_code"].to_pylist()
    assert sum(pop["population"].to_pylist()) == ENGLAND_MID_2020
    assert min(pop["population"].to_pylist()) > 0


def test_population_by_age_band_and_sex_matches_the_published_totals() -> None:
    table = load_population(2020)
    assert table.num_rows == 2 * len(AGE_BANDS)
    assert table["age_band"].to_pylist() == [*AGE_BANDS, *AGE_BANDS]
    female, male = population_by_age_band(2020, "female"), population_by_age_band(2020, "male")
    both = population_by_age_band(2020)
    assert (sum(female), sum(male), sum(both)) == (28_567_320, 27_982_818, ENGLAND_MID_2020)
    assert all(f + m == b for f, m, b in zip(female, male, both, strict=True))
    # older bands are mostly women, as in every English population estimate
    assert female[-1] > 2 * male[-1]


@given(st.integers(0, len(AGE_BANDS) - 1))
def test_age_bands_are_contiguous_five_year_bands(band: int) -> None:
    rows = load_population().to_pylist()[band :: len(AGE_BANDS)]
    for row in rows:
        assert row["age_from"] == 5 * band
        assert row["age_to"] == (None if band == len(AGE_BANDS) - 1 else 5 * band + 4)


def test_every_table_says_its_version_source_and_licence() -> None:
    for table, version, year in (
        (load_imd(), "2019", "2019"),
        (load_lsoa_geography(), "2022", "2022"),
        (load_icbs(), "2022", "2022"),
        (load_lsoa_population(), "mid-2020", "2020"),
        (load_population(), "mid-2020", "2020"),
    ):
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        assert meta["version"] == version
        assert year in meta["file"]
        assert meta["attribution"] == ATTRIBUTION
        assert "Open Government Licence v3.0" in meta["licence"]
        assert meta["url"].startswith("https://")
    region_source = load_lsoa_geography().schema.metadata[b"region_source"].decode()
    assert "derived" in region_source


@pytest.mark.parametrize(
    "load", [load_imd, load_lsoa_geography, load_icbs, load_lsoa_population, load_population]
)
def test_an_edition_that_is_not_shipped_is_refused_by_name(load: object) -> None:
    with pytest.raises(ValueError, match="this release ships"):
        load(1999)  # type: ignore[operator]


def test_population_by_age_band_refuses_an_unknown_sex() -> None:
    with pytest.raises(ValueError, match="sex must be"):
        population_by_age_band(2020, "unknown")
