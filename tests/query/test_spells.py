"""Episodes merged into spells, and the time between them: small tables of hospital episodes,
worked by hand, and the exact spells every engine must make of them.

Every case runs on every engine (``engine_for``; Spark with ``FIVESAFES_SPARK_TESTS=1``).
The rule (``fivesafes.query.model.Spells``): episodes in order of start join the spell before
them when they start at most ``gap`` days after its latest end, or while one of its episodes
has not ended.
"""

from __future__ import annotations

from datetime import date

import pytest
from harness import run

from fivesafes import INTERVAL, Dataset, days, months, years
from fivesafes.query import model as m
from fivesafes.query.errors import DefinitionError
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import hospital_admissions as ha
from fivesafes.tables import patients

D = date.fromisoformat


def _people(*ids: int, born: str = "1950-01-01") -> list[dict]:
    return [{"patient_id": p, "sex": "female", "date_of_birth": born} for p in ids]


def _episodes(*rows: tuple) -> list[dict]:
    """(patient, admitted, discharged[, admission method]) as rows of hospital_admissions."""
    return [
        {
            "patient_id": row[0],
            "admission_date": row[1],
            "discharge_date": row[2],
            "admission_method": row[3] if len(row) > 3 else "emergency",
            "primary_diagnosis": "J45",
            "all_diagnoses": "J45",
        }
        for row in rows
    ]


def _run(engine_for, rows: dict, **columns: object) -> dict[int, dict]:
    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    for name, value in columns.items():
        dataset.add_column(name, value)
    out = run(engine_for(rows), dataset)
    return {r.pop("patient_id"): r for r in out}


def _stays(gap: object = 0):
    return ha.spells(start=ha.admission_date, end=ha.discharge_date, gap=gap)


def _first_and_last(stays) -> dict[str, object]:
    first = stays.sort_by(stays.start_date).first_for_patient()
    last = stays.sort_by(stays.start_date).last_for_patient()
    return {
        "n": stays.count_for_patient(),
        "first_start": first.start_date,
        "first_end": first.end_date,
        "first_episodes": first.episodes,
        "first_stay": first.end_date.difference_in_days(first.start_date),
        "last_start": last.start_date,
        "last_end": last.end_date,
        "last_previous_end": last.previous_end_date,
    }


def test_overlapping_and_touching_episodes_are_one_spell(engine_for) -> None:
    """Patient 1: an episode inside another, and one starting on the day another ends, are
    one spell; one starting the next day begins a second (with no gap allowed) -- or joins
    with a gap of a day. Patient 2 has no episodes; patient 3 two identical same-day ones."""
    rows = {
        "patients": _people(1, 2, 3),
        "hospital_admissions": _episodes(
            (1, "2024-01-01", "2024-01-05"),
            (1, "2024-01-03", "2024-01-04"),
            (1, "2024-01-05", "2024-01-10"),
            (1, "2024-01-11", "2024-01-12"),
            (3, "2024-03-01", "2024-03-01"),
            (3, "2024-03-01", "2024-03-01"),
        ),
    }
    stays = _stays()
    out = _run(
        engine_for, rows, **_first_and_last(stays), n_gap_1=_stays(days(1)).count_for_patient()
    )
    assert out[1] == {
        "n": 2,
        "first_start": D("2024-01-01"),
        "first_end": D("2024-01-10"),
        "first_episodes": 3,
        "first_stay": 9,
        "last_start": D("2024-01-11"),
        "last_end": D("2024-01-12"),
        "last_previous_end": D("2024-01-10"),
        "n_gap_1": 1,
    }
    assert out[2] == {
        "n": 0,
        "first_start": None,
        "first_end": None,
        "first_episodes": None,
        "first_stay": None,
        "last_start": None,
        "last_end": None,
        "last_previous_end": None,
        "n_gap_1": 0,
    }
    assert out[3] == {
        "n": 1,
        "first_start": D("2024-03-01"),
        "first_end": D("2024-03-01"),
        "first_episodes": 2,
        "first_stay": 0,
        "last_start": D("2024-03-01"),
        "last_end": D("2024-03-01"),
        "last_previous_end": None,
        "n_gap_1": 1,
    }


