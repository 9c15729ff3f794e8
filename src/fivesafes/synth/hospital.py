"""Hospital activity: inpatient admissions (with procedures) and A&E attendances.

Admission rates rise with age, deprivation and the number of long-term conditions;
people with asthma, COPD or diabetes have emergency admissions for them. Every
emergency admission arrives through A&E (an attendance the same day, outcome
"admitted"); other attendances end in discharge. Elective admissions carry the
procedure they were for, so OPCS-4 codes match ICD-10 diagnoses.
"""

from __future__ import annotations

import numpy as np

from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import STUDY_END, iso, years_between
from fivesafes.synth.geography import Geography
from fivesafes.synth.people import Cohort
from fivesafes.synth.prevalence import CONDITION_CODES, CONDITION_NAMES
from fivesafes.synth.primary_care import spread
from fivesafes.synth.records import (
    LOCAL_CODES,
    Batch,
    Ids,
    Reference,
    Resource,
    constant,
    local_concept,
    references,
)

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INPATIENT = constant({"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"})
EMERGENCY = constant({"system": ACT_CODE, "code": "EMER", "display": "emergency"})
AE_OUTCOME = LOCAL_CODES + "ae-outcome"
METHODS = ("elective", "emergency", "maternity", "transfer")
METHOD_CONCEPTS = tuple(local_concept("admission-method", m) for m in METHODS)
ADMITTED = constant(
    {"dischargeDisposition": {"coding": [{"system": AE_OUTCOME, "code": "admitted"}]}}
)
DISCHARGED = constant(
    {"dischargeDisposition": {"coding": [{"system": AE_OUTCOME, "code": "discharged"}]}}
)

_OLDER_EMERGENCY = np.array([1.5, 1.3, 1.0, 0.8, 2.5, 1.5, 1.8, 2.5, 0.2, 1.0])
_YOUNGER_EMERGENCY = np.array([0.6, 0.7, 1.2, 1.4, 0.1, 0.6, 0.4, 0.2, 2.5, 1.0])
_OLDER_ELECTIVE = np.array([1.5, 1.5, 1.5, 1.0, 1.0, 1.0, 1.0])
_YOUNGER_ELECTIVE = np.array([0.05, 0.1, 0.1, 1.0, 1.0, 0.8, 1.0])


def choose(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of ``weights`` (rows need not sum to one)."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def _reasons(
    rng: np.random.Generator, method: np.ndarray, age: np.ndarray, chronic: list[str | None]
) -> list[v.AdmissionReason]:
    older = (age >= 65)[:, None]
    emergency = choose(
        rng, np.where(older, _OLDER_EMERGENCY, _YOUNGER_EMERGENCY) * v.EMERGENCY_WEIGHTS
    )
    elective = choose(
        rng, np.where((age >= 55)[:, None], _OLDER_ELECTIVE, _YOUNGER_ELECTIVE) * v.ELECTIVE_WEIGHTS
    )
    maternity = choose(rng, np.tile(v.MATERNITY_WEIGHTS, (len(method), 1)))
    reasons = []
    for m, em, el, ma, condition in zip(
        method.tolist(), emergency.tolist(), elective.tolist(), maternity.tolist(), chronic,
        strict=True,
    ):  # fmt: skip
        if m == 0:
            reasons.append(v.ELECTIVE[el])
        elif m == 2:
            reasons.append(v.MATERNITY[ma])
        elif condition is not None:
            reasons.append(v.CONDITION_EMERGENCY[condition])
        else:
            reasons.append(v.EMERGENCY[em])
    return reasons


