"""Dummy data: exactly the patients asked for, each meeting the definition, with values and
prevalences as the environment's published summary says its population has."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date

import numpy as np
import pytest
from harness import arrow_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes import INTERVAL, Dataset, Measures, codelist, days, months
from fivesafes.model import TABLES
from fivesafes.query import dummy
from fivesafes.query.dummy import dummy_dataset, dummy_measures
from fivesafes.query.engines import in_memory_store
from fivesafes.query.errors import DefinitionError
from fivesafes.query.published import (
    MIN_PATIENTS,
    ROUND_TO,
    PublishedSummary,
    Share,
    published_summary,
    summarise,
)
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import deaths, hospital_admissions, patients, practice_registrations

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


# --- dummy data looks like the published population --------------------------------------------


def _asthma_study() -> Dataset:
    index = "2024-01-01"
    registration = practice_registrations.for_patient_on(index)
    dataset = Dataset()
    dataset.define_population(registration.exists_for_patient() & patients.is_alive_on(index))
    dataset.has_asthma = (
        ce.where(ce.snomedct_code.is_in(codelist(["195967001"], system="snomedct")))
        .where(ce.date.is_on_or_before(index))
        .exists_for_patient()
    )
    dataset.systolic = (
        ce.where(ce.snomedct_code == "271649006").sort_by(ce.date).last_for_patient().numeric_value
    )
    return dataset


def test_a_condition_is_as_common_in_dummy_data_as_the_summary_says() -> None:
    """The issue's example: asthma in a few percent of people was in nearly all dummy
    patients, because candidates were drawn toward every code the definition names."""
    published = published_summary().codes["clinical_events.snomedct_code"]["195967001"].share
    rows = dummy_dataset(_asthma_study().query(), 4000).to_pylist()
    share = sum(r["has_asthma"] for r in rows) / len(rows)
    assert abs(share - published) < 0.02, (share, published)


def test_dummy_data_follows_the_summary_it_is_given(tmp_path, monkeypatch) -> None:
    summary = published_summary()
    codes = dict(summary.codes["clinical_events.snomedct_code"])
    codes["195967001"] = Share(0.4, 1.0)
    other = dataclasses.replace(
        summary, codes={**summary.codes, "clinical_events.snomedct_code": codes}
    )
    path = tmp_path / "summary.json"
    path.write_text(other.to_json())
    monkeypatch.setenv("FIVESAFES_PUBLISHED_SUMMARY", str(path))
    rows = dummy_dataset(_asthma_study().query(), 2000).to_pylist()
    assert 0.33 < sum(r["has_asthma"] for r in rows) / len(rows) < 0.45


def test_values_follow_the_published_percentiles_of_their_code() -> None:
    points = published_summary().values["clinical_events.numeric_value"]["271649006"]
    rows = dummy_dataset(_asthma_study().query(), 3000).to_pylist()
    values = [r["systolic"] for r in rows if r["systolic"] is not None]
    inside = sum(points[0] <= v <= points[-1] for v in values) / len(values)
    assert len(values) > 500 and 0.7 < inside < 0.9  # 80% lie between the 10th and 90th


def test_events_fall_within_each_patients_life_and_the_tables_span() -> None:
    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.born = patients.date_of_birth
    dataset.died = patients.date_of_death
    dataset.first = ce.date.minimum_for_patient()
    dataset.last = ce.date.maximum_for_patient()
    dataset.death = deaths.date
    first, last = published_summary().spans["clinical_events"]
    for r in dummy_dataset(dataset.query(), 1000).to_pylist():
        if r["first"] is not None:
            assert r["born"] <= r["first"] and r["first"].isoformat()[:7] >= first
            assert r["last"].isoformat()[:7] <= last
            assert r["died"] is None or r["last"] <= r["died"]
        assert r["death"] == r["died"]  # a registered death is the patient's death


def _admissions(seed: int, n: int = 3000) -> list[dict]:
    """The raw dummy hospital admissions of ``n`` candidates, as a study's spells read them."""
    stays = hospital_admissions.spells(
        start=hospital_admissions.admission_date, end=hospital_admissions.discharge_date
    )
    dataset = Dataset()
    dataset.define_population(stays.exists_for_patient())
    hints = dummy.collect_hints([dataset.query().population])
    tables = dummy.candidate_tables(
        ["hospital_admissions"], 1, n, np.random.default_rng(seed), hints, 0.0
    )
    return tables["hospital_admissions"].to_pylist()


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_dummy_admissions_end_after_they_start_and_some_continue_the_one_before(
    seed: int,
) -> None:
    """Episodes of care in dummy data are what spells are made of: no discharge before its
    admission, a stay's length mostly a few days with day cases and a long tail, a few still
    in hospital (only a patient's latest), and some episodes starting the day the patient's
    episode before ended, so that a spell has more than one episode."""
    rows = _admissions(seed)
    by_patient: dict[int, list[dict]] = {}
    for r in rows:
        by_patient.setdefault(r["patient_id"], []).append(r)
    ended = [r for r in rows if r["discharge_date"] is not None]
    assert len(rows) > 500 and 0 < len(rows) - len(ended) < 0.1 * len(rows)
    assert all(r["admission_date"] <= r["discharge_date"] for r in ended)
    stays = sorted((r["discharge_date"] - r["admission_date"]).days for r in ended)
    assert 0.2 < stays.count(0) / len(stays) < 0.5  # day cases
    assert 1 <= stays[len(stays) // 2] <= 5 and stays[-1] > 14  # a median of days, a tail
    linked = 0
    for episodes in by_patient.values():
        episodes.sort(key=lambda r: r["admission_date"])
        for before, after in itertools.pairwise(episodes):
            assert before["discharge_date"] is not None  # only the latest may be open
            linked += after["admission_date"] == before["discharge_date"]
    assert linked > 0.05 * (len(rows) - len(by_patient))


def test_dummy_spells_merge_episodes_and_meet_a_spell_population() -> None:
    """A study's population of patients with a spell of two or more episodes lasting at least
    a week: dummy data finds them without a hint of its own, each spell's length its own."""
    ha = hospital_admissions
    stays = ha.spells(start=ha.admission_date, end=ha.discharge_date, gap=days(1))
    long = stays.where(stays.episodes >= 2)
    first = long.sort_by(long.start_date).first_for_patient()
    dataset = Dataset()
    dataset.define_population(long.exists_for_patient())
    dataset.start = first.start_date
    dataset.end = first.end_date
    dataset.episodes = first.episodes
    rows = dummy_dataset(dataset.query(), 200).to_pylist()
    assert len(rows) == 200 and all(r["episodes"] >= 2 for r in rows)
    assert all(r["end"] is None or r["start"] <= r["end"] for r in rows)


def test_candidates_are_made_in_bounded_batches(monkeypatch) -> None:
    """Memory does not grow with the size asked for: at most BATCH_PATIENTS candidates are
    made at once, and the patients found come out part by part."""
    sizes: list[int] = []
    real = dummy.candidate_tables

    def counted(tables, first_id, n, *args, **kwargs):
        sizes.append(n)
        return real(tables, first_id, n, *args, **kwargs)

    monkeypatch.setattr(dummy, "BATCH_PATIENTS", 700)
    monkeypatch.setattr(dummy, "candidate_tables", counted)
    parts = list(dummy.dummy_dataset_parts(_asthma_study().query(), 3000))
    assert max(sizes) <= 700 and len(parts) > 3
    assert sum(p.num_rows for p in parts) == 3000
    ids = [i for p in parts for i in p["patient_id"].to_pylist()]
    assert ids == sorted(set(ids))


def test_the_shipped_summary_obeys_its_disclosure_rules() -> None:
    summary = published_summary()
    counted = [s for codes in summary.codes.values() for s in codes.values()]
    counted += list(summary.tables.values())
    for share in counted:
        patients_with = share.share * summary.patients
        assert patients_with >= MIN_PATIENTS
        assert abs(patients_with / ROUND_TO - round(patients_with / ROUND_TO)) < 1e-3
    for percentiles in summary.values.values():
        assert all(len(points) == 9 for points in percentiles.values())  # 10th..90th, no ends
    assert "synthetic population" in summary.source


def test_summarise_leaves_out_small_groups_and_rounds_counts() -> None:
    rng = np.random.default_rng(3)
    n = 203
    people = [{"patient_id": i, "sex": "female", "date_of_birth": "1980-01-01"} for i in range(n)]
    events = [
        {
            "patient_id": i,
            "date": "2020-01-01",
            "snomedct_code": "195967001",
            "numeric_value": float(v),
        }
        for i, v in zip(range(60), rng.integers(20, 40, 60), strict=True)
    ]
    events += [
        {"patient_id": i, "date": "2021-01-01", "snomedct_code": "13645005"} for i in range(9)
    ]
    summary = summarise(
        in_memory_store(arrow_tables({"patients": people, "clinical_events": events})), "test"
    )
    assert summary.patients == 205  # 203, rounded to the nearest 5
    codes = summary.codes["clinical_events.snomedct_code"]
    assert set(codes) == {"195967001"}  # held by 9 patients: too few to publish
    assert codes["195967001"] == Share(round(60 / 205, 6), 1.0)
    values = summary.values["clinical_events.numeric_value"]
    assert set(values) == {"195967001", "*"} and len(values["*"]) == 9
    assert PublishedSummary.from_json(summary.to_json()) == summary
