"""Board measures as tidy tables of counts, one row per period (and group).

Reads the patient-level dataset (highly sensitive: it never leaves) and writes only counts
(moderately sensitive: checked for disclosure before anyone may ask for their release). Each
measure is cut as finely as its counts allow: a region's monthly admissions are a handful of
people even in a large population and would be suppressed, so month by month the measures are
for all England, and regions are compared over the whole year.

- ``emergency_admissions_england.csv``: emergency admissions and registered patients by month
  (``events``/``population``: the dashboard charts admissions per 1,000 as an SPC series);
- ``emergency_admissions_by_region.csv``: the year's emergency admissions of the people
  registered at its start, by region (rates with intervals and a funnel plot);
- ``hba1c_recorded_england.csv``: people with diabetes whose HbA1c was recorded in the last 12
  months, and all people with diabetes, by month (``numerator``/``denominator``: a p chart).
"""

from datetime import date, timedelta

import duckdb

START = date(2023, 4, 1)
MONTHS = 12
DATASET = "read_parquet('output/dataset.parquet')"


def month_start(i: int) -> date:
    return date(START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1)


def by_month(select: str) -> str:
    """One SELECT per month (``{i}`` is the month's column suffix), stacked."""
    return " UNION ALL ".join(
        select.format(i=f"{i:02d}", month=month_start(i).isoformat()) for i in range(MONTHS)
    )


def write(query: str, name: str) -> None:
    duckdb.sql(f"COPY ({query}) TO 'output/{name}' (HEADER)")


write(
    by_month(
        """SELECT DATE '{month}' AS month,
                  coalesce(sum(admissions_{i}) FILTER (WHERE registered_{i}), 0) AS events,
                  count(*) FILTER (WHERE registered_{i}) AS population
           FROM """
        + DATASET
    )
    + " ORDER BY month",
    "emergency_admissions_england.csv",
)
year = " + ".join(f"admissions_{i:02d}" for i in range(MONTHS))
end = (month_start(MONTHS) - timedelta(days=1)).isoformat()
write(
    f"""SELECT DATE '{START.isoformat()}' AS interval_start, DATE '{end}' AS interval_end,
               region, coalesce(sum({year}), 0) AS events, count(*) AS population
        FROM {DATASET} WHERE registered_00 AND region IS NOT NULL
        GROUP BY region ORDER BY region""",
    "emergency_admissions_by_region.csv",
)
write(
    by_month(
        """SELECT DATE '{month}' AS month, count(*) FILTER (WHERE hba1c_{i}) AS numerator,
                  count(*) AS denominator
           FROM """
        + DATASET
        + " WHERE diabetes_{i} AND registered_{i}"
    )
    + " ORDER BY month",
    "hba1c_recorded_england.csv",
)