def test_a_gap_of_exactly_n_days_joins_and_one_more_does_not(engine_for) -> None:
    """The gap is from the latest end of the spell so far, not the end of the episode just
    before: patient 3's short second episode ends early, the long first one decides."""
    rows = {
        "patients": _people(1, 2, 3),
        "hospital_admissions": _episodes(
            (1, "2024-01-01", "2024-01-10"),
            (1, "2024-01-17", "2024-01-20"),  # 7 days after
            (2, "2024-01-01", "2024-01-10"),
            (2, "2024-01-18", "2024-01-20"),  # 8 days after
            (3, "2024-01-01", "2024-01-31"),
            (3, "2024-01-05", "2024-01-06"),
            (3, "2024-02-03", "2024-02-04"),  # 3 days after 31 January
        ),
    }
    out = _run(
        engine_for,
        rows,
        gap_7=_stays(days(7)).count_for_patient(),
        gap_7_int=_stays(7).count_for_patient(),
        gap_6=_stays(days(6)).count_for_patient(),
        gap_3=_stays(days(3)).count_for_patient(),
        gap_2=_stays(days(2)).count_for_patient(),
    )
    assert out == {
        1: {"gap_7": 1, "gap_7_int": 1, "gap_6": 2, "gap_3": 2, "gap_2": 2},
        2: {"gap_7": 2, "gap_7_int": 2, "gap_6": 2, "gap_3": 2, "gap_2": 2},
        3: {"gap_7": 1, "gap_7_int": 1, "gap_6": 1, "gap_3": 1, "gap_2": 2},
    }


def test_an_episode_without_an_end_holds_its_spell_open(engine_for) -> None:
    """Patient 1: an episode not ended takes in every later one, and the spell has no end.
    Patient 2: an episode without a start is left out; an end before the start counts as the
    start day. Patient 3: a spell before an open one keeps its end."""
    rows = {
        "patients": _people(1, 2, 3),
        "hospital_admissions": _episodes(
            (1, "2024-02-01", None),
            (1, "2024-03-01", "2024-03-05"),
            (2, None, "2024-01-05"),
            (2, "2024-01-10", "2024-01-08"),
            (3, "2024-01-01", "2024-01-05"),
            (3, "2024-01-20", None),
        ),
    }
    stays = _stays()
    columns = _first_and_last(stays)
    columns["episodes"] = stays.episodes.sum_for_patient()
    out = _run(engine_for, rows, **columns)
    assert out[1] == {
        "n": 1,
        "first_start": D("2024-02-01"),
        "first_end": None,
        "first_episodes": 2,
        "first_stay": None,
        "last_start": D("2024-02-01"),
        "last_end": None,
        "last_previous_end": None,
        "episodes": 2,
    }
    assert out[2] == {
        "n": 1,
        "first_start": D("2024-01-10"),
        "first_end": D("2024-01-10"),
        "first_episodes": 1,
        "first_stay": 0,
        "last_start": D("2024-01-10"),
        "last_end": D("2024-01-10"),
        "last_previous_end": None,
        "episodes": 1,
    }
    assert out[3] == {
        "n": 2,
        "first_start": D("2024-01-01"),
        "first_end": D("2024-01-05"),
        "first_episodes": 1,
        "first_stay": 4,
        "last_start": D("2024-01-20"),
        "last_end": None,
        "last_previous_end": D("2024-01-05"),
        "episodes": 2,
    }


def test_readmissions_within_30_days_of_a_spells_end(engine_for) -> None:
    """Patient 1's second spell begins 30 days after the first ends (10 January to 9 February
    2024: a readmission within 30 days), the third 31 days after the second (12 February to
    14 March, in a leap year: not one). Patient 2 has one spell."""
    rows = {
        "patients": _people(1, 2),
        "hospital_admissions": _episodes(
            (1, "2024-01-01", "2024-01-10"),
            (1, "2024-02-09", "2024-02-12"),
            (1, "2024-03-14", "2024-03-15"),
            (2, "2024-05-01", "2024-05-02"),
        ),
    }
    stays = _stays()
    first = stays.sort_by(stays.start_date).first_for_patient()
    since_previous = stays.start_date.difference_in_days(stays.previous_end_date)
    out = _run(
        engine_for,
        rows,
        readmissions=stays.where(
            stays.start_date.is_on_or_before(stays.previous_end_date + days(30))
        ).count_for_patient(),
        shortest_gap=since_previous.minimum_for_patient(),
        longest_gap=since_previous.maximum_for_patient(),
        after_first=stays.where(
            stays.start_date.is_after(first.end_date)
            & stays.start_date.is_on_or_before(first.end_date + days(30))
        ).exists_for_patient(),
        days_in_hospital=stays.end_date.difference_in_days(stays.start_date).sum_for_patient(),
    )
    assert out == {
        1: {
            "readmissions": 1,
            "shortest_gap": 30,
            "longest_gap": 31,
            "after_first": True,
            "days_in_hospital": 13,
        },
        2: {
            "readmissions": 0,
            "shortest_gap": None,
            "longest_gap": None,
            "after_first": False,
            "days_in_hospital": 1,
        },
    }


