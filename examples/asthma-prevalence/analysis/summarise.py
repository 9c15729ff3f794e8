"""Asthma prevalence by age band and sex, and by deprivation quintile, with a chart.

Reads the patient-level dataset (highly sensitive: it never leaves) and writes only aggregate
tables and a chart of them (moderately sensitive: checked for disclosure before anyone may ask
for their release). Both are made with ``fivesafes.safe``, so small numbers are suppressed
where the tables are made, the chart is drawn from the safe table and not from the raw counts,
and the printed explanation says which rule hid which cell.
"""

import duckdb

from fivesafes import safe

people = duckdb.sql(
    """
    SELECT CASE WHEN age IS NULL THEN NULL WHEN age < 18 THEN '0-17' WHEN age < 40 THEN '18-39'
                WHEN age < 60 THEN '40-59' ELSE '60+' END AS age_band,
           sex, (imd_decile + 1) // 2 AS imd_quintile, has_asthma, NOT has_asthma AS no_asthma
    FROM read_parquet('output/dataset.parquet')
    """
).to_arrow_table()
# People with and without asthma, rather than with asthma and everyone: prevalence is the
# first over both, and a small group without asthma is hidden like any other small cell
# (publishing "everyone" beside "with asthma" would give it away by subtraction).
counts = {"with_asthma": "has_asthma", "without_asthma": "no_asthma"}

# Sex recorded as other or unknown: too few people to publish by age band without merging.
known = duckdb.sql("SELECT * FROM people WHERE age_band IS NOT NULL AND sex IN ('female', 'male')")
by_age_sex = safe.crosstab(
    known.to_arrow_table(), "age_band", "sex", counts=counts, name="asthma_by_age_sex.csv"
)
by_age_sex.write_csv("output/asthma_by_age_sex.csv")
by_age_sex.chart("output/asthma_by_age_sex.png", title="Recorded asthma by age band and sex")
print(by_age_sex.explain())

deprived = duckdb.sql("SELECT * FROM people WHERE imd_quintile IS NOT NULL").to_arrow_table()
by_deprivation = safe.crosstab(
    deprived, "imd_quintile", counts=counts, name="asthma_by_deprivation.csv"
)
by_deprivation.write_csv("output/asthma_by_deprivation.csv")
print(by_deprivation.explain())