def hospital_batches(
    rng: np.random.Generator,
    cohort: Cohort,
    geo: Geography,
    subjects: list[Reference],
    ids: Ids,
) -> tuple[Batch, Batch]:
    """Encounter (admissions and A&E attendances, in person and date order) and Procedure."""
    age, dep = cohort.age, cohort.demography.deprivation
    rate = np.exp(-2.9 + 0.03 * (age - 40) + 0.5 * dep + 0.25 * cohort.condition_count())
    counts = np.minimum(rng.poisson(rate * years_between(cohort.start, cohort.end + 1)), 15)
    who, days = spread(rng, counts, cohort.start, cohort.end)
    n = len(who)
    age_then = cohort.age_on(days, who)
    childbearing = (cohort.demography.sex[who] == 0) & (age_then >= 18) & (age_then < 45)
    u = rng.random(n)
    method = np.where(u < 0.45, 0, np.where(u < 0.95, 1, 3))
    method = np.where(childbearing & (rng.random(n) < 0.3), 2, method)
    chronic: list[str | None] = [None] * n
    for name in ("asthma", "copd", "diabetes"):
        flare = (
            (method == 1)
            & cohort.conditions[name][who]
            & (cohort.onset[name][who] <= days)
            & (rng.random(n) < 0.3)
        )
        for k in np.flatnonzero(flare).tolist():
            chronic[k] = name
    reasons = _reasons(rng, method, age_then, chronic)
    stay = np.where(
        method == 0,
        np.where(rng.random(n) < 0.6, 0, rng.geometric(0.4, n)),
        np.where(method == 2, rng.geometric(0.5, n), rng.geometric(1 / (4 + age_then / 20), n)),
    )
    leave = np.minimum(days + stay, cohort.death[who])
    procedure_roll = rng.random(n)

    ae_rate = np.exp(-2.5 + np.where(age < 5, 0.5, 0) + 0.02 * np.maximum(age - 65, 0) + 0.6 * dep)
    ae_counts = np.minimum(rng.poisson(ae_rate * years_between(cohort.start, cohort.end + 1)), 20)
    ae_who, ae_days = spread(rng, ae_counts, cohort.start, cohort.end)
    ae_diagnosis = choose(rng, np.tile(v.AE_COMMON_WEIGHTS, (len(ae_who), 1)))
    ae_coded = rng.random(len(ae_who)) < 0.9

    via_ae = np.flatnonzero((method == 1) | (method == 3))
    all_who = np.concatenate([who, who[via_ae], ae_who])
    all_days = np.concatenate([days, days[via_ae], ae_days])
    kind = np.concatenate([np.ones(n), np.zeros(len(via_ae) + len(ae_who))])
    source = np.concatenate([np.arange(n), via_ae, -1 - np.arange(len(ae_who))])
    order = np.lexsort((kind, all_days, all_who))

    encounters, procedures = Batch("Encounter"), Batch("Procedure")
    providers = references("Organization", [t.code for t in geo.trusts])
    diagnoses = {name: CONDITION_CODES[name][1].concept for name in CONDITION_NAMES}
    encounter_ids = ids.take("enc", len(order))
    for eid, j in zip(encounter_ids, order.tolist(), strict=True):
        i, d, src = int(all_who[j]), int(all_days[j]), int(source[j])
        resource: Resource = {"resourceType": "Encounter", "id": eid, "status": "finished"}
        provider = providers[cohort.trust[i]]
        if kind[j] == 0:
            resource["class"] = EMERGENCY
            resource["subject"] = subjects[i]
            resource["period"] = {"start": iso(d), "end": iso(d)}
            if src >= 0:
                presentation: v.Code | None = reasons[src].presentation
                resource["hospitalization"] = ADMITTED
            else:
                k = -1 - src
                presentation = v.AE_COMMON[ae_diagnosis[k]] if ae_coded[k] else None
                resource["hospitalization"] = DISCHARGED
            if presentation is not None:
                resource["reasonCode"] = [presentation.concept]
            resource["serviceProvider"] = provider
            encounters.append([resource], [i], faultable=True)
            continue
        reason = reasons[src]
        end = int(leave[src])
        resource["class"] = INPATIENT
        resource["type"] = [METHOD_CONCEPTS[method[src]]]
        resource["subject"] = subjects[i]
        resource["period"] = {"start": iso(d)}
        if end > STUDY_END:
            resource["status"] = "in-progress"
        else:
            resource["period"]["end"] = iso(end)
        secondary = [
            diagnoses[name]
            for name in CONDITION_NAMES
            if cohort.conditions[name][i] and cohort.onset[name][i] <= d
        ]
        resource["reasonCode"] = [reason.diagnosis.concept, *secondary]
        resource["serviceProvider"] = provider
        procedure = reason.procedure if procedure_roll[src] < reason.procedure_rate else None
        encounters.append([resource], [i], faultable=procedure is None)
        if procedure is not None:
            procedures.append(
                [
                    {
                        "resourceType": "Procedure",
                        "id": ids.take("pro", 1)[0],
                        "status": "completed",
                        "code": procedure.concept,
                        "subject": subjects[i],
                        "encounter": {"reference": f"Encounter/{eid}"},
                        "performedDateTime": iso(d),
                    }
                ],
                [i],
                faultable=True,
            )
    return encounters, procedures
