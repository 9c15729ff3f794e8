"""People aged 65 and over discharged from hospital in the three years from April 2022, each
with their first such discharge (aged 65 or over on the day of it, as ASCOF 2B counts older
people at discharge: age on the first day of the period would leave out everyone who turned 65
during it, and its total lay within a few people of the asthma study's released total at the
demo's 5,000 patients, which the differencing check rightly refuses), their first adult social care service that began on or after
it and the days from discharge to it, and whether they were admitted again within 30 days.

Health and social care meet here only through ``patient_id``: the local authorities' client
level data were pseudonymised with the same key as the health records when they were loaded,
so no NHS number is needed, or seen.
"""

from datetime import date

from fivesafes.query import Dataset, days
from fivesafes.tables import (
    hospital_admissions,
    patients,
    practice_registrations,
    social_care_events,
)

START, END = date(2022, 4, 1), date(2025, 3, 31)

spells = hospital_admissions.where(
    hospital_admissions.discharge_date.is_during((START.isoformat(), END.isoformat()))
)
first = spells.sort_by(spells.discharge_date).first_for_patient()
discharged = first.discharge_date
registration = practice_registrations.for_patient_on(START.isoformat())

dataset = Dataset()
dataset.define_population(
    spells.exists_for_patient() & (patients.age_on(discharged) >= 65)
    & registration.exists_for_patient()
)  # fmt: skip
dataset.imd_decile = registration.imd_decile
# where the person lives (their address's council): the authority whose adult social care
# they would turn to, whichever practice they are registered with
dataset.local_authority_code = registration.local_authority_code
dataset.discharged = discharged
care = social_care_events
services = care.where((care.event_type == "Service") & care.event_start_date.is_on_or_after(
    discharged))  # fmt: skip
first_service = services.sort_by(services.event_start_date).first_for_patient()\
    .event_start_date  # fmt: skip
dataset.first_service = first_service
dataset.days_to_first_service = first_service.difference_in_days(discharged)
again = hospital_admissions.where(
    hospital_admissions.admission_date.is_after(discharged)
    & hospital_admissions.admission_date.is_on_or_before(discharged + days(30))
)
dataset.readmitted = again.exists_for_patient()
dataset.configure_dummy_data(population_size=300)
