"""GP records: diagnoses, measurements, smoking status, prescriptions and appointments.

Volumes are thinned from real life (a diabetic has a handful of HbA1c results and
metformin issues in ten years here, not dozens) to keep the output around 10-20
event records per person; the *relationships* are kept: measurements follow
conditions (diabetics have HbA1c, hypertensives more blood pressures), prescriptions
follow diagnoses and start after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson

from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import STUDY_END, YEAR, day, iso, uniform_days, years_between
from fivesafes.synth.people import Cohort
from fivesafes.synth.prevalence import CONDITION_CODES, CONDITION_NAMES
from fivesafes.synth.records import (
    Batch,
    Ids,
    Reference,
    category,
    constant,
    order_by_person,
    quantity,
)

_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
ACTIVE = constant({"coding": [{"system": _TERMINOLOGY + "condition-clinical", "code": "active"}]})
CONFIRMED = constant(
    {"coding": [{"system": _TERMINOLOGY + "condition-ver-status", "code": "confirmed"}]}
)
PROBLEM_LIST = constant(
    [{"coding": [{"system": _TERMINOLOGY + "condition-category", "code": "problem-list-item"}]}]
)
APPOINTMENTS_FROM = day(date(2024, 1, 1))
"""Appointments are generated for the last two years of the study only."""
SLOT_STARTS = [f"T{8 + t // 6:02d}:{t % 6 * 10:02d}:00Z" for t in range(60)]
SLOT_ENDS = [f"T{8 + t // 6:02d}:{t % 6 * 10 + 9:02d}:59Z" for t in range(60)]
"""Ten-minute appointment slots from 08:00 to 17:59, as instants (UTC)."""


def window_from_age(cohort: Cohort, min_age: float) -> tuple[np.ndarray, np.ndarray]:
    """The part of each person's window from the day they reach ``min_age``."""
    lo = np.maximum(cohort.start, cohort.birth + int(np.ceil(min_age * YEAR)))
    return lo, cohort.end


