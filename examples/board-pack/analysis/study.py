"""Who is in the board pack and what it needs, per patient; ``counts.py`` turns it into counts.

Everyone registered with a practice on 1 April 2024 (the profile year starts then). Per patient:
where they were registered (the practice's region, ICB and Sub ICB Location), the local
authority and deprivation decile of where they lived, their ethnic category, their month of
birth (to band ages at any date), and:

* for the monthly series (April 2022 to March 2025), whether they were registered on each
  month's first day and how many emergency admissions began in it (the area profile's and the
  funnel's emergency admissions are those of the profile year's twelve months);
* for the area profile, whether they had a flu vaccination in the year to 31 March 2025;
* for bed occupancy, the first and the last hospital spell that began in the profile year (the
  language has no intervals yet, so a third or later spell in the year is not counted: the
  count of spells says how many were left out);
* for the appointment book (read as a waiting list), in each of 26 weeks from 1 April 2024:
  the appointments booked in the week, those falling in it, and those booked but still to come
  at its end.
"""

from datetime import date, timedelta

from fivesafes.query import Dataset, codelist_from_csv
from fivesafes.tables import (
    appointments,
    hospital_admissions,
    patients,
    practice_registrations,
    vaccinations,
)

YEAR_START, YEAR_END = date(2024, 4, 1), date(2025, 3, 31)
SERIES_START, SERIES_MONTHS = date(2022, 4, 1), 36
WEEKS = 26


def month_start(i: int) -> date:
    months = SERIES_START.month - 1 + i
    return date(SERIES_START.year + months // 12, months % 12 + 1, 1)


def codes(name: str) -> list[str]:
    return codelist_from_csv(f"analysis/codelists/{name}.csv", column="code")


registration = practice_registrations.for_patient_on(YEAR_START.isoformat())
emergency = hospital_admissions.where(hospital_admissions.admission_method == "emergency")
year = (YEAR_START.isoformat(), YEAR_END.isoformat())

dataset = Dataset()
dataset.define_population(
    registration.exists_for_patient() & patients.is_alive_on(YEAR_START.isoformat())
)
dataset.region = registration.region
dataset.icb_code = registration.icb_code
dataset.sub_icb_code = registration.sub_icb_code
dataset.local_authority_code = registration.local_authority_code
dataset.imd_decile = registration.imd_decile
dataset.ethnicity = patients.ethnicity
dataset.born = patients.date_of_birth

# the area profile's own indicator, in the profile year
dataset.flu_vaccinated = vaccinations.where(
    vaccinations.vaccine_code.is_in(codes("flu_vaccine")) & vaccinations.date.is_during(year)
).exists_for_patient()

# the monthly series
for i in range(SERIES_MONTHS):
    first = month_start(i).isoformat()
    last = (month_start(i + 1) - timedelta(days=1)).isoformat()
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

# bed occupancy: the first and last spell that began in the year
spells = hospital_admissions.where(hospital_admissions.admission_date.is_during(year))
ordered = spells.sort_by(spells.admission_date)
dataset.spells = spells.count_for_patient()
dataset.first_admitted = ordered.first_for_patient().admission_date
dataset.first_discharged = ordered.first_for_patient().discharge_date
dataset.last_admitted = ordered.last_for_patient().admission_date
dataset.last_discharged = ordered.last_for_patient().discharge_date

# the appointment book, week by week
book = appointments
for w in range(WEEKS):
    start = YEAR_START + timedelta(weeks=w)
    end = start + timedelta(days=6)
    week = (start.isoformat(), end.isoformat())
    setattr(dataset, f"booked_{w:02d}", book.where(book.booked_date.is_during(week))
            .count_for_patient())  # fmt: skip
    setattr(dataset, f"due_{w:02d}", book.where(book.start_date.is_during(week))
            .count_for_patient())  # fmt: skip
    setattr(
        dataset,
        f"waiting_{w:02d}",
        book.where(book.booked_date.is_on_or_before(end.isoformat())
                   & book.start_date.is_after(end.isoformat())).count_for_patient(),
    )  # fmt: skip
dataset.configure_dummy_data(population_size=600)
