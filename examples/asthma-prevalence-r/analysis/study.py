"""Who is in the study and what we need to know about each person.

Everyone registered with a practice and alive on the index date; for each, their
age, sex, deprivation decile and whether asthma had been recorded by then.
"""

from fivesafes.query import Dataset, codelist_from_csv
from fivesafes.tables import clinical_events, patients, practice_registrations

INDEX_DATE = "2024-01-01"

asthma_codes = codelist_from_csv("analysis/codelists/asthma.csv", column="code")
registration = practice_registrations.for_patient_on(INDEX_DATE)
asthma_events = clinical_events.where(
    clinical_events.snomedct_code.is_in(asthma_codes)
    & clinical_events.date.is_on_or_before(INDEX_DATE)
)

dataset = Dataset()
dataset.define_population(registration.exists_for_patient() & patients.is_alive_on(INDEX_DATE))
dataset.age = patients.age_on(INDEX_DATE)
dataset.sex = patients.sex
dataset.imd_decile = registration.imd_decile
dataset.has_asthma = asthma_events.exists_for_patient()
dataset.configure_dummy_data(population_size=2000)
