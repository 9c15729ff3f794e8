"""Data-quality faults injected on purpose, so validation can be exercised and tested.

A fault rate r spoils about a fraction r of records, one thing per record, and every
kind appears at least once whenever r > 0. Faults are placed so that each is one
finding at load time and does not cascade: a Patient with a bad NHS number loses its
dependent records (they would otherwise all fail to resolve), records that others
point at (organisations, admissions with procedures, causes of death) are never
spoiled, and date faults go only on single-date events. ``_faults.json`` lists each
injected fault with its file and 1-based line so a test can check the loader catches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from fivesafes.synth.calendar import FUTURE_YEAR, STUDY_END, day, iso
from fivesafes.synth.people import Cohort
from fivesafes.synth.records import Batch, Resource
from fivesafes.synth.vocabulary import Code

FAULT_KINDS = (
    "bad_nhs_number",
    "future_date",
    "before_birth",
    "after_death",
    "unknown_code",
    "broken_reference",
    "duplicate_patient",
    "malformed_json",
)
PATIENT_KINDS = ("bad_nhs_number", "duplicate_patient")
EVENT_KINDS = tuple(k for k in FAULT_KINDS if k not in PATIENT_KINDS)

DATE_ELEMENT = {
    "Condition": "onsetDateTime",
    "Observation": "effectiveDateTime",
    "MedicationRequest": "authoredOn",
    "Procedure": "performedDateTime",
    "Immunization": "occurrenceDateTime",
}
"""Single-date resources, and their date, that date faults move."""
CODE_ELEMENT = {
    "Condition": "code",
    "Observation": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "Immunization": "vaccineCode",
}
UNKNOWN_SYSTEM = "http://read.info/readv2"
"""Read v2, the code system GP records used before SNOMED CT: a realistic wrong system."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault: its kind and where it is (``index`` into its batch)."""

    kind: str
    resource_type: str
    index: int
    id: str


def _set_subject(resource: Resource, reference: dict[str, str]) -> None:
    kind = resource["resourceType"]
    if kind == "Appointment":
        participants = list(resource["participant"])
        participants[0] = {**participants[0], "actor": reference}
        resource["participant"] = participants
    elif kind in ("Immunization", "EpisodeOfCare"):
        resource["patient"] = reference
    else:
        resource["subject"] = reference


def _spoil_code(rng: np.random.Generator, resource: Resource, code: Code) -> None:
    """Half the time a wrong code system, otherwise a wrong Verhoeff check digit."""
    concept = code.codeable_concept()
    coding = concept["coding"][0]
    if rng.random() < 0.5:
        coding["system"] = UNKNOWN_SYSTEM
    else:
        wrong = (int(code.code[-1]) + int(rng.integers(1, 10))) % 10
        coding["code"] = code.code[:-1] + str(wrong)
    resource[CODE_ELEMENT[resource["resourceType"]]] = concept


