"""Patient, GP registration (EpisodeOfCare) and cause-of-death resources for a cohort."""

from __future__ import annotations

from fivesafes.model.codes import NHS_NUMBER_SYSTEM
from fivesafes.synth import vocabulary as v
from fivesafes.synth.calendar import iso
from fivesafes.synth.geography import Geography
from fivesafes.synth.people import Cohort
from fivesafes.synth.records import Batch, Ids, Reference, local_concept

ETHNICITY_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
LSOA_EXTENSION = "https://fivesafes.org/fhir/StructureDefinition/lsoa"
GENDERS = ("female", "male", "unknown")
GP_REGISTRATION = local_concept("episode-type", "gp-registration")


def patient_batch(cohort: Cohort, geo: Geography) -> Batch:
    resources = []
    d = cohort.demography
    current = [
        int(n) if m else int(p)
        for p, n, m in zip(cohort.practice, cohort.new_practice, cohort.moved, strict=True)
    ]
    for i, pid in enumerate(cohort.ids):
        resource = {
            "resourceType": "Patient",
            "id": pid,
            "extension": [
                {
                    "url": ETHNICITY_EXTENSION,
                    "valueCodeableConcept": v.ETHNIC_CODES[d.ethnicity[i]].concept,
                }
            ],
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": cohort.nhs_numbers[i]}],
            "gender": GENDERS[d.sex[i]],
            "birthDate": iso(int(cohort.birth[i])),
        }
        if cohort.dead[i]:
            resource["deceasedDateTime"] = iso(int(cohort.death[i]))
        resource["address"] = [
            {
                "extension": [{"url": LSOA_EXTENSION, "valueCode": geo.lsoa_codes[cohort.lsoa[i]]}],
                "postalCode": cohort.postcodes[i],
            }
        ]
        resource["generalPractitioner"] = [
            {"reference": f"Organization/{geo.practices[current[i]].code}"}
        ]
        resources.append(resource)
    batch = Batch("Patient")
    batch.append(resources, list(range(len(cohort))), faultable=True)
    return batch


def registration_batch(
    cohort: Cohort, geo: Geography, subjects: list[Reference], ids: Ids
) -> Batch:
    """One EpisodeOfCare per registration: most people one, movers two (the first finished)."""
    periods: list[tuple[int, int, int, int | None]] = []
    for i in range(len(cohort)):
        end_of_life = int(cohort.death[i]) if cohort.dead[i] else None
        if cohort.moved[i]:
            move = int(cohort.move_day[i])
            periods.append((i, int(cohort.practice[i]), int(cohort.registered[i]), move - 1))
            periods.append((i, int(cohort.new_practice[i]), move, end_of_life))
        else:
            periods.append((i, int(cohort.practice[i]), int(cohort.registered[i]), end_of_life))
    resources = []
    for eid, (i, practice, start, end) in zip(ids.take("eoc", len(periods)), periods, strict=True):
        period = {"start": iso(start)}
        if end is not None:
            period["end"] = iso(end)
        resource = {
            "resourceType": "EpisodeOfCare",
            "id": eid,
            "status": "active" if end is None else "finished",
            "type": [GP_REGISTRATION],
            "patient": subjects[i],
            "managingOrganization": {"reference": f"Organization/{geo.practices[practice].code}"},
            "period": period,
        }
        resources.append(resource)
    batch = Batch("EpisodeOfCare")
    batch.append(resources, [p[0] for p in periods], faultable=True)
    return batch


def death_batch(cohort: Cohort, subjects: list[Reference], ids: Ids) -> Batch:
    """The registered underlying cause of each death, as an Observation on the day of death."""
    dead = [i for i in range(len(cohort)) if cohort.dead[i]]
    resources = [
        {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "code": v.CAUSE_OF_DEATH.concept,
            "subject": subjects[i],
            "effectiveDateTime": iso(int(cohort.death[i])),
            "valueCodeableConcept": v.DEATH_CAUSES[cohort.cause[i]].concept,
        }
        for oid, i in zip(ids.take("obs", len(dead)), dead, strict=True)
    ]
    batch = Batch("Observation")
    batch.append(resources, dead, faultable=False)
    return batch