def test_spells_of_chosen_episodes_and_values_drawn_from_them(engine_for) -> None:
    """Spells of emergency episodes from the 70th birthday on (a per-patient date inside the
    episodes' condition); an elective episode between two emergency ones does not bridge
    them. Events after the first spell's end use a value drawn from the spells."""
    rows = {
        "patients": _people(1) + _people(2, born="1990-01-01"),
        "hospital_admissions": _episodes(
            (1, "2019-12-01", "2019-12-05"),  # before the 70th birthday
            (1, "2020-01-10", "2020-01-15"),
            (1, "2020-01-15", "2020-01-16", "elective"),
            (1, "2020-01-16", "2020-01-17"),
            (2, "2020-01-10", "2020-01-15"),
        ),
        "clinical_events": [
            {"patient_id": 1, "date": d, "snomedct_code": "195967001"}
            for d in ("2020-01-14", "2020-01-15", "2020-02-01")
        ],
    }
    episodes = ha.where(ha.admission_method == "emergency").where(
        ha.admission_date.is_on_or_after(patients.date_of_birth + years(70))
    )
    stays = episodes.spells(start=episodes.admission_date, end=episodes.discharge_date)
    first = stays.sort_by(stays.start_date).first_for_patient()
    length = stays.end_date.difference_in_days(stays.start_date)
    out = _run(
        engine_for,
        rows,
        n=stays.count_for_patient(),
        long_stays=stays.where(length >= 2).count_for_patient(),
        first_end=first.end_date,
        events_after=ce.where(ce.date.is_after(first.end_date)).count_for_patient(),
    )
    assert out == {
        1: {"n": 2, "long_stays": 1, "first_end": D("2020-01-15"), "events_after": 1},
        2: {"n": 0, "long_stays": 0, "first_end": None, "events_after": 0},
    }


# --- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ha.spells(start=ha.admission_method, end=ha.discharge_date), "date column"),
        (lambda: ha.spells(start=ha.admission_date, end="2024-01-01"), "date column"),
        (
            lambda: ha.spells(start=patients.date_of_birth, end=ha.discharge_date),
            "a value for each row of hospital_admissions",
        ),
        (
            lambda: ha.spells(start=ce.date, end=ha.discharge_date),
            "a value for each row of hospital_admissions",
        ),
        (lambda: _stays(months(1)), "whole number of days"),
        (lambda: _stays(-1), "whole number of days"),
        (lambda: _stays(True), "whole number of days"),
        (lambda: _stays().end_dat, "did you mean 'end_date'"),
    ],
)
def test_spells_mistakes_are_caught_on_the_line(build, message) -> None:
    with pytest.raises(DefinitionError) as caught:
        build()
    assert message in str(caught.value) + caught.value.fix


def test_the_model_refuses_spells_that_mean_nothing() -> None:
    table = m.TableFrame("hospital_admissions")
    admitted = m.Column(table, "admission_date", m.Kind.DATE)
    cases = [
        (lambda: m.Spells(m.TableFrame("patients"), admitted, admitted, 0), "many rows"),
        (lambda: m.Spells(table, admitted, admitted, -1), "0 or more"),
        (lambda: m.Spells(table, admitted, m.Value(D("2024-01-01"), m.Kind.DATE), 0), "per row"),
        (lambda: m.Spells(table, admitted, INTERVAL.start_date.node, 0), "per row"),
        (
            lambda: m.Spells(
                m.Filter(
                    table, m.Apply(m.Fn.GE, (admitted, INTERVAL.start_date.node), m.Kind.BOOL)
                ),
                admitted,
                admitted,
                0,
            ),
            "interval",
        ),
        (
            lambda: m.Column(m.Spells(table, admitted, admitted, 0), "admission_date", m.Kind.DATE),
            "no column",
        ),
    ]
    for build, message in cases:
        with pytest.raises(m.InvalidModel, match=message):
            build()
