"""The board pack's counts, each table only counts, for the output checkers and then the board
dashboard (which works out every rate, ratio, chart and signal from them once released).

Reads the patient-level dataset (highly sensitive: it never leaves) and writes long tables of
counts (moderately sensitive: checked for disclosure before anyone may ask for their release).
Ages are banded as few times as the counts allow: at the demo's 5,000 patients a region's
diabetes count in a five-year band is a handful of people and would be suppressed, so the
profile uses two bands (under 65, 65 and over) and the dashboard standardises to the European
Standard Population 2013 collapsed to them; on a real population set ``PROFILE_BANDS`` to the
19 ESP bands.
"""

from datetime import date, timedelta

import duckdb

DATASET = "read_parquet('output/dataset.parquet')"
YEAR_START = date(2024, 4, 1)
SERIES_START, SERIES_MONTHS = date(2022, 4, 1), 36
WEEKS = 26
PROFILE_BANDS = ((0, 65, "0-64"), (65, 200, "65+"))
INDICATORS = ("emergency_admitted", "diabetes", "asthma", "bmi_recorded", "flu_vaccinated")


def month_start(i: int) -> date:
    months = SERIES_START.month - 1 + i
    return date(SERIES_START.year + months // 12, months % 12 + 1, 1)


def band(on: date) -> str:
    """The SQL for the profile age band of each patient on ``on``."""
    age = f"date_diff('year', born, DATE '{on.isoformat()}')"
    cases = " ".join(f"WHEN {age} < {high} THEN '{label}'" for _, high, label in PROFILE_BANDS)
    return f"CASE {cases} END"


def write(query: str, name: str) -> None:
    duckdb.sql(f"COPY ({query}) TO 'output/{name}' (HEADER)")


counts = ", ".join(f"count(*) FILTER (WHERE {i}) AS {i}" for i in INDICATORS)
age = band(YEAR_START)
write(f"SELECT region, {age} AS age_band, count(*) AS population, {counts} FROM {DATASET} "
      "WHERE region IS NOT NULL GROUP BY ALL ORDER BY region, age_band", "profile_region.csv")  # fmt: skip
write(f"SELECT {age} AS age_band, count(*) AS population, {counts} FROM {DATASET} "
      "GROUP BY ALL ORDER BY age_band", "profile_england.csv")  # fmt: skip
write(f"SELECT region, (imd_decile + 1) // 2 AS imd_quintile, count(*) AS population "
      f"FROM {DATASET} WHERE imd_decile IS NOT NULL AND region IS NOT NULL "
      "GROUP BY ALL ORDER BY region, imd_quintile", "deprivation_region.csv")  # fmt: skip
write(f"SELECT imd_decile, count(*) AS population, {counts} FROM {DATASET} "
      "WHERE imd_decile IS NOT NULL GROUP BY ALL ORDER BY imd_decile", "inequality_imd_decile.csv")  # fmt: skip

# the monthly series, in all and by age band (for expected counts by indirect standardisation)
months = [(month_start(i), f"{i:02d}") for i in range(SERIES_MONTHS)]
write(" UNION ALL ".join(
    f"SELECT DATE '{m}' AS month, coalesce(sum(admissions_{i}) FILTER (WHERE registered_{i}), 0)"
    f" AS events, count(*) FILTER (WHERE registered_{i}) AS population FROM {DATASET}"
    for m, i in months) + " ORDER BY month", "admissions_by_month.csv")  # fmt: skip
write("SELECT age_band, sum(events) AS events, sum(population) AS population FROM (" + " UNION ALL ".join(
    f"SELECT {band(m)} AS age_band, coalesce(sum(admissions_{i}) FILTER (WHERE registered_{i}), 0)"
    f" AS events, count(*) FILTER (WHERE registered_{i}) AS population FROM {DATASET} GROUP BY 1"
    for m, i in months) + ") GROUP BY ALL ORDER BY age_band", "safety_events_by_age.csv")  # fmt: skip
write(" UNION ALL ".join(
    f"SELECT DATE '{m}' AS month, {band(m)} AS age_band, count(*) FILTER (WHERE registered_{i})"
    f" AS population FROM {DATASET} GROUP BY ALL"
    for m, i in months) + " ORDER BY month, age_band", "safety_population_by_month.csv")  # fmt: skip

# the regions' emergency admissions in the profile year against what their ages predict
last = SERIES_MONTHS - 1
year = " + ".join(f"admissions_{i:02d}" for i in range(SERIES_MONTHS - 12, SERIES_MONTHS))
write(f"SELECT region, coalesce(sum({year}), 0) AS events FROM {DATASET} "
      f"WHERE registered_{last - 11:02d} AND region IS NOT NULL GROUP BY ALL ORDER BY region",
      "funnel_region.csv")  # fmt: skip
write(f"SELECT region, {age} AS age_band, count(*) AS population FROM {DATASET} "
      f"WHERE registered_{last - 11:02d} AND region IS NOT NULL GROUP BY ALL ORDER BY region, age_band",
      "funnel_region_population.csv")  # fmt: skip

# the appointment book, week by week
write(" UNION ALL ".join(
    f"SELECT DATE '{YEAR_START + timedelta(weeks=w)}' AS week, sum(booked_{w:02d}) AS referrals, "
    f"sum(due_{w:02d}) AS removals, sum(waiting_{w:02d}) AS waiting FROM {DATASET}"
    for w in range(WEEKS)) + " ORDER BY week", "waiting_list_by_week.csv")  # fmt: skip

# bed occupancy: every midnight of each counted spell in the profile year, by day of week and
# (meteorological) season; a spell still open is counted to the year's end
year_end = date(2025, 3, 31)
write(f"""
WITH spells AS (
    SELECT first_admitted AS admitted, coalesce(first_discharged, DATE '{year_end}') AS discharged
    FROM {DATASET} WHERE first_admitted IS NOT NULL
    UNION ALL
    SELECT last_admitted, coalesce(last_discharged, DATE '{year_end}')
    FROM {DATASET} WHERE spells > 1),
days AS (SELECT d::DATE AS day FROM range(DATE '{YEAR_START}', DATE '{year_end}' + 1,
                                           INTERVAL 1 DAY) t(d)),
labelled AS (SELECT day, dayname(day) AS weekday,
             ['Winter', 'Spring', 'Summer', 'Autumn'][(month(day) % 12) // 3 + 1] AS season
             FROM days)
SELECT season, weekday, count(DISTINCT day) AS days,
       count(s.admitted) FILTER (WHERE s.admitted < day AND s.discharged >= day) AS bed_days,
       count(s.admitted) FILTER (WHERE s.admitted = day) AS admissions
FROM labelled LEFT JOIN spells s ON s.admitted <= day AND s.discharged >= day
GROUP BY ALL ORDER BY season, weekday""", "bed_days_by_weekday_season.csv")
