"""Counts of the discharge study, for the output checkers and then the dashboard. The days
from discharge to the first service come from the dataset definition; this only counts.

Each row counts people: those discharged and those whose first social care service began
within 28 days of discharge, in all and for the more and less deprived halves of areas (IMD
deciles 1-5 and 6-10: at the demo's size finer groups would be suppressed) and for each local
authority the person lives in (the council that commissions their care; at the demo's size
most authorities' counts are under the threshold, hidden in the checker's safe version);
people by days from discharge to their first service; and, in a table of its own, those
readmitted within 30 days. Readmissions are few (a handful at the demo's 5,000 patients), and a
small count beside the other outcomes would keep every table from release; on its own it is
refused alone, and the rest go out. For the same reason readmissions are not counted by local
authority: each authority's handful would be hidden, and their total with them.
"""

import duckdb

DATASET = "read_parquet('output/dataset.parquet')"
OUTCOMES = (
    "count(*) AS discharged, "
    "count(*) FILTER (WHERE days_to_first_service <= 28) "
    "AS social_care_within_28_days"
)


def write(query: str, name: str) -> None:
    duckdb.sql(f"COPY ({query}) TO 'output/{name}' (HEADER)")


write(f"SELECT '2022-04-01/2025-03-31' AS period, {OUTCOMES} FROM {DATASET}",
      "discharge_outcomes.csv")  # fmt: skip
write(f"SELECT '2022-04-01/2025-03-31' AS period, count(*) AS discharged, "
      f"count(*) FILTER (WHERE readmitted) AS readmitted_within_30_days FROM {DATASET}",
      "discharge_readmissions.csv")  # fmt: skip
write(f"SELECT CASE WHEN imd_decile <= 5 THEN 'More deprived (deciles 1-5)' "
      f"ELSE 'Less deprived (deciles 6-10)' END AS deprivation, {OUTCOMES} FROM {DATASET} "
      "WHERE imd_decile IS NOT NULL GROUP BY ALL ORDER BY deprivation",
      "discharge_outcomes_by_deprivation.csv")  # fmt: skip
write(f"SELECT local_authority_code, {OUTCOMES} FROM {DATASET} "
      "WHERE local_authority_code IS NOT NULL GROUP BY ALL ORDER BY local_authority_code",
      "discharge_outcomes_by_local_authority.csv")  # fmt: skip
write(f"""SELECT CASE WHEN first_service IS NULL THEN 'no service'
               WHEN days_to_first_service <= 7 THEN '0-7'
               WHEN days_to_first_service <= 28 THEN '8-28'
               ELSE 'over 28' END AS days_to_first_service, count(*) AS people
        FROM {DATASET} GROUP BY ALL ORDER BY days_to_first_service""",
      "days_to_first_service.csv")  # fmt: skip
