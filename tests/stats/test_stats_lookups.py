"""ONS populations from fivesafes.model.lookups as denominators for directly standardised rates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.model.lookups import AGE_BANDS, population_by_age_band
from fivesafes.stats.indicators import ESP2013_BANDS, dsr


def test_population_bands_line_up_with_the_european_standard_population() -> None:
    assert AGE_BANDS == ESP2013_BANDS
    assert len(population_by_age_band()) == len(ESP2013_BANDS)


@given(st.floats(1e-4, 0.05), st.sampled_from([None, "female", "male"]))
def test_a_rate_that_is_the_same_at_every_age_is_unchanged_by_standardisation(
    rate: float, sex: str | None
) -> None:
    populations = population_by_age_band(2020, sex)
    counts = [rate * p for p in populations]
    result = dsr(counts, populations)
    assert result.value == pytest.approx(rate * 100_000, rel=1e-9)
    assert result.denominator == sum(populations)


def test_a_rate_rising_with_age_standardises_above_englands_crude_rate() -> None:
    # a rate doubling every ten years of age: England at mid-2020 is younger than the
    # European Standard Population 2013, so its crude rate is below the standardised one
    populations = population_by_age_band(2020)
    counts = [1e-5 * 2 ** (i / 2) * p for i, p in enumerate(populations)]
    crude = sum(counts) / sum(populations) * 100_000
    assert dsr(counts, populations).value > crude
