"""Who is in the study, and what it needs to know about each person.

Everyone registered with a GP practice and alive on the index date; for each, their age, sex,
and whether hypertension had been recorded by then. Change the question here (see
docs/language.md), and list in application.toml every table and column it reads.
"""

from fivesafes import Dataset, codelist_from_csv
from fivesafes.tables import clinical_events, patients, practice_registrations

INDEX_DATE = "2025-01-01"

hypertension_codes = codelist_from_csv("analysis/codelists/hypertension.csv", column="code")
registered = practice_registrations.for_patient_on(INDEX_DATE)
recorded = clinical_events.where(
    clinical_events.snomedct_code.is_in(hypertension_codes)
    & clinical_events.date.is_on_or_before(INDEX_DATE)
)

dataset = Dataset()
dataset.define_population(registered.exists_for_patient() & patients.is_alive_on(INDEX_DATE))
dataset.age = patients.age_on(INDEX_DATE)
dataset.sex = patients.sex
dataset.has_hypertension = recorded.exists_for_patient()
dataset.configure_dummy_data(population_size=10_000)  # enough that no cell of the table is small
