"""Monthly measures as tidy tables of counts, one row per month and group.

Reads the patient-level dataset (highly sensitive: it never leaves) and writes only counts
(moderately sensitive: checked for disclosure before anyone may ask for their release):

- emergency admissions and registered patients by month and region (``events``/``population``:
  the dashboard shows admissions per 1,000 registered patients);
- people with diabetes whose HbA1c was recorded in the last 12 months, and all people with
  diabetes, by month and deprivation quintile (``numerator``/``denominator``).
"""

from datetime import date

import duckdb

START = date(2023, 4, 1)
MONTHS = 12
DATASET = "read_parquet('output/dataset.parquet')"


def month_start(i: int) -> str:
    return date(
        START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1
    ).isoformat()


def by_month(select: str) -> str:
    """One SELECT per month (``{i}`` is the month's column suffix), stacked."""
    return " UNION ALL ".join(
        select.format(i=f"{i:02d}", month=month_start(i)) for i in range(MONTHS)
    )


con = duckdb.connect()
admissions = by_month(
    """SELECT DATE '{month}' AS month, region,
              sum(admissions_{i}) FILTER (WHERE registered_{i}) AS events,
              count(*) FILTER (WHERE registered_{i}) AS population
       FROM """
    + DATASET
    + " WHERE region IS NOT NULL GROUP BY region"
)
hba1c = by_month(
    """SELECT DATE '{month}' AS month, (imd_decile + 1) // 2 AS imd_quintile,
              count(*) FILTER (WHERE hba1c_{i}) AS numerator,
              count(*) AS denominator
       FROM """
    + DATASET
    + " WHERE imd_decile IS NOT NULL AND diabetes_{i} AND registered_{i} GROUP BY imd_quintile"
)
con.sql(
    f"COPY (SELECT month, region, coalesce(events, 0) AS events, population FROM ({admissions}) "
    "ORDER BY region, month) TO 'output/emergency_admissions_by_region.csv' (HEADER)"
)
con.sql(
    f"COPY (SELECT * FROM ({hba1c}) ORDER BY imd_quintile, month) "
    "TO 'output/hba1c_recorded_by_imd_quintile.csv' (HEADER)"
)
