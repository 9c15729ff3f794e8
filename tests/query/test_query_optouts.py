"""An opted-out patient never appears in an extract, and leaving them out changes no one else."""

from __future__ import annotations

from datetime import date, timedelta

from harness import make_engine, run
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes import INTERVAL, Dataset, Measures, months
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import patients

START = date(2020, 1, 1)


@st.composite
def populations(draw: st.DrawFn) -> dict[str, list[dict]]:
    n = draw(st.integers(1, 12))
    people = [
        {
            "patient_id": pid,
            "sex": draw(st.sampled_from(["female", "male"])),
            "date_of_birth": "1970-01-01",
        }
        for pid in range(1, n + 1)
    ]
    events = [
        {
            "patient_id": draw(st.integers(1, n + 3)),
            "date": START + timedelta(days=draw(st.integers(0, 700))),
            "snomedct_code": "195967001",
        }
        for _ in range(draw(st.integers(0, 20)))
    ]
    return {"patients": people, "clinical_events": events}


def _dataset() -> Dataset:
    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient() | ce.exists_for_patient())
    dataset.events = ce.count_for_patient()
    dataset.last = ce.sort_by(ce.date).last_for_patient().date
    return dataset


@settings(max_examples=20, deadline=None)
@given(populations(), st.sets(st.integers(1, 16)))
def test_opted_out_patients_never_appear(data, opted_out: set[int]) -> None:
    engine = make_engine("duckdb", data)
    everyone = run(engine, _dataset())
    extract = run(engine, _dataset(), exclude=opted_out)
    assert not {r["patient_id"] for r in extract} & opted_out
    assert extract == [r for r in everyone if r["patient_id"] not in opted_out]


@settings(max_examples=10, deadline=None)
@given(populations(), st.sets(st.integers(1, 16)))
def test_opted_out_patients_count_in_no_measure(data, opted_out: set[int]) -> None:
    measures = Measures()
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_measure(
        "events",
        numerator=in_interval.count_for_patient(),
        denominator=patients.exists_for_patient(),
        intervals=months(6).starting_on("2020-01-01"),
    )
    engine = make_engine("duckdb", data)
    query = measures.query()
    rows = engine.measures(query, exclude=opted_out).to_pylist()
    kept = {p["patient_id"] for p in data["patients"]} - opted_out
    for row in rows:
        start, end = row["interval_start"], row["interval_end"]
        assert row["denominator"] == len(kept)
        assert row["numerator"] == sum(
            1
            for e in data["clinical_events"]
            if e["patient_id"] in kept and start <= e["date"] <= end
        )
