"""The synthetic population lives in England's real LSOAs, ICBs and regions, in real proportions,
with England's age and sex structure (ONS mid-2020)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.model.lookups import (
    load_icbs,
    load_imd,
    load_lsoa_geography,
    load_lsoa_population,
    population_by_age_band,
)
from fivesafes.model.tables import REGIONS
from fivesafes.synth.demography import sample_demography
from fivesafes.synth.geography import (
    allocate,
    allocate_capped,
    build_geography,
    england,
    sample_areas,
    systematic_positions,
)


def _real() -> tuple[
    dict[str, dict[str, object]], dict[str, int], dict[str, int], dict[str, float]
]:
    geo = {r["lsoa_code"]: r for r in load_lsoa_geography().to_pylist()}
    deciles = dict(
        zip(*(load_imd()[c].to_pylist() for c in ("lsoa_code", "imd_decile")), strict=True)
    )
    population = dict(
        zip(
            *(load_lsoa_population()[c].to_pylist() for c in ("lsoa_code", "population")),
            strict=True,
        )
    )
    region_people: dict[str, float] = {}
    for code, row in geo.items():
        region_people[str(row["region"])] = (
            region_people.get(str(row["region"]), 0) + population[code]
        )
    total = sum(region_people.values())
    return geo, deciles, population, {r: p / total for r, p in region_people.items()}


REAL_GEOGRAPHY, REAL_DECILE, REAL_POPULATION, REAL_REGION_SHARE = _real()


@given(
    st.integers(0, 2000),
    st.lists(st.tuples(st.floats(0.01, 100), st.integers(1, 60)), min_size=1, max_size=20),
)
def test_allocate_capped_never_exceeds_a_cap_and_hands_out_what_fits(
    total: int, items: list[tuple[float, int]]
) -> None:
    shares, caps = np.array([s for s, _ in items]), np.array([c for _, c in items])
    counts = allocate_capped(total, shares, caps)
    assert (counts >= 0).all() and (counts <= caps).all()
    assert counts.sum() == min(total, caps.sum())
    if total <= caps.min():
        assert (counts == allocate(total, shares)).all()


@given(st.integers(1, 5000), st.data())
def test_systematic_positions_are_distinct_evenly_spaced_and_in_range(
    size: int, data: st.DataObject
) -> None:
    n = data.draw(st.integers(1, size))
    seed = data.draw(st.integers(0, 2**32))
    picks = systematic_positions(np.random.Generator(np.random.PCG64(seed)), size, n)
    assert len(picks) == n and (np.diff(picks) > 0).all()
    assert picks[0] >= 0 and picks[-1] < size
    assert (np.diff(picks) <= np.ceil(size / n)).all()


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 1_500_000), st.integers(0, 2**32))
def test_areas_are_real_lsoas_with_their_own_decile_icb_and_region(
    patients: int, seed: int
) -> None:
    geo = build_geography(np.random.Generator(np.random.PCG64(seed)), patients)
    assert len(set(geo.lsoa_codes)) == len(geo.lsoa_codes)
    icbs = {r["icb_ods_code"]: r for r in load_icbs().to_pylist()}
    for icb in geo.icbs:
        assert icbs[icb.code]["icb_name"] == icb.name
        assert icbs[icb.code]["region"] == REGIONS[icb.region]
    for code, decile, icb, region in zip(
        geo.lsoa_codes, geo.lsoa_decile, geo.lsoa_icb, geo.lsoa_region, strict=True
    ):
        real = REAL_GEOGRAPHY[code]
        assert REAL_DECILE[code] == decile
        assert real["icb_ods_code"] == geo.icbs[int(icb)].code
        assert real["region"] == REGIONS[int(region)]


@settings(max_examples=10, deadline=None)
@given(st.integers(7, 42), st.integers(0, 3000), st.integers(0, 2**32))
def test_people_spread_over_regions_as_in_england_and_by_population_within_icbs(
    n_icb: int, extra_lsoas: int, seed: int
) -> None:
    n_lsoa = n_icb + extra_lsoas
    e = england()
    areas = sample_areas(np.random.Generator(np.random.PCG64(seed)), e, n_icb, n_lsoa)
    assert len(areas.icbs) == n_icb and len(areas.rows) == n_lsoa
    assert abs(areas.lsoa_weight.sum() - 1) < 1e-12
    regions = e.icb_region[areas.icbs][areas.lsoa_icb]
    for r, name in enumerate(REGIONS):
        share = areas.lsoa_weight[regions == r].sum()
        assert abs(share - REAL_REGION_SHARE[name]) < 1e-12
    codes = e.lsoa_codes[areas.rows]
    for i in range(n_icb):
        mine = areas.lsoa_icb == i
        people = np.array([REAL_POPULATION[c] for c in codes[mine]], dtype=float)
        np.testing.assert_allclose(
            areas.lsoa_weight[mine], areas.icb_share[i] * people / people.sum(), rtol=1e-12
        )


def test_with_every_icb_and_lsoa_the_people_are_spread_exactly_as_englands() -> None:
    e = england()
    areas = sample_areas(np.random.Generator(np.random.PCG64(1)), e, 42, len(e.lsoa_codes))
    people = np.array([REAL_POPULATION[c] for c in e.lsoa_codes[areas.rows]], dtype=float)
    np.testing.assert_allclose(areas.lsoa_weight, people / people.sum(), rtol=1e-9)


def test_ages_and_sexes_follow_the_ons_estimates_for_england() -> None:
    n = 200_000
    rng = np.random.Generator(np.random.PCG64(3))
    people = sample_demography(rng, n, london=np.zeros(n, dtype=bool))
    band = np.minimum((people.age // 5).astype(np.int64), 18)
    female = np.array(population_by_age_band(2020, "female"), dtype=float)
    male = np.array(population_by_age_band(2020, "male"), dtype=float)
    # 200,000 draws: a band's share has a standard error under 0.0006, so 0.003 is > 5 errors
    np.testing.assert_allclose(
        np.bincount(band, minlength=19) / n, (female + male) / (female + male).sum(), atol=0.003
    )
    older = band >= 15  # 75 and over (about 17,000 draws), where women outnumber men
    observed = (people.sex[older] == 1).mean()
    expected = male[15:].sum() / (female[15:] + male[15:]).sum()  # 0.41
    assert abs(observed - expected) < 0.02  # the standard error is under 0.004


def test_every_icb_needs_an_lsoa() -> None:
    with pytest.raises(ValueError, match="ICBs <= LSOAs"):
        sample_areas(np.random.Generator(np.random.PCG64(0)), england(), 31, 30)
