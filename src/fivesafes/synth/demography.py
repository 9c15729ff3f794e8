"""Age, sex and ethnicity of a synthetic population shaped like England's.

The age pyramid and the sex ratio by age are the ONS mid-2020 estimates for England in the
19 five-year bands of :mod:`fivesafes.model.lookups`; the ethnic mix follows the 2021
Census, with a London mix and a rest-of-England mix, and about 8% "not stated" as in GP
records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fivesafes.model.lookups import load_population

POPULATION_YEAR = 2020
AGE_BANDS = np.arange(0, 95, 5)
"""Lower bound of each five-year band; the last band is 90 and over."""


def _by_band(sex: str) -> np.ndarray:
    rows = [r for r in load_population(POPULATION_YEAR).to_pylist() if r["sex"] == sex]
    if [r["age_from"] for r in rows] != AGE_BANDS.tolist():
        raise ValueError(f"the {POPULATION_YEAR} population table does not have our age bands")
    return np.array([r["population"] for r in rows], dtype=np.float64)


_FEMALES, _MALES = _by_band("female"), _by_band("male")
AGE_SHARES = (_FEMALES + _MALES) / (_FEMALES + _MALES).sum()
"""Share of England's population in each band of AGE_BANDS."""
MALE_SHARE = _MALES / (_FEMALES + _MALES)
"""Share of each band who are male."""
UNKNOWN_SEX = 0.0005
"""Share of records whose administrative sex is "unknown"."""

ETHNIC_SHARES_LONDON = np.array(
    [36.8, 1.8, 14.7, 1.5, 0.9, 1.5, 1.8, 7.5, 3.3, 3.7, 4.6, 3.9, 7.9, 1.6, 1.7, 6.3]
)
ETHNIC_SHARES_ELSEWHERE = np.array(
    [79.5, 0.8, 5.0, 0.8, 0.3, 0.7, 0.5, 2.5, 2.7, 0.6, 1.1, 0.6, 1.6, 0.3, 0.6, 1.5]
)
"""Shares of NHS ethnic categories A to S (vocabulary.ETHNIC_CATEGORIES order, without Z)."""
NOT_STATED = 0.08


@dataclass(frozen=True, slots=True)
class Demography:
    """Characteristics that drive risk: age at the generator's today (as if alive),
    sex (0 female, 1 male, 2 unknown), deprivation (0 least to 1 most deprived) and
    ethnicity (index into vocabulary.ETHNIC_CATEGORIES)."""

    age: np.ndarray
    sex: np.ndarray
    deprivation: np.ndarray
    ethnicity: np.ndarray


def sample_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages in years, drawn from the pyramid (the open top band tails off to about 105)."""
    band = rng.choice(len(AGE_BANDS), size=n, p=AGE_SHARES)
    within = rng.random(n) * 5
    top = band == len(AGE_BANDS) - 1
    within[top] = np.minimum(rng.exponential(4.0, int(top.sum())), 15)
    return AGE_BANDS[band] + within


def sample_demography(
    rng: np.random.Generator,
    n: int,
    london: np.ndarray,
    deprivation: np.ndarray | None = None,
) -> Demography:
    """``n`` people; ``london`` says who lives in London (it shapes the ethnic mix)."""
    age = sample_ages(rng, n)
    band = np.minimum((age // 5).astype(np.int64), len(AGE_BANDS) - 1)
    u = rng.random(n)
    sex = np.where(u < UNKNOWN_SEX, 2, np.where(u < UNKNOWN_SEX + MALE_SHARE[band], 1, 0))
    if deprivation is None:
        deprivation = (10 - rng.integers(1, 11, n)) / 9
    ethnicity = np.empty(n, dtype=np.int64)
    for mask, shares in ((london, ETHNIC_SHARES_LONDON), (~london, ETHNIC_SHARES_ELSEWHERE)):
        ethnicity[mask] = rng.choice(len(shares), size=int(mask.sum()), p=shares / shares.sum())
    ethnicity[rng.random(n) < NOT_STATED] = len(ETHNIC_SHARES_LONDON)
    return Demography(age=age, sex=sex, deprivation=deprivation, ethnicity=ethnicity)
