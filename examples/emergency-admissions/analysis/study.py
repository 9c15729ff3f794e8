"""Who is in the study and what we need, month by month, for the board measures.

Everyone registered with a practice at the start of the year. For each of twelve months: were
they registered on its first day, how many emergency admissions began in it, had diabetes been
recorded by its last day, and was HbA1c recorded in the twelve months up to its last day. Region
comes from the registration at the start of the year (ICB is not in the data model, so region
stands in for it); nothing else about the person is extracted, since no measure needs it. The
measures themselves are counted in ``measures.py``.
"""

from datetime import date, timedelta

from fivesafes.query import Dataset, codelist_from_csv
from fivesafes.tables import clinical_events, hospital_admissions, patients, practice_registrations

START = date(2023, 4, 1)
MONTHS = 12

diabetes_codes = codelist_from_csv("analysis/codelists/diabetes.csv", column="code")
hba1c_codes = codelist_from_csv("analysis/codelists/hba1c.csv", column="code")


def month_start(i: int) -> date:
    return date(START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1)


registration = practice_registrations.for_patient_on(START.isoformat())
emergency = hospital_admissions.where(hospital_admissions.admission_method == "emergency")
diabetes = clinical_events.where(clinical_events.snomedct_code.is_in(diabetes_codes))
hba1c = clinical_events.where(clinical_events.snomedct_code.is_in(hba1c_codes))

dataset = Dataset()
dataset.define_population(
    registration.exists_for_patient() & patients.is_alive_on(START.isoformat())
)
dataset.region = registration.region
for i in range(MONTHS):
    first = month_start(i).isoformat()
    last = (month_start(i + 1) - timedelta(days=1)).isoformat()
    year_before = (month_start(i + 1).replace(year=month_start(i + 1).year - 1)).isoformat()
    setattr(
        dataset,
        f"registered_{i:02d}",
        practice_registrations.for_patient_on(first).exists_for_patient(),
    )
    setattr(
        dataset,
        f"admissions_{i:02d}",
        emergency.where(emergency.admission_date.is_during((first, last))).count_for_patient(),
    )
    setattr(
        dataset,
        f"diabetes_{i:02d}",
        diabetes.where(diabetes.date.is_on_or_before(last)).exists_for_patient(),
    )
    setattr(
        dataset,
        f"hba1c_{i:02d}",
        hba1c.where(hba1c.date.is_during((year_before, last))).exists_for_patient(),
    )
dataset.configure_dummy_data(population_size=400)
