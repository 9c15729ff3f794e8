"""Daily wearable measurements shared by the people who consented to share them.

About one adult in ten (more of the young) shares a run of 3-7 consecutive days
from 2024 onwards: steps, sleep minutes and resting heart rate, each day. Levels
follow the person: fewer steps with age, COPD and deprivation; a higher resting
heart rate with deprivation and diabetes.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import day, iso, uniform_days
from fivesafes.synth.people import Cohort
from fivesafes.synth.records import Batch, Ids, Reference, category, quantity

SHARING_FROM = day(date(2024, 1, 1))
ACTIVITY = category("activity")
KINDS = (
    (v.STEPS, ("steps", "/d")),
    (v.SLEEP, ("min", "min")),
    (v.RESTING_HEART_RATE, ("beats/min", "/min")),
)


def wearable_batch(
    rng: np.random.Generator, cohort: Cohort, subjects: list[Reference], ids: Ids
) -> Batch:
    n = len(cohort)
    runs = rng.integers(3, 8, n)
    lo = np.maximum(cohort.start, SHARING_FROM)
    hi = cohort.end - runs + 1
    sharing = np.flatnonzero(cohort.wearable_consent & (lo <= hi))
    first_day = uniform_days(rng, lo[sharing], hi[sharing])
    age, dep = cohort.age[sharing], cohort.demography.deprivation[sharing]
    c = {name: has[sharing] for name, has in cohort.conditions.items()}
    steps = np.clip(
        rng.normal(8500 - 45 * (age - 40) - 1500 * dep - 2500 * c["copd"], 2200), 800, None
    )
    sleep = rng.normal(425, 35, len(sharing))
    heart = rng.normal(64 + 4 * dep + 3 * c["diabetes"], 6)
    resources, people = [], []
    for i, start, length, s, z, h in zip(
        sharing.tolist(),
        first_day.tolist(),
        runs[sharing].tolist(),
        steps.tolist(),
        sleep.tolist(),
        heart.tolist(),
        strict=True,
    ):
        daily = (
            np.clip(s * rng.lognormal(0, 0.3, length), 0, 60_000).round(),
            np.clip(z + rng.normal(0, 45, length), 120, 780).round(),
            np.clip(h + rng.normal(0, 2.5, length), 38, 120).round(),
        )
        oids = iter(ids.take("obs", 3 * length))
        for offset in range(length):
            when = iso(start + offset)
            for (code, unit), values in zip(KINDS, daily, strict=True):
                resource = {
                    "resourceType": "Observation",
                    "id": next(oids),
                    "status": "final",
                    "category": ACTIVITY,
                    "code": code.concept,
                    "subject": subjects[i],
                    "effectiveDateTime": when,
                    "valueQuantity": quantity(int(values[offset]), *unit),
                }
                resources.append(resource)
                people.append(i)
    batch = Batch("Observation")
    batch.append(resources, people, faultable=True)
    return batch
