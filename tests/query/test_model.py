"""The query model is immutable and shared: equal definitions are equal values, compiled once."""

from __future__ import annotations

import dataclasses

import pytest
import sqlglot

from fivesafes import INTERVAL, Dataset, Measures, months
from fivesafes.query.engines import dataset_sql, measures_sql
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import patients, practice_registrations


def _dataset() -> Dataset:
    dataset = Dataset()
    registration = practice_registrations.for_patient_on("2024-03-31")
    dataset.define_population(registration.exists_for_patient())
    dataset.practice = registration.practice_code
    dataset.imd = practice_registrations.for_patient_on("2024-03-31").imd_decile
    dataset.bmi = ce.where(ce.snomedct_code == "60621009").count_for_patient()
    return dataset


def test_equal_definitions_build_equal_models() -> None:
    assert _dataset().query() == _dataset().query()
    assert hash(_dataset().query()) == hash(_dataset().query())


def test_the_model_cannot_be_changed() -> None:
    query = _dataset().query()
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.population = patients.exists_for_patient().node  # type: ignore[misc]


def test_a_value_used_three_times_is_computed_once() -> None:
    sql = dataset_sql(_dataset().query(), "analysis", excluded=False).sql("duckdb")
    assert sql.count('"analysis"."practice_registrations" AS r') == 1
    assert sql.count("ARG_MAX_NULL(") == 2  # the practice and the IMD decile of one pick


def test_every_value_from_one_table_comes_from_one_grouped_pass() -> None:
    dataset = _dataset()
    dataset.smoked = ce.where(ce.snomedct_code == "77176002").exists_for_patient()
    dataset.last_bmi = (
        ce.where(ce.snomedct_code == "60621009").sort_by(ce.date).last_for_patient().numeric_value
    )
    sql = dataset_sql(dataset.query(), "analysis", excluded=False).sql("duckdb")
    assert sql.count('"analysis"."clinical_events" AS r') == 1
    assert sql.count("GROUP BY") == 2
    assert "ROW_NUMBER" not in sql


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_the_sql_reads_back_in_its_dialect(dialect: str) -> None:
    schema = "analysis" if dialect == "duckdb" else None
    sql = dataset_sql(_dataset().query(), schema, excluded=True, dialect=dialect).sql(dialect)
    assert sqlglot.parse_one(sql, read=dialect).sql(dialect) == sql


def test_measures_over_the_same_intervals_are_one_query_with_one_pass_per_table() -> None:
    measures = Measures()
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_defaults(
        denominator=patients.is_alive_on(INTERVAL.start_date),
        intervals=months(12).starting_on("2023-04-01"),
    )
    for code in ("60621009", "195967001", "13645005"):
        numerator = in_interval.where(ce.snomedct_code == code).exists_for_patient()
        measures.define_measure(f"recorded_{code}", numerator=numerator)
    measures.define_measure(
        "other_intervals",
        numerator=in_interval.exists_for_patient(),
        intervals=months(3).starting_on("2024-01-01"),
    )
    queries = measures_sql(measures.query(), "analysis", excluded=False)
    assert len(queries) == 2
    sql = queries[0].sql("duckdb")
    assert sql.count('"analysis"."clinical_events"') == 1
    assert sql.count("UNION ALL") == 2 + 11  # three measures stacked; twelve intervals
