"""Dummy data: exactly the patients asked for, each meeting the definition, plausible values."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes import INTERVAL, Dataset, Measures, codelist, months
from fivesafes.model import TABLES
from fivesafes.query.dummy import dummy_dataset, dummy_measures
from fivesafes.query.errors import DefinitionError
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import patients, practice_registrations

ASTHMA = codelist(["195967001", "233678006"], system="snomedct")


@st.composite
def definitions(draw: st.DrawFn) -> tuple[Dataset, dict]:
    """A population of one sex, an age band, maybe a coded event in a date range."""
    index = draw(st.dates(date(2015, 1, 1), date(2025, 12, 31)))
    sex = draw(st.sampled_from(["female", "male"]))
    low = draw(st.integers(0, 90))
    high = draw(st.integers(low, min(low + 30, 105)))
    since = draw(st.dates(date(2005, 1, 1), index))
    needs_event = draw(st.booleans())
    age = patients.age_on(index)
    events = ce.where(ce.snomedct_code.is_in(ASTHMA)).where(ce.date.is_between(since, index))
    condition = (patients.sex == sex) & age.is_between(low, high)
    if needs_event:
        condition = condition & events.exists_for_patient()
    dataset = Dataset()
    dataset.define_population(
        condition & practice_registrations.for_patient_on(index).exists_for_patient()
    )
    dataset.sex = patients.sex
    dataset.age = age
    dataset.events = events.count_for_patient()
    first = events.sort_by(ce.date).first_for_patient()
    dataset.first_code = first.snomedct_code
    dataset.first_date = first.date
    dataset.imd = practice_registrations.for_patient_on(index).imd_decile
    return dataset, {
        "sex": sex,
        "low": low,
        "high": high,
        "needs_event": needs_event,
        "since": since,
        "index": index,
    }


@settings(max_examples=15, deadline=None)
@given(definitions(), st.integers(1, 40))
def test_dummy_data_meets_the_definition(definition: tuple[Dataset, dict], n: int) -> None:
    dataset, want = definition
    rows = dummy_dataset(dataset.query(), n, seed=n).to_pylist()
    assert len(rows) == n
    assert len({r["patient_id"] for r in rows}) == n
    for r in rows:
        assert r["sex"] == want["sex"]
        assert want["low"] <= r["age"] <= want["high"]
        assert r["events"] >= (1 if want["needs_event"] else 0)
        if r["events"]:
            assert r["first_code"] in ASTHMA.codes
            assert want["since"] <= r["first_date"] <= want["index"]
        else:
            assert r["first_code"] is None and r["first_date"] is None
        assert r["imd"] is None or 1 <= r["imd"] <= 10


def test_values_are_plausible() -> None:
    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.age = patients.age_on("2024-01-01")
    dataset.sex = patients.sex
    bmi = ce.where(ce.snomedct_code == "60621009")
    dataset.bmi = bmi.sort_by(ce.date).last_for_patient().numeric_value
    rows = dummy_dataset(dataset.query(), 3000).to_pylist()
    ages = [r["age"] for r in rows]
    assert min(ages) >= 0 and max(ages) <= 105
    children = sum(a < 15 for a in ages) / len(ages)
    assert 0.12 < children < 0.23  # the model's age bands give about 17.6%
    assert {r["sex"] for r in rows} <= set(TABLES["patients"].column("sex").categories)
    values = [r["bmi"] for r in rows if r["bmi"] is not None]
    assert values and all(15 <= v <= 50 for v in values)


def test_exact_count_even_when_the_population_is_rare() -> None:
    dataset = Dataset()
    rare = ce.where(ce.snomedct_code.is_in(ASTHMA)).count_for_patient() >= 6
    dataset.define_population(rare & (patients.age_on("2024-01-01") > 95))
    dataset.n = ce.where(ce.snomedct_code.is_in(ASTHMA)).count_for_patient()
    rows = dummy_dataset(dataset.query(), 25).to_pylist()
    assert len(rows) == 25 and all(r["n"] >= 6 for r in rows)


def test_an_unsatisfiable_population_is_reported() -> None:
    dataset = Dataset()
    dataset.define_population((patients.sex == "female") & (patients.sex == "male"))
    with pytest.raises(DefinitionError, match="may never be true"):
        dummy_dataset(dataset.query(), 3)


def test_a_one_day_window_and_a_single_age_are_met() -> None:
    """Found by hypothesis: an event on exactly the index date, for people of exactly one age."""
    index = date(2015, 1, 1)
    events = ce.where(ce.snomedct_code.is_in(ASTHMA)).where(ce.date.is_between(index, index))
    dataset = Dataset()
    dataset.define_population(
        (patients.sex == "female")
        & patients.age_on(index).is_between(5, 5)
        & events.exists_for_patient()
        & practice_registrations.for_patient_on(index).exists_for_patient()
    )
    dataset.first_date = events.sort_by(ce.date).first_for_patient().date
    rows = dummy_dataset(dataset.query(), 2, seed=2).to_pylist()
    assert [r["first_date"] for r in rows] == [index, index]


def test_dummy_measures_cover_every_interval_with_events_in_them() -> None:
    measures = Measures()
    alive = patients.is_alive_on(INTERVAL.start_date)
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_measure(
        "asthma_recorded",
        numerator=alive & in_interval.where(ce.snomedct_code.is_in(ASTHMA)).exists_for_patient(),
        denominator=alive,
        group_by={"sex": patients.sex},
        intervals=months(6).starting_on("2023-01-01"),
    )
    rows = dummy_measures(measures.query(), 400).to_pylist()
    starts = {r["interval_start"] for r in rows}
    assert starts == {date(2023, m, 1) for m in range(1, 7)}
    for r in rows:
        assert 0 <= r["numerator"] <= r["denominator"]
    assert sum(r["denominator"] for r in rows if r["interval_start"] == date(2023, 1, 1)) <= 400
    # event dates are drawn near the intervals, so some land in them
    assert sum(r["numerator"] for r in rows) > 0
