"""Seasonal flu and COVID-19 vaccinations, following the shape of the English programmes.

Flu: every autumn 2016-2025, offered to people 65 and over (about three in four
take it), at-risk adults and young children (fewer), rarely others. COVID-19: first
doses from December 2020 oldest first, second doses eight to twelve weeks later, an
autumn 2021 booster, then spring and autumn boosters for older people. Each person
has a fixed propensity, so someone vaccinated one year is likely to be the next, and
uptake falls with deprivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import orjson

from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import day, iso, uniform_days
from fivesafes.synth.people import Cohort
from fivesafes.synth.records import Batch, Ids, Reference, constant, order_by_person


@dataclass(frozen=True, slots=True)
class Booster:
    """A COVID-19 booster campaign: who is eligible, when, and how many take it."""

    start: date
    end: date
    min_age: float
    uptake: float


BOOSTERS = (
    Booster(date(2021, 9, 20), date(2022, 1, 31), 18, 0.8),
    Booster(date(2022, 4, 1), date(2022, 6, 30), 75, 0.75),
    Booster(date(2022, 9, 15), date(2022, 12, 20), 50, 0.65),
    Booster(date(2023, 4, 1), date(2023, 6, 30), 75, 0.7),
    Booster(date(2023, 9, 15), date(2023, 12, 20), 65, 0.65),
    Booster(date(2024, 4, 1), date(2024, 6, 30), 75, 0.65),
    Booster(date(2024, 9, 15), date(2024, 12, 20), 65, 0.6),
    Booster(date(2025, 4, 1), date(2025, 6, 30), 75, 0.6),
    Booster(date(2025, 9, 15), date(2025, 12, 20), 75, 0.6),
)
FIRST_DOSES = day(date(2020, 12, 8))


def _given(rng: np.random.Generator, cohort: Cohort, days: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Who is vaccinated on ``days``: chance ``p``, and only within their window."""
    inside = (days >= cohort.start) & (days <= cohort.end)
    return inside & (rng.random(len(days)) < np.clip(p, 0, 0.97))


def immunisation_batch(
    rng: np.random.Generator, cohort: Cohort, subjects: list[Reference], ids: Ids
) -> Batch:
    n = len(cohort)
    everyone = np.arange(n)
    dep = cohort.demography.deprivation
    willing = np.clip(rng.normal(1.0, 0.25, n), 0.2, 1.3) * (1 - 0.2 * dep)
    at_risk = (
        cohort.conditions["diabetes"] | cohort.conditions["asthma"] | cohort.conditions["copd"]
    )
    who_parts, day_parts, kind_parts, dose_parts = [], [], [], []

    def record(mask: np.ndarray, days: np.ndarray, covid: bool, dose: np.ndarray) -> None:
        who_parts.append(np.flatnonzero(mask))
        day_parts.append(days[mask])
        kind_parts.append(np.full(int(mask.sum()), int(covid)))
        dose_parts.append(dose[mask])

    for year in range(2016, 2026):
        opens, closes = day(date(year, 9, 20)), day(date(year, 12, 15))
        days = uniform_days(rng, np.full(n, opens), np.full(n, closes))
        age = cohort.age_on(days, everyone)
        base = np.select(
            [age >= 65, (age >= 2) & (age < 11), (age >= 18) & at_risk], [0.75, 0.45, 0.45], 0.03
        )
        record(_given(rng, cohort, days, base * willing), days, False, np.ones(n, dtype=np.int64))

    age = cohort.age_on(np.full(n, FIRST_DOSES), everyone)
    adult_start = FIRST_DOSES + ((90 - np.clip(age, 18, 90)) / 72 * 220).astype(np.int64)
    teen = (age >= 11) & (age < 18)
    lo = np.where(teen, day(date(2021, 9, 1)), adult_start)
    hi = np.where(teen, day(date(2021, 12, 31)), adult_start + 45)
    first_day = uniform_days(rng, lo, hi)
    uptake = np.select([age >= 50, age >= 18, teen], [0.93, 0.8, 0.5], 0) - 0.1 * dep
    doses = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    first = _given(rng, cohort, first_day, uptake * willing)
    doses += first
    record(first, first_day, True, doses)
    last = np.where(first, first_day, last)

    second_day = first_day + rng.integers(56, 85, n)
    second = first & _given(rng, cohort, second_day, np.full(n, 0.95))
    doses += second
    record(second, second_day, True, doses)
    last = np.where(second, second_day, last)

    for booster in BOOSTERS:
        lo = np.maximum(day(booster.start), last + 90)
        hi = np.full(n, day(booster.end))
        when = uniform_days(rng, np.minimum(lo, hi), hi)
        old_enough = cohort.age_on(when, everyone) >= booster.min_age
        boosted = (doses > 0) & old_enough & (lo <= hi)
        boosted &= _given(rng, cohort, when, booster.uptake * willing)
        doses += boosted
        record(boosted, when, True, doses)
        last = np.where(boosted, when, last)

    who, days, kinds, dose_numbers = (
        np.concatenate(p) for p in (who_parts, day_parts, kind_parts, dose_parts)
    )
    order = order_by_person(who, days)
    vaccines = (v.FLU_VACCINE, v.COVID_VACCINE)
    people, kinds_in_order = who[order].tolist(), kinds[order].tolist()
    resources = []
    for iid, i, d, k, dose in zip(
        ids.take("imm", len(order)),
        people,
        days[order].tolist(),
        kinds_in_order,
        dose_numbers[order].tolist(),
        strict=True,
    ):
        resource = {
            "resourceType": "Immunization",
            "id": iid,
            "status": "completed",
            "vaccineCode": vaccines[k].concept,
            "patient": subjects[i],
            "occurrenceDateTime": iso(d),
            "primarySource": True,
            "protocolApplied": _protocol(k, dose),
        }
        resources.append(resource)
    batch = Batch("Immunization")
    batch.append(resources, people, faultable=True, codes=[vaccines[k] for k in kinds_in_order])
    return batch


@cache
def _protocol(covid: int, dose: int) -> orjson.Fragment:
    """Immunization.protocolApplied: the disease targeted and which dose this was."""
    target = (v.INFLUENZA, v.COVID_19)[covid].codeable_concept()
    return constant([{"targetDisease": [target], "doseNumberPositiveInt": dose}])