class FaultInjector:
    """Spoils the records of one chunk; ``population`` and ``chunk`` make ids that can never
    exist (``pat-<population + 1>-<chunk>-<n>``)."""

    def __init__(self, rng: np.random.Generator, rate: float, population: int, chunk: int) -> None:
        self.rng = rng
        self.rate = rate
        self.population = population
        self.chunk = chunk
        self._missing = 0

    def inject(self, cohort: Cohort, batches: dict[str, Batch], first_chunk: bool) -> list[Fault]:
        """Spoil records in ``batches`` in place; the Patient batch is ``batches["Patient"]``."""
        rng, rate = self.rng, self.rate
        patients = batches["Patient"]
        n = len(cohort)
        kinds = np.where(rng.random(n) < 0.5, 0, 1)
        spoiled = rng.random(n) < rate
        kinds = np.where(cohort.dead, 1, kinds)
        if first_chunk:
            for k in (0, 1):
                if not (spoiled & (kinds == k)).any():
                    pool = np.flatnonzero(~spoiled & (~cohort.dead if k == 0 else True))
                    if len(pool) == 0:
                        raise ValueError("too few patients to inject every kind of fault")
                    pick = int(pool[rng.integers(len(pool))])
                    spoiled[pick], kinds[pick] = True, k
        bad = spoiled & (kinds == 0)
        for batch in batches.values():
            if batch.resource_type != "Patient":
                batch.keep([p < 0 or not bad[p] for p in batch.patients])

        faults: list[Fault] = []
        for i in np.flatnonzero(spoiled).tolist():
            if bad[i]:
                resource = dict(patients.resources[i])
                digits = resource["identifier"][0]["value"]
                wrong = (int(digits[-1]) + int(rng.integers(1, 10))) % 10
                resource["identifier"] = [
                    {**resource["identifier"][0], "value": digits[:-1] + str(wrong)}
                ]
                patients.resources[i] = resource
                faults.append(Fault("bad_nhs_number", "Patient", i, resource["id"]))
        for i in np.flatnonzero(spoiled & ~bad).tolist():
            twin = {**patients.resources[i], "id": f"pat-dup-{cohort.first + i + 1}"}
            patients.append([twin], [i], faultable=False)
            faults.append(Fault("duplicate_patient", "Patient", len(patients) - 1, twin["id"]))
        faults.extend(self._events(cohort, batches, first_chunk))
        return faults

    def _eligible(self, cohort: Cohort, batch: Batch) -> np.ndarray:
        """Which event kinds (columns, EVENT_KINDS order) each record of ``batch`` may take."""
        faultable = np.array(batch.faultable, dtype=bool)
        who = np.array(batch.patients, dtype=np.int64)
        dated = faultable & (batch.resource_type in DATE_ELEMENT)
        room_after = cohort.dead[who] & (cohort.death[who] < STUDY_END)
        coded = faultable & np.array([c is not None for c in batch.codes], dtype=bool)
        coded &= batch.resource_type in CODE_ELEMENT
        columns = {
            "future_date": dated,
            "before_birth": dated,
            "after_death": dated & room_after,
            "unknown_code": coded,
            "broken_reference": faultable,
            "malformed_json": faultable,
        }
        return np.column_stack([columns[k] for k in EVENT_KINDS])

    def _events(self, cohort: Cohort, batches: dict[str, Batch], first_chunk: bool) -> list[Fault]:
        rng = self.rng
        events = [b for b in batches.values() if b.resource_type != "Patient"]
        eligible = [self._eligible(cohort, b) for b in events]
        chosen = []
        for b, elig in enumerate(eligible):
            rows = np.flatnonzero(elig.any(axis=1) & (rng.random(len(elig)) < self.rate))
            for row in rows.tolist():
                options = np.flatnonzero(elig[row])
                chosen.append((b, row, int(options[rng.integers(len(options))])))
        if first_chunk:
            taken = {(b, row) for b, row, _ in chosen}
            for k in range(len(EVENT_KINDS)):
                if any(kind == k for _, _, kind in chosen):
                    continue
                pool = [
                    (b, row)
                    for b, elig in enumerate(eligible)
                    for row in np.flatnonzero(elig[:, k]).tolist()
                    if (b, row) not in taken
                ]
                if not pool:
                    raise ValueError(
                        f"too few patients to inject a {EVENT_KINDS[k]} fault; use more patients"
                    )
                b, row = pool[int(rng.integers(len(pool)))]
                chosen.append((b, row, k))
                taken.add((b, row))
        faults = []
        for b, row, k in sorted(chosen):
            batch, kind = events[b], EVENT_KINDS[k]
            resource = dict(batch.resources[row])
            self._spoil(kind, resource, cohort, batch.patients[row], batch.codes[row])
            batch.resources[row] = resource
            faults.append(Fault(kind, batch.resource_type, row, resource["id"]))
        return faults

    def _spoil(
        self, kind: str, resource: Resource, cohort: Cohort, person: int, code: Code | None
    ) -> None:
        """Spoil one thing in ``resource`` (a shallow copy: nested parts are replaced, never
        edited, because records share them)."""
        rng = self.rng
        element = DATE_ELEMENT.get(resource["resourceType"], "")
        if kind == "future_date":
            resource[element] = iso(day(date(FUTURE_YEAR, 1, 1)) + int(rng.integers(0, 365)))
        elif kind == "before_birth":
            resource[element] = iso(int(cohort.birth[person]) - int(rng.integers(1, 366)))
        elif kind == "after_death":
            death = int(cohort.death[person])
            resource[element] = iso(death + int(rng.integers(1, min(60, STUDY_END - death) + 1)))
        elif kind == "unknown_code" and code is not None:
            _spoil_code(rng, resource, code)
        elif kind == "broken_reference":
            self._missing += 1
            missing = f"Patient/pat-{self.population + 1}-{self.chunk + 1}-{self._missing}"
            _set_subject(resource, {"reference": missing})
