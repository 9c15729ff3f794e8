# Asthma prevalence by age band and sex, and by deprivation quintile, with a chart: the R twin of
# examples/asthma-prevalence/analysis/summarise.py, releasing the same tables from the same data.
#
# Reads the patient-level dataset (highly sensitive: it never leaves) and writes only aggregate
# tables and a chart of them (moderately sensitive: checked before anyone may ask for their
# release), made with the environment's safe helpers, so small numbers are suppressed where the
# tables are made and the chart is drawn from the safe table, never from the raw counts.

suppressPackageStartupMessages({
  library(readr)
  library(dplyr)
})
source(Sys.getenv("FIVESAFES_SAFE_R"))

# generate-dataset's CSV: integers as digits, true/false, text quoted, a missing value empty.
people <- read_csv(
  "output/dataset.csv",
  col_types = cols_only(age = col_integer(), sex = col_character(),
                        imd_decile = col_integer(), has_asthma = col_logical())
) |>
  mutate(
    age_band = case_when(is.na(age) ~ NA_character_, age < 18 ~ "0-17", age < 40 ~ "18-39",
                         age < 60 ~ "40-59", TRUE ~ "60+"),
    imd_quintile = (imd_decile + 1L) %/% 2L,
    no_asthma = !has_asthma
  )
# People with and without asthma, rather than with asthma and everyone: a small group without
# asthma is hidden like any other small cell (publishing "everyone" beside "with asthma" would
# give it away by subtraction).
counts <- c(with_asthma = "has_asthma", without_asthma = "no_asthma")

# Sex recorded as other or unknown: too few people to publish by age band without merging.
known <- people |>
  filter(!is.na(age_band), sex %in% c("female", "male")) |>
  select(age_band, sex, has_asthma, no_asthma)
by_age_sex <- safe_crosstab(known, "age_band", "sex", counts = counts,
                            name = "asthma_by_age_sex.csv")
by_age_sex$write_csv("output/asthma_by_age_sex.csv")
by_age_sex$chart("output/asthma_by_age_sex.png", title = "Recorded asthma by age band and sex")
print(by_age_sex)

deprived <- people |>
  filter(!is.na(imd_quintile)) |>
  select(imd_quintile, has_asthma, no_asthma)
by_deprivation <- safe_crosstab(deprived, "imd_quintile", counts = counts,
                                name = "asthma_by_deprivation.csv")
by_deprivation$write_csv("output/asthma_by_deprivation.csv")
print(by_deprivation)
