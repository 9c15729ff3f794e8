"""The board pack's counts, each table only counts, for the output checkers and then the board
dashboard (which works out every rate, ratio, chart and signal from them once released).

Reads the patient-level dataset (highly sensitive: it never leaves) and writes long tables of
counts (moderately sensitive: checked for disclosure before anyone may ask for their release).

The tables are cut as coarsely as the demo's 5,000 patients need for every cell to clear the
disclosure threshold, because a cell suppressed in one table can be worked out from another
that counts the same people differently (a region total beside deprivation deciles, a year
beside its months), and the checker then refuses the pair. So here:

* the area profile is by ICB (``AREA``, the practice's; ``sub_icb_code`` and
  ``local_authority_code`` are the finer levels the dataset also carries, for a population
  large enough to count by them), has one age band (``PROFILE_BANDS``; the dashboard
  standardises to the European Standard Population 2013 collapsed to whatever bands are
  released: on a real population set the 19 five-year bands), and England is the sum of the
  ICBs; the funnel counts the same ICBs;
* the indicator by ethnic group (the ONS high-level groups of the NHS ethnic categories,
  ``ETHNIC_GROUPS``) and by deprivation quintile carries only people counted (flu
  vaccination). Every cell clears the threshold at 5,000 patients, but there the differencing
  check refuses both (a union of groups lies within ten of a total in the profile, which it
  cannot know counts other people), so the demo leaves them out and says why; with more
  people, or released alone, they go out and the dashboard draws them;
* the inequality table carries only the indicator every decile publishes (``INEQUALITY``);
* the series is by two-month period, the waiting list one row for its 26 weeks, and bed
  occupancy counts no days (the dashboard knows the calendar).
"""

from datetime import date, timedelta

import duckdb

DATASET = "read_parquet('output/dataset.parquet')"
YEAR_START, YEAR_END = date(2024, 4, 1), date(2025, 3, 31)
SERIES_START, SERIES_MONTHS, PERIOD_MONTHS = date(2022, 4, 1), 36, 2
WEEKS = 26
PROFILE_BANDS = ((0, 200, "0+"),)
SAFETY_BANDS = ((0, 65, "0-64"), (65, 200, "65+"))
INEQUALITY = ("flu_vaccinated",)
AREA = "icb_code"
"""The level of the area profile and the funnel: ``region``, ``icb_code``, ``sub_icb_code``
(the practice's) or ``local_authority_code`` (where people live)."""
ETHNIC_GROUPS = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed or multiple"),
    **dict.fromkeys("HJKL", "Asian or Asian British"),
    **dict.fromkeys("MNP", "Black or Black British"),
    **dict.fromkeys("RS", "Other ethnic group"),
}
"""The ONS high-level group of each NHS ethnic category (as ``fivesafes.model.codes``
groups them); Z and a missing category are "Not stated"."""
"""Prevalences (diabetes, asthma, BMI recorded) would make a richer profile, but at 5,000
patients their regional counts lie within ten of each other, and the checker (which cannot know
they are different people) sees a small group in each difference; so the profile carries only
indicators far apart."""


