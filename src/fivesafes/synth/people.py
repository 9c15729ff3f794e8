"""One chunk of synthetic people: demographics, conditions, deaths and registrations.

All arrays are indexed by the person's position in the chunk. Everything later
generated about a person happens inside their *window*: from the later of birth and
the study start to the earlier of death and the study end, so unfaulted data never
holds an event before birth or after death.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import (
    HISTORY_START,
    STUDY_END,
    STUDY_START,
    TODAY,
    YEAR,
    day,
    uniform_days,
)
from fivesafes.synth.demography import Demography, sample_demography
from fivesafes.synth.geography import LONDON, Geography, inward_codes
from fivesafes.synth.prevalence import CONDITIONS, draw_conditions, smoking_status

MOVER_SHARE = 0.15
"""Share of people who change GP practice during the study."""
COVID_WAVES = (day(date(2020, 3, 15)), day(date(2022, 3, 31)))
"""When COVID-19 was a common underlying cause of death."""


@dataclass(slots=True)
class Cohort:
    """A chunk of people; ``first`` is the population-wide index of person 0."""

    first: int
    ids: list[str]
    nhs_numbers: list[str]
    demography: Demography
    birth: np.ndarray
    dead: np.ndarray
    death: np.ndarray
    """Day of death; STUDY_END + 1 for the living, so ``day < death`` means alive."""
    cause: np.ndarray
    """Index into vocabulary.DEATH_CAUSES (-1 for the living)."""
    start: np.ndarray
    """First day of the person's window."""
    end: np.ndarray
    """Last day of the person's window."""
    lsoa: np.ndarray
    postcodes: list[str]
    smoking: np.ndarray
    conditions: dict[str, np.ndarray]
    onset: dict[str, np.ndarray]
    practice: np.ndarray
    """Practice of the first (or only) registration."""
    moved: np.ndarray
    move_day: np.ndarray
    new_practice: np.ndarray
    registered: np.ndarray
    """First day of the first registration."""
    trust: np.ndarray
    wearable_consent: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def age(self) -> np.ndarray:
        return self.demography.age

    def age_on(self, days: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Age in years of person ``who[i]`` on day ``days[i]``."""
        return (days - self.birth[who]) / YEAR

    def practice_on(self, days: np.ndarray, who: np.ndarray) -> np.ndarray:
        """The practice each person was registered with on each day."""
        later = self.moved[who] & (days >= self.move_day[who])
        return np.where(later, self.new_practice[who], self.practice[who])

    def condition_count(self) -> np.ndarray:
        """How many of the long-term conditions each person has."""
        return np.asarray(list(self.conditions.values())).sum(axis=0, dtype=np.int64)


def _death_hazard(
    d: Demography, age_mid: np.ndarray, conditions: dict[str, np.ndarray]
) -> np.ndarray:
    """Annual probability-scale hazard of death (Gompertz in age, raised by risk factors)."""
    log_h = -10.3 + 0.093 * age_mid + 0.4 * d.deprivation + 0.3 * (d.sex == 1)
    log_h = log_h + 0.7 * conditions["copd"] + 0.35 * conditions["diabetes"]
    return np.exp(log_h)


_CAUSE_BASE_FEMALE = np.array(
    [0.10, 0.03, 0.07, 0.04, 0.05, 0.03, 0.07, 0, 0.06, 0.11, 0.06, 0.05, 0.03, 0.01, 0.04, 0.02, 0]
)
_CAUSE_BASE_MALE = np.array(
    [.14, .05, .05, .03, .06, .035, 0, .06, .06, .07, .03, .05, .035, .012, .02, .02, 0]
)  # fmt: skip
_CAUSE = {code.code: i for i, code in enumerate(v.DEATH_CAUSES)}


def _causes(
    rng: np.random.Generator,
    sex: np.ndarray,
    age: np.ndarray,
    when: np.ndarray,
    conditions: dict[str, np.ndarray],
) -> np.ndarray:
    """Underlying cause of each death, shifted towards the person's own conditions."""
    w = np.where((sex == 1)[:, None], _CAUSE_BASE_MALE, _CAUSE_BASE_FEMALE)
    w[:, _CAUSE["J44.9"]] += 0.35 * conditions["copd"]
    w[:, _CAUSE["E11.9"]] += 0.08 * conditions["diabetes"]
    w[:, _CAUSE["I25.9"]] += 0.05 * conditions["diabetes"] + 0.03 * conditions["hypertension"]
    w[:, _CAUSE["I63.9"]] += 0.04 * conditions["hypertension"]
    w[:, _CAUSE["U07.1"]] += 0.12 * ((when >= COVID_WAVES[0]) & (when <= COVID_WAVES[1]))
    young = age < 65
    for frail in ("F03", "G30.9", "R54"):
        w[young, _CAUSE[frail]] *= 0.05
    w /= w.sum(axis=1, keepdims=True)
    return (rng.random(len(w))[:, None] > np.cumsum(w, axis=1)).sum(axis=1)


def _pick(rng: np.random.Generator, options: np.ndarray) -> int:
    return int(options[int(rng.integers(len(options)))])


def _pick_other(rng: np.random.Generator, nearby: np.ndarray, count: int, current: int) -> int:
    """A practice other than ``current``: a nearby one if there is one, else any."""
    others = nearby[nearby != current]
    if len(others) == 0:
        others = np.delete(np.arange(count), current)
    return _pick(rng, others)


def make_cohort(
    rng: np.random.Generator,
    geo: Geography,
    first: int,
    nhs_numbers: list[str],
    ensure_death: bool,
) -> Cohort:
    """``len(nhs_numbers)`` people; ``ensure_death`` makes the oldest die if nobody else does,
    so that even a tiny population has a death to check events against."""
    n = len(nhs_numbers)
    lsoa = rng.choice(len(geo.lsoa_weight), size=n, p=geo.lsoa_weight)
    deprivation = (10 - geo.lsoa_decile[lsoa]) / 9
    d = sample_demography(rng, n, geo.lsoa_region[lsoa] == LONDON, deprivation)
    birth = TODAY - 1 - np.floor(d.age * YEAR).astype(np.int64)
    start = np.maximum(birth, STUDY_START)
    smoking = smoking_status(rng, d)
    conditions = draw_conditions(rng, d, smoking)

    mid = (start + STUDY_END) / 2
    hazard = _death_hazard(d, d.age - (TODAY - mid) / YEAR, conditions)
    years = (STUDY_END - start + 1) / YEAR
    dead = rng.random(n) < 1 - np.exp(-hazard * years)
    if ensure_death and not dead.any() and n:
        oldest = int(np.argmax(d.age))
        dead[oldest] = True
    death = np.where(dead, uniform_days(rng, start, np.full(n, STUDY_END)), STUDY_END + 1)
    end = np.minimum(death, STUDY_END)
    cause = np.full(n, -1)
    if dead.any():
        cause[dead] = _causes(
            rng,
            d.sex[dead],
            d.age[dead],
            death[dead],
            {k: c[dead] for k, c in conditions.items()},
        )

    onset: dict[str, np.ndarray] = {}
    for model in CONDITIONS:
        lo = np.maximum(birth + np.ceil(model.min_age * YEAR).astype(np.int64), HISTORY_START)
        has = conditions[model.name] & (lo <= end)
        conditions[model.name] = has
        onset[model.name] = np.where(has, uniform_days(rng, np.minimum(lo, end), end), -1)

    home = geo.lsoa_home_practice[lsoa]
    practice = np.array(
        [
            h if r < 0.85 else _pick(rng, geo.lsoa_practices[a])
            for h, r, a in zip(home.tolist(), rng.random(n).tolist(), lsoa.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    moved = (rng.random(n) < MOVER_SHARE) & (end - start > 120)
    move_day = np.where(
        moved, uniform_days(rng, start + 60, np.maximum(end - 30, start + 60)), TODAY
    )
    new_practice = np.array(
        [
            _pick_other(rng, geo.lsoa_practices[a], len(geo.practices), p) if m else -1
            for a, p, m in zip(lsoa.tolist(), practice.tolist(), moved.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    registered = np.maximum(
        birth, STUDY_START - np.floor(rng.random(n) * 20 * YEAR).astype(np.int64)
    )
    trust = np.where(
        rng.random(n) < 0.9, geo.lsoa_home_trust[lsoa], rng.integers(0, len(geo.trusts), n)
    )
    consent_rate = np.select(
        [d.age < 18, d.age < 40, d.age < 65, d.age < 85], [0, 0.16, 0.1, 0.04], 0
    )
    wearable_consent = rng.random(n) < consent_rate
    postcodes = [
        f"{geo.lsoa_outward[a]} {inward}"
        for a, inward in zip(lsoa.tolist(), inward_codes(rng, n), strict=True)
    ]
    return Cohort(
        first=first,
        ids=[f"pat-{first + i + 1}" for i in range(n)],
        nhs_numbers=nhs_numbers,
        demography=d,
        birth=birth,
        dead=dead,
        death=death,
        cause=cause,
        start=start,
        end=end,
        lsoa=lsoa,
        postcodes=postcodes,
        smoking=smoking,
        conditions=conditions,
        onset=onset,
        practice=practice,
        moved=moved,
        move_day=move_day,
        new_practice=new_practice,
        registered=registered,
        trust=trust,
        wearable_consent=wearable_consent,
    )
