"""Asthma prevalence by age band and sex, and by deprivation quintile, with a chart.

Reads the patient-level dataset (highly sensitive: it never leaves) and writes
only aggregate tables and a chart of them (moderately sensitive: they are checked
for disclosure before anyone may ask for their release).
"""

import duckdb
import matplotlib.pyplot as plt

DATASET = "read_parquet('output/dataset.parquet')"
AGE_BAND = """
    CASE WHEN age < 18 THEN '0-17' WHEN age < 40 THEN '18-39'
         WHEN age < 60 THEN '40-59' ELSE '60+' END
"""

con = duckdb.connect()
con.sql(
    f"""
    CREATE TABLE by_age_sex AS
    SELECT {AGE_BAND} AS age_band, sex,
           count(*) FILTER (WHERE has_asthma) AS with_asthma,
           count(*) AS population
    FROM {DATASET}
    WHERE age IS NOT NULL AND sex IS NOT NULL
    GROUP BY ALL ORDER BY age_band, sex
    """
)
con.sql(
    f"""
    CREATE TABLE by_deprivation AS
    SELECT (imd_decile + 1) // 2 AS imd_quintile,
           count(*) FILTER (WHERE has_asthma) AS with_asthma,
           count(*) AS population
    FROM {DATASET}
    WHERE imd_decile IS NOT NULL
    GROUP BY ALL ORDER BY imd_quintile
    """
)
con.sql("COPY by_age_sex TO 'output/asthma_by_age_sex.csv' (HEADER)")
con.sql("COPY by_deprivation TO 'output/asthma_by_deprivation.csv' (HEADER)")

figure, axes = plt.subplots(figsize=(7, 4))
for (sex,) in con.sql("SELECT DISTINCT sex FROM by_age_sex ORDER BY sex").fetchall():
    rows = con.execute(
        "SELECT age_band, 100.0 * with_asthma / population FROM by_age_sex "
        "WHERE sex = ? ORDER BY age_band",
        [sex],
    ).fetchall()
    axes.plot([r[0] for r in rows], [r[1] for r in rows], marker="o", label=sex)
axes.set_xlabel("Age band")
axes.set_ylabel("Recorded asthma (% of registered people)")
axes.set_title("Asthma prevalence by age band and sex")
axes.legend(title="Sex")
figure.tight_layout()
figure.savefig("output/asthma_by_age_sex.png", dpi=120)
