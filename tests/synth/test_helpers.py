"""Properties of the generator's building blocks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.progress import Progress

from fivesafes.model.codes import is_valid_nhs_number
from fivesafes.synth import generate, max_patients
from fivesafes.synth.calendar import day, iso, uniform_days
from fivesafes.synth.generator import NHS_BLOCK, _nhs_numbers, _valid_test_numbers
from fivesafes.synth.geography import allocate, build_geography


@given(
    st.integers(0, 500),
    st.lists(st.floats(0.01, 100, allow_nan=False), min_size=1, max_size=20),
)
def test_allocate_hands_out_exactly_the_total(total: int, shares: list[float]) -> None:
    counts = allocate(total, np.array(shares))
    assert counts.sum() == total
    assert (counts >= 0).all()
    if total >= len(shares):
        assert (counts >= 1).all()


@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)))
def test_iso_round_trips_a_day_number(d: date) -> None:
    assert iso(day(d)) == d.isoformat()


@given(st.lists(st.tuples(st.integers(-20_000, 20_000), st.integers(0, 400)), min_size=1))
def test_uniform_days_stay_inside_their_intervals(spans: list[tuple[int, int]]) -> None:
    lo = np.array([s for s, _ in spans])
    hi = lo + np.array([w for _, w in spans])
    days = uniform_days(np.random.Generator(np.random.PCG64(0)), lo, hi)
    assert ((days >= lo) & (days <= hi)).all()


def test_every_test_range_number_is_valid() -> None:
    numbers = _valid_test_numbers()
    assert NHS_BLOCK <= len(numbers) < 1_000_000
    sample = numbers[:: len(numbers) // 2000]
    assert all(str(n).startswith("999") and is_valid_nhs_number(str(n)) for n in sample.tolist())
    assert (np.diff(numbers) > 0).all()


def test_nhs_numbers_are_unique_valid_and_never_issued_across_blocks() -> None:
    """People are numbered by position: the first block from 999, the next from 998, and a
    chunk spanning two blocks takes from both, each number once."""
    seed, edge = 3, NHS_BLOCK
    around = _nhs_numbers(seed, edge - 2_000, 4_000)
    assert len(set(around)) == 4_000
    assert {n[:3] for n in around[:2_000]} == {"999"} and {n[:3] for n in around[2_000:]} == {"998"}
    assert all(is_valid_nhs_number(n) for n in around)
    # the same people, asked for in other pieces, get the same numbers
    assert _nhs_numbers(seed, edge - 2_000, 1_500) + _nhs_numbers(seed, edge - 500, 2_500) == around
    last = _nhs_numbers(seed, max_patients() - 10, 10)
    assert {n[:3] for n in last} == {"900"} and all(is_valid_nhs_number(n) for n in last)
    assert _nhs_numbers(seed + 1, 0, 50) != _nhs_numbers(seed, 0, 50)


def test_the_population_can_be_national() -> None:
    assert max_patients() > 60_000_000  # England's registered population, with room


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 1_500_000), st.integers(0, 2**32))
def test_geography_scales_with_the_population(patients: int, seed: int) -> None:
    geo = build_geography(np.random.Generator(np.random.PCG64(seed)), patients)
    assert len(geo.icbs) == max(14, round(patients / 1_360_000))
    assert len(geo.practices) == max(2 * len(geo.icbs), round(patients / 8000))
    assert {p.icb for p in geo.practices} == set(range(len(geo.icbs)))
    assert len(geo.trusts) == max(2, round(patients / 60_000))
    assert len(geo.lsoa_codes) == max(30, 4 * len(geo.icbs), round(patients / 1500))
    assert len({o.code for o in (*geo.icbs, *geo.practices, *geo.trusts)}) == (
        len(geo.icbs) + len(geo.practices) + len(geo.trusts)
    )
    assert {int(r) for r in geo.lsoa_region} == set(range(7))
    assert abs(geo.lsoa_weight.sum() - 1) < 1e-9
    for lsoa, home in enumerate(geo.lsoa_home_practice.tolist()):
        assert home in geo.lsoa_practices[lsoa]
        assert geo.practices[home].icb == geo.lsoa_icb[lsoa] or not any(
            p.icb == geo.lsoa_icb[lsoa] for p in geo.practices
        )


@pytest.mark.parametrize(
    ("patients", "faults"), [(0, 0.0), (max_patients() + 1, 0.0), (5, 0.1), (100, 1.0)]
)
def test_generation_refuses_impossible_requests(
    tmp_path: Path, patients: int, faults: float
) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, patients, seed=1, faults=faults)
    assert not any(tmp_path.iterdir())


def test_progress_is_reported_to_a_callable_or_a_rich_progress(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(tmp_path / "a", 60, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (60, 60)
    assert all(total == 60 for _, total in calls)
    with Progress(disable=True) as progress:
        generate(tmp_path / "b", 60, seed=1, progress=progress)
    (task,) = progress.tasks
    assert task.completed == task.total == 60
