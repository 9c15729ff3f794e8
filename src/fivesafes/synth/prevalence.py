"""Who has which long-term condition, and who smokes: logistic risk models.

Each condition's log-odds rise with age and deprivation and differ by sex and
ethnicity (and, for COPD, smoking), in the directions the epidemiology of England
shows: type 2 diabetes commoner in men, in South Asian and Black people and in
deprived areas; depression commoner in women; COPD steeply commoner in smokers and in
deprived areas. The intercept of each model is solved so that the prevalence in a
reference population (built from the same demographic model with a fixed seed, so it
does not depend on the user's seed) matches the target, e.g. diabetes in 7% of adults.
Analyses run on the synthetic data therefore find real, known signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from fivesafes.synth import vocabulary as v
from fivesafes.synth.demography import Demography, sample_demography
from fivesafes.synth.geography import LONDON, england


@dataclass(frozen=True, slots=True)
class RiskModel:
    """Log-odds of a binary trait as a function of a person's characteristics.

    Age acts as ``slope * (min(age, cap) - centre) + curve * (age - centre)**2``, plus
    ``child`` under 18. ``male`` applies to adults, ``male_child`` to children.
    """

    name: str
    target: float
    """Prevalence among people aged at least ``target_age``."""
    min_age: float
    """Nobody younger has the trait."""
    target_age: float = 18.0
    slope: float = 0.0
    centre: float = 50.0
    cap: float = 120.0
    curve: float = 0.0
    child: float = 0.0
    male: float = 0.0
    male_child: float = 0.0
    deprivation: float = 0.0
    south_asian: float = 0.0
    black: float = 0.0
    ex_smoker: float = 0.0
    smoker: float = 0.0

    def log_odds(self, d: Demography, smoking: np.ndarray | None = None) -> np.ndarray:
        """Log-odds without the intercept; -inf below ``min_age``."""
        age = d.age
        adult = age >= 18
        x = self.slope * (np.minimum(age, self.cap) - self.centre)
        x = x + self.curve * (age - self.centre) ** 2 + self.child * ~adult
        male = d.sex == 1
        x = x + np.where(adult, self.male, self.male_child) * male
        x = x + self.deprivation * d.deprivation
        x = x + self.south_asian * np.isin(d.ethnicity, v.SOUTH_ASIAN)
        x = x + self.black * np.isin(d.ethnicity, v.BLACK)
        if smoking is not None:
            x = x + self.ex_smoker * (smoking == 1) + self.smoker * (smoking == 2)
        return np.where(age >= self.min_age, x, -np.inf)


CURRENT_SMOKER = RiskModel(
    "current_smoker", 0.13, 16, slope=-0.025, centre=40, deprivation=1.4, male=0.25
)
EX_SMOKER = RiskModel("ex_smoker", 0.30, 16, slope=0.04, centre=40, cap=80, male=0.2)
"""Among people who do not smoke now."""

CONDITIONS = (
    RiskModel("diabetes", 0.07, 18, slope=0.055, cap=80, male=0.3, deprivation=0.8,
              south_asian=0.9, black=0.5),
    RiskModel("asthma", 0.06, 2, target_age=0, child=0.25, male=-0.25, male_child=0.25,
              deprivation=0.35),
    RiskModel("hypertension", 0.14, 18, slope=0.075, cap=85, male=0.2, deprivation=0.35,
              black=0.45),
    RiskModel("copd", 0.02, 35, slope=0.07, centre=60, cap=85, male=0.15, deprivation=1.1,
              south_asian=-0.5, ex_smoker=1.1, smoker=1.7),
    RiskModel("depression", 0.12, 12, curve=-0.0006, centre=45, male=-0.6, deprivation=0.7),
)  # fmt: skip
CONDITION_NAMES = tuple(c.name for c in CONDITIONS)
CONDITION_CODES = {
    "diabetes": (v.DIABETES, v.DIABETES_ICD),
    "asthma": (v.ASTHMA, v.ASTHMA_ICD),
    "hypertension": (v.HYPERTENSION, v.HYPERTENSION_ICD),
    "copd": (v.COPD, v.COPD_ICD),
    "depression": (v.DEPRESSION, v.DEPRESSION_ICD),
}
"""SNOMED CT (primary care) and ICD-10 (hospital) code of each condition."""


def _solve_intercept(model: RiskModel, d: Demography, smoking: np.ndarray | None = None) -> float:
    """The intercept that makes the model's mean probability in its target ages its target."""
    log_odds = model.log_odds(d, smoking)[d.age >= model.target_age]
    eligible = log_odds[np.isfinite(log_odds)]
    share = len(eligible) / len(log_odds)
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if share * np.mean(1 / (1 + np.exp(-(eligible + mid)))) < model.target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


REFERENCE_SIZE = 100_000
"""People in the calibration population: enough to pin each prevalence to about 0.1%."""


@cache
def intercepts() -> dict[str, float]:
    """Calibrated intercept of every risk model (computed once, from a fixed reference)."""
    ref_rng = np.random.Generator(np.random.PCG64(20160101))
    london = ref_rng.random(REFERENCE_SIZE) < england().region_share[LONDON]
    ref = sample_demography(ref_rng, REFERENCE_SIZE, london=london)
    solved = {m.name: _solve_intercept(m, ref) for m in (CURRENT_SMOKER, EX_SMOKER)}
    smoking = smoking_status(ref_rng, ref, solved)
    for model in CONDITIONS:
        solved[model.name] = _solve_intercept(model, ref, smoking)
    return solved


def _draw(rng: np.random.Generator, log_odds: np.ndarray, intercept: float) -> np.ndarray:
    p = 1 / (1 + np.exp(-(log_odds + intercept)))
    return rng.random(len(log_odds)) < p


def smoking_status(
    rng: np.random.Generator, d: Demography, solved: dict[str, float] | None = None
) -> np.ndarray:
    """0 never, 1 ex, 2 current smoker (children are never smokers)."""
    b = solved if solved is not None else intercepts()
    current = _draw(rng, CURRENT_SMOKER.log_odds(d), b[CURRENT_SMOKER.name])
    ex = _draw(rng, EX_SMOKER.log_odds(d), b[EX_SMOKER.name]) & ~current
    return np.where(current, 2, np.where(ex, 1, 0))


def draw_conditions(
    rng: np.random.Generator, d: Demography, smoking: np.ndarray
) -> dict[str, np.ndarray]:
    """Which people have each long-term condition (as of the generator's today)."""
    b = intercepts()
    return {m.name: _draw(rng, m.log_odds(d, smoking), b[m.name]) for m in CONDITIONS}