def month_start(i: int) -> date:
    months = SERIES_START.month - 1 + i
    return date(SERIES_START.year + months // 12, months % 12 + 1, 1)


def band(on: date, bands: tuple[tuple[int, int, str], ...]) -> str:
    """The SQL for each patient's age band on ``on``."""
    age = f"date_diff('year', born, DATE '{on.isoformat()}')"
    cases = " ".join(f"WHEN {age} < {high} THEN '{label}'" for _, high, label in bands)
    return f"CASE {cases} END"


def write(query: str, name: str) -> None:
    duckdb.sql(f"COPY ({query}) TO 'output/{name}' (HEADER)")


def counted(columns: tuple[str, ...]) -> str:
    return ", ".join(f"count(*) FILTER (WHERE {c}) AS {c}" for c in columns)


# the profile year's emergency admissions (events, as Fingertips counts them) of the people
# registered at its start: the same sum in the profile and the funnel, so that neither can be
# subtracted from the other to expose anyone
FIRST = SERIES_MONTHS - 12
YEAR_EVENTS = (
    "coalesce(sum("
    + " + ".join(f"admissions_{i:02d}" for i in range(FIRST, SERIES_MONTHS))
    + "), 0)"
)

# local needs
age = band(YEAR_START, PROFILE_BANDS)
write(
    f"SELECT {AREA}, {age} AS age_band, count(*) AS population, "
    f"{YEAR_EVENTS} AS emergency_admissions, {counted(INEQUALITY)} FROM {DATASET} "
    f"WHERE {AREA} IS NOT NULL GROUP BY ALL ORDER BY {AREA}, age_band",
    f"profile_{AREA}.csv",
)
write(
    f"SELECT {AREA}, count(*) FILTER (WHERE imd_decile <= 4) AS most_deprived_40, "
    f"count(*) AS population FROM {DATASET} WHERE imd_decile IS NOT NULL AND {AREA} IS NOT "
    "NULL GROUP BY ALL ORDER BY 1",
    f"deprivation_{AREA}.csv",
)
write(
    f"SELECT imd_decile, count(*) AS population, {counted(INEQUALITY)} FROM {DATASET} "
    "WHERE imd_decile IS NOT NULL GROUP BY ALL ORDER BY imd_decile",
    "inequality_imd_decile.csv",
)
write(
    f"SELECT (imd_decile + 1) // 2 AS imd_quintile, count(*) AS population, "
    f"{counted(INEQUALITY)} FROM {DATASET} WHERE imd_decile IS NOT NULL GROUP BY ALL ORDER BY 1",
    "breakdown_imd_quintile.csv",
)
groups = " ".join(f"WHEN '{c}' THEN '{g}'" for c, g in ETHNIC_GROUPS.items())
write(
    f"SELECT CASE ethnicity {groups} ELSE 'Not stated' END AS ethnic_group, "
    f"count(*) AS population, {counted(INEQUALITY)} FROM {DATASET} GROUP BY ALL ORDER BY 1",
    "breakdown_ethnic_group.csv",
)

# the series by period, in all and by age band (for expected counts by indirect
# standardisation); a period's population is its first month's
periods = [
    (month_start(i), [f"{j:02d}" for j in range(i, i + PERIOD_MONTHS)])
    for i in range(0, SERIES_MONTHS, PERIOD_MONTHS)
]


def events(months: list[str]) -> str:
    return " + ".join(f"coalesce(admissions_{m}, 0) * registered_{m}::INTEGER" for m in months)


write(
    " UNION ALL ".join(
        f"SELECT DATE '{start}' AS month, sum({events(ms)}) AS events, "
        f"count(*) FILTER (WHERE registered_{ms[0]}) AS population FROM {DATASET}"
        for start, ms in periods
    )
    + " ORDER BY month",
    "admissions_by_month.csv",
)
write(
    "SELECT age_band, sum(events) AS events, sum(population) AS population FROM ("
    + " UNION ALL ".join(
        f"SELECT {band(start, SAFETY_BANDS)} AS age_band, sum({events(ms)}) AS events, "
        f"count(*) FILTER (WHERE registered_{ms[0]}) AS population FROM {DATASET} GROUP BY 1"
        for start, ms in periods
    )
    + ") GROUP BY ALL ORDER BY age_band",
    "safety_events_by_age.csv",
)
write(
    " UNION ALL ".join(
        f"SELECT DATE '{start}' AS month, {band(start, SAFETY_BANDS)} AS age_band, "
        f"count(*) FILTER (WHERE registered_{ms[0]}) AS population FROM {DATASET} GROUP BY ALL"
        for start, ms in periods
    )
    + " ORDER BY month, age_band",
    "safety_population_by_month.csv",
)

# the ICBs' emergency admissions in the profile year against what their ages predict
safety_age = band(YEAR_START, SAFETY_BANDS)
write(
    f"SELECT {AREA}, {YEAR_EVENTS} AS events FROM {DATASET} "
    f"WHERE {AREA} IS NOT NULL GROUP BY ALL ORDER BY {AREA}",
    f"funnel_{AREA}.csv",
)
write(
    f"SELECT {AREA}, {safety_age} AS age_band, count(*) AS population FROM {DATASET} "
    f"WHERE {AREA} IS NOT NULL "
    f"GROUP BY ALL ORDER BY {AREA}, age_band",
    f"funnel_{AREA}_population.csv",
)

# the appointment book over 26 weeks: referrals, removals, and the list at the end
end = YEAR_START + timedelta(weeks=WEEKS) - timedelta(days=1)
# the period is a label, not interval columns: dates beside the monthly populations would let
# the checker cut this table against them, which it need not
write(
    f"SELECT '{YEAR_START}/{end}' AS period, "
    f"sum({' + '.join(f'booked_{w:02d}' for w in range(WEEKS))}) AS referrals, "
    f"sum({' + '.join(f'due_{w:02d}' for w in range(WEEKS))}) AS removals, "
    f"sum(waiting_{WEEKS - 1:02d}) AS waiting FROM {DATASET}",
    "waiting_list.csv",
)

# bed occupancy: every midnight of each counted spell in the profile year, by day of week and
# (meteorological) season; a spell still open is counted to the year's end. Admissions by the
# same cells would be demand, but at 5,000 patients some are under ten and the checker could
# work them out from the monthly populations, so only bed days go out
write(
    f"""
WITH spells AS (
    SELECT first_admitted AS admitted, coalesce(first_discharged, DATE '{YEAR_END}') AS discharged
    FROM {DATASET} WHERE first_admitted IS NOT NULL
    UNION ALL
    SELECT last_admitted, coalesce(last_discharged, DATE '{YEAR_END}')
    FROM {DATASET} WHERE spells > 1),
days AS (SELECT d::DATE AS day FROM range(DATE '{YEAR_START}', DATE '{YEAR_END}' + 1,
                                           INTERVAL 1 DAY) t(d)),
labelled AS (SELECT day, dayname(day) AS weekday,
             ['Winter', 'Spring', 'Summer', 'Autumn'][(month(day) % 12) // 3 + 1] AS season
             FROM days)
SELECT '{YEAR_START}/{YEAR_END}' AS period, season, weekday,
       count(s.admitted) FILTER (WHERE s.admitted < day AND s.discharged >= day) AS bed_days
FROM labelled LEFT JOIN spells s ON s.admitted <= day AND s.discharged >= day
GROUP BY ALL ORDER BY season, weekday""",
    "bed_days_by_weekday_season.csv",
)