def spread(
    rng: np.random.Generator, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` days in ``[lo[i], hi[i]]`` for each person i (people with lo > hi get none)."""
    counts = np.where(lo <= hi, counts, 0)
    who = np.repeat(np.arange(len(counts)), counts)
    return who, uniform_days(rng, lo[who], hi[who])


def condition_batch(cohort: Cohort, subjects: list[Reference], ids: Ids) -> Batch:
    """One Condition per diagnosed long-term condition, dated at diagnosis."""
    who_parts, day_parts, kind_parts = [], [], []
    for k, name in enumerate(CONDITION_NAMES):
        has = np.flatnonzero(cohort.conditions[name])
        who_parts.append(has)
        day_parts.append(cohort.onset[name][has])
        kind_parts.append(np.full(len(has), k))
    who, days, kind = (np.concatenate(p) for p in (who_parts, day_parts, kind_parts))
    order = order_by_person(who, days)
    codes = [CONDITION_CODES[name][0] for name in CONDITION_NAMES]
    people, kinds = who[order].tolist(), kind[order].tolist()
    resources = []
    for cid, i, d, k in zip(
        ids.take("con", len(order)),
        people,
        days[order].tolist(),
        kinds,
        strict=True,
    ):
        resource = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": ACTIVE,
            "verificationStatus": CONFIRMED,
            "category": PROBLEM_LIST,
            "code": codes[k].concept,
            "subject": subjects[i],
            "onsetDateTime": iso(d),
        }
        resources.append(resource)
    batch = Batch("Condition")
    batch.append(resources, people, faultable=True, codes=[codes[k] for k in kinds])
    return batch


@dataclass(frozen=True, slots=True)
class Measure:
    """An Observation kind: its code, category and unit (None: a coded finding, no value)."""

    code: v.Code
    category: orjson.Fragment
    unit: tuple[str, str] | None
    decimals: int = 0


MEASURES = (
    Measure(v.BMI, category("exam"), ("kg/m2", "kg/m2"), 1),
    Measure(v.SYSTOLIC, category("vital-signs"), ("mmHg", "mm[Hg]")),
    Measure(v.DIASTOLIC, category("vital-signs"), ("mmHg", "mm[Hg]")),
    Measure(v.HBA1C, category("laboratory"), ("mmol/mol", "mmol/mol")),
    *(Measure(code, category("social-history"), None) for code in v.SMOKING),
)
BMI, SYSTOLIC, DIASTOLIC, HBA1C, SMOKING = 0, 1, 2, 3, 4


def observation_batch(
    rng: np.random.Generator, cohort: Cohort, subjects: list[Reference], ids: Ids
) -> Batch:
    """BMI, blood pressure, HbA1c and smoking status records (everyone 40+ has a BP)."""
    n = len(cohort)
    c = cohort.conditions
    ncond = cohort.condition_count()
    dep = cohort.demography.deprivation
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    lo, hi = window_from_age(cohort, 18)
    bmi_level = rng.normal(26.8 + 1.5 * dep + 3.5 * c["diabetes"] + 1.5 * c["hypertension"], 4.6)
    who, days = spread(rng, rng.poisson(0.6 + 0.6 * ncond), lo, hi)
    values = np.clip(bmi_level[who] + rng.normal(0, 0.8, len(who)), 14, 70)
    parts.append((who, days, np.full(len(who), BMI), values))

    lo, hi = window_from_age(cohort, 30)
    counts = rng.poisson(0.7 + 1.5 * c["hypertension"] + 0.8 * c["diabetes"])
    counts = np.where(cohort.age_on(hi, np.arange(n)) >= 40, np.maximum(counts, 1), counts)
    age = cohort.age
    sys_level = 117 + 0.45 * (age - 40) + 14 * c["hypertension"] + rng.normal(0, 11, n)
    who, days = spread(rng, counts, lo, hi)
    systolic = np.clip(sys_level[who] + rng.normal(0, 8, len(who)), 80, 230).round()
    diastolic = np.clip(0.5 * systolic + 12 + rng.normal(0, 6, len(who)), 40, 140).round()
    both_who, both_days = np.repeat(who, 2), np.repeat(days, 2)
    kinds = np.tile([SYSTOLIC, DIASTOLIC], len(who))
    parts.append((both_who, both_days, kinds, np.column_stack([systolic, diastolic]).ravel()))

    lo, hi = window_from_age(cohort, 18)
    diabetic = c["diabetes"]
    lo = np.where(diabetic, np.maximum(lo, cohort.onset["diabetes"]), lo)
    rate = np.where(diabetic, np.minimum(rng.poisson(0.8 * years_between(lo, hi)), 10), 0)
    rate = np.where(~diabetic & (age >= 40), rng.random(n) < 0.25, rate)
    level = np.where(diabetic, rng.normal(58, 11, n), rng.normal(37, 4, n))
    who, days = spread(rng, rate.astype(np.int64), lo, hi)
    values = np.clip(level[who] + rng.normal(0, 4, len(who)), 20, 150).round()
    parts.append((who, days, np.full(len(who), HBA1C), values))

    lo, hi = window_from_age(cohort, 16)
    counts = np.where(rng.random(n) < 0.8, 1 + rng.poisson(0.3, n), 0)
    who, days = spread(rng, counts, lo, hi)
    parts.append((who, days, SMOKING + cohort.smoking[who], np.zeros(len(who))))

    who, days, kinds, values = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = order_by_person(who, days)
    people, kinds_in_order = who[order].tolist(), kinds[order].tolist()
    resources = []
    for oid, i, d, k, x in zip(
        ids.take("obs", len(order)),
        people,
        days[order].tolist(),
        kinds_in_order,
        values[order].tolist(),
        strict=True,
    ):
        m = MEASURES[k]
        resource = {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "category": m.category,
            "code": m.code.concept,
            "subject": subjects[i],
            "effectiveDateTime": iso(d),
        }
        if m.unit is not None:
            value = round(x, m.decimals) if m.decimals else int(x)
            resource["valueQuantity"] = quantity(value, *m.unit)
        resources.append(resource)
    batch = Batch("Observation")
    batch.append(
        resources, people, faultable=True, codes=[MEASURES[k].code for k in kinds_in_order]
    )
    return batch


PRESCRIBING = (
    (v.METFORMIN, {"diabetes": 0.85}),
    (v.ATORVASTATIN, {"diabetes": 0.6, "hypertension": 0.35}),
    (v.RAMIPRIL, {"hypertension": 0.5}),
    (v.AMLODIPINE, {"hypertension": 0.45}),
    (v.SALBUTAMOL, {"asthma": 0.85, "copd": 0.8}),
    (v.SERTRALINE, {"depression": 0.35}),
    (v.CITALOPRAM, {"depression": 0.25}),
)
"""Each drug and the chance that someone with each indicating condition is prescribed it."""
ISSUES_PER_YEAR = 1.2
MAX_ISSUES = 12


def medication_batch(
    rng: np.random.Generator, cohort: Cohort, subjects: list[Reference], ids: Ids
) -> Batch:
    """Prescription issues from diagnosis (or the study start) to the end of the window."""
    n = len(cohort)
    who_parts, day_parts, drug_parts = [], [], []
    for k, (_, indications) in enumerate(PRESCRIBING):
        treated = np.zeros(n, dtype=bool)
        since = np.full(n, STUDY_END + 1)
        for condition, chance in indications.items():
            gets = cohort.conditions[condition] & (rng.random(n) < chance)
            treated |= gets
            since = np.where(gets, np.minimum(since, cohort.onset[condition]), since)
        lo = np.maximum(since, cohort.start)
        counts = np.where(treated, rng.poisson(ISSUES_PER_YEAR * years_between(lo, cohort.end)), 0)
        who, days = spread(rng, np.minimum(counts, MAX_ISSUES), lo, cohort.end)
        who_parts.append(who)
        day_parts.append(days)
        drug_parts.append(np.full(len(who), k))
    who, days, drugs = (np.concatenate(p) for p in (who_parts, day_parts, drug_parts))
    order = order_by_person(who, days)
    people, drugs_in_order = who[order].tolist(), drugs[order].tolist()
    resources = []
    for mid, i, d, k in zip(
        ids.take("med", len(order)),
        people,
        days[order].tolist(),
        drugs_in_order,
        strict=True,
    ):
        resource = {
            "resourceType": "MedicationRequest",
            "id": mid,
            "status": "completed",
            "intent": "order",
            "medicationCodeableConcept": PRESCRIBING[k][0].concept,
            "subject": subjects[i],
            "authoredOn": iso(d),
        }
        resources.append(resource)
    batch = Batch("MedicationRequest")
    codes = [PRESCRIBING[k][0] for k in drugs_in_order]
    batch.append(resources, people, faultable=True, codes=codes)
    return batch


def appointment_batch(
    rng: np.random.Generator,
    cohort: Cohort,
    subjects: list[Reference],
    gp_services: list[Reference],
    ids: Ids,
) -> Batch:
    """GP appointments in the last two study years; outcomes worse with deprivation."""
    age = cohort.age
    rate = 1.0 * (1 + 0.4 * cohort.condition_count()) * np.where((age < 5) | (age >= 65), 1.5, 1.0)
    lo = np.maximum(cohort.start, APPOINTMENTS_FROM)
    who, days = spread(rng, rng.poisson(rate * years_between(lo, cohort.end + 1)), lo, cohort.end)
    order = order_by_person(who, days)
    who, days = who[order], days[order]
    m = len(who)
    noshow = 0.03 + 0.04 * cohort.demography.deprivation[who]
    u = rng.random(m)
    status = np.where(u < noshow, 1, np.where(u < noshow + 0.05, 2, 0))
    status = np.where((days > STUDY_END - 7) & (rng.random(m) < 0.5), 3, status)
    lead = np.minimum(rng.geometric(0.15, m) - 1, 28)
    created = np.maximum(days - lead, cohort.birth[who])
    slot = rng.integers(0, 60, m)
    practice = cohort.practice_on(days, who)
    statuses = ("fulfilled", "noshow", "cancelled", "booked")
    people = who.tolist()
    resources = []
    for aid, i, d, s, c, t, p in zip(
        ids.take("app", m),
        people,
        days.tolist(),
        status.tolist(),
        created.tolist(),
        slot.tolist(),
        practice.tolist(),
        strict=True,
    ):
        date_text = iso(d)
        resource = {
            "resourceType": "Appointment",
            "id": aid,
            "status": statuses[s],
            "created": iso(c),
            "start": date_text + SLOT_STARTS[t],
            "end": date_text + SLOT_ENDS[t],
            "participant": [
                {"actor": subjects[i], "status": "accepted"},
                {"actor": gp_services[p], "status": "accepted"},
            ],
        }
        resources.append(resource)
    batch = Batch("Appointment")
    batch.append(resources, people, faultable=True)
    return batch
