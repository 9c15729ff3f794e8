"""DuckDB and Spark give the same answer on the same data, for generated data and definitions.

One Spark session serves the whole test run, and each example puts many generated
columns into one dataset, so a handful of Spark queries cover many operations.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from harness import make_engine, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes import Dataset, case, days, months, when, years
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import patients

pytestmark = pytest.mark.spark

CODES = ["195967001", "13645005", "60621009", "38341003"]
START = date(2015, 1, 1)
dates = st.integers(0, 3000).map(lambda n: START + timedelta(days=n))
values = st.one_of(st.none(), st.integers(100, 500).map(lambda n: n / 10))


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[dict]]:
    n = draw(st.integers(1, 6))
    people = [
        {
            "patient_id": pid,
            "sex": draw(st.sampled_from(["female", "male"])),
            "date_of_birth": date(draw(st.integers(1920, 2020)), draw(st.integers(1, 12)), 1),
            "date_of_death": draw(st.one_of(st.none(), dates)),
        }
        for pid in range(1, n + 1)
    ]
    events = [
        {
            "patient_id": draw(st.integers(1, n + 1)),
            "date": draw(dates),
            "snomedct_code": draw(st.sampled_from(CODES)),
            "numeric_value": draw(values),
        }
        for _ in range(draw(st.integers(0, 15)))
    ]
    return {"patients": people, "clinical_events": events}


def conditions(draw: st.DrawFn) -> Any:
    options = [
        lambda: ce.snomedct_code.is_in(draw(st.sets(st.sampled_from(CODES), min_size=1))),
        lambda: ce.date.is_on_or_after(draw(dates)),
        lambda: ce.date.is_between(draw(dates), draw(dates)),
        lambda: ce.numeric_value > draw(st.integers(10, 50)),
        lambda: ce.date < patients.date_of_birth + years(draw(st.integers(0, 90))),
    ]
    chosen = [draw(st.sampled_from(options))() for _ in range(draw(st.integers(1, 2)))]
    combined = chosen[0]
    for other in chosen[1:]:
        combined = draw(st.sampled_from([combined & other, combined | other, ~combined]))
    return combined


def one_column(draw: st.DrawFn) -> Any:
    condition = conditions(draw)
    rows = draw(st.sampled_from([ce.where(condition), ce.except_where(condition)]))
    index = draw(dates)
    by = rows.sort_by(draw(st.sampled_from([ce.date, ce.numeric_value])))
    pick = draw(st.integers(0, 14))
    if pick == 0:
        return rows.count_for_patient()
    if pick == 1:
        return rows.exists_for_patient()
    if pick == 2:
        return rows.numeric_value.sum_for_patient()
    if pick == 3:
        return rows.numeric_value.mean_for_patient()
    if pick == 4:
        return rows.date.minimum_for_patient()
    if pick == 5:
        return rows.snomedct_code.count_distinct_for_patient()
    if pick == 6:
        return by.first_for_patient().snomedct_code
    if pick == 7:
        return by.last_for_patient().date + months(draw(st.integers(-14, 14)))
    if pick == 8:
        return by.last_for_patient().date.difference_in_days(index)
    if pick == 9:
        return patients.age_on(index) - rows.count_for_patient()
    if pick == 10:
        return patients.date_of_death.difference_in_months(index)
    if pick == 11:
        return rows.numeric_value.maximum_for_patient() / rows.count_for_patient()
    if pick == 12:
        return case(
            when(patients.age_on(index) < 40).then("young"),
            when(rows.exists_for_patient()).then("has"),
            otherwise=None,
        )
    if pick == 13:
        return (patients.date_of_death - days(draw(st.integers(0, 400)))).is_null()
    return rows.numeric_value.minimum_for_patient().when_null_then(0.0).as_int()


@st.composite
def columns(draw: st.DrawFn) -> dict[str, Any]:
    return {f"c{i}": one_column(draw) for i in range(draw(st.integers(6, 12)))}


@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tables(), columns(), st.sampled_from(["all", "female", "alive"]))
def test_duckdb_and_spark_agree(spark_session, data, cols, population) -> None:
    dataset = Dataset()
    dataset.define_population(
        {
            "all": patients.exists_for_patient() | ce.exists_for_patient(),
            "female": patients.sex == "female",
            "alive": patients.is_alive_on("2020-01-01"),
        }[population]
    )
    for name, value in cols.items():
        dataset.add_column(name, value)
    expected = run(make_engine("duckdb", data), dataset)
    got = run(make_engine("spark", data, spark_session), dataset)
    assert_same(got, expected)


def assert_same(a: list[dict], b: list[dict]) -> None:
    """Equal, allowing floating-point sums to differ in the last bits (summation order)."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) and isinstance(y[k], float):
                assert x[k] == pytest.approx(y[k], rel=1e-12), k
            else:
                assert x[k] == y[k], k
