"""The language, operation by operation: small input tables and the exact output expected.

Every case runs on every engine (``engine_for`` is parametrised; Spark runs when
``FIVESAFES_SPARK_TESTS=1``). Dates are written as ISO strings for brevity.
"""

from __future__ import annotations

from datetime import date

import pytest
from harness import run, run_measures

from fivesafes import Dataset, Measures, case, codelist, days, months, when, years
from fivesafes.query.dates import INTERVAL
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import medications, patients, practice_registrations

D = date.fromisoformat
ASTHMA = "195967001"
COPD = "13645005"
BMI = "60621009"


def _patients(*rows: tuple) -> list[dict]:
    return [
        {"patient_id": pid, "sex": sex, "date_of_birth": dob, "date_of_death": dod}
        for pid, sex, dob, dod in rows
    ]


def _events(*rows: tuple) -> list[dict]:
    return [
        {"patient_id": pid, "date": d, "snomedct_code": code, "numeric_value": value}
        for pid, d, code, value in rows
    ]


PEOPLE = _patients(
    (1, "female", "1980-05-01", None),
    (2, "male", "2000-01-01", "2023-01-01"),
    (3, "female", "2010-03-01", None),
)
EVENTS = _events(
    (1, "2020-01-01", ASTHMA, None),
    (1, "2021-06-01", BMI, 31.5),
    (1, "2022-06-01", BMI, 29.0),
    (2, "2019-01-01", COPD, None),
    (2, "2019-01-01", BMI, 22.0),
    (3, "2023-02-01", BMI, None),
)


def _dataset(**columns: object) -> Dataset:
    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    for name, value in columns.items():
        dataset.add_column(name, value)
    return dataset


def _column(engine_for, name: str, value: object, events=EVENTS, people=PEOPLE) -> dict:
    engine = engine_for({"patients": people, "clinical_events": events})
    rows = run(engine, _dataset(**{name: value}))
    return {r["patient_id"]: r[name] for r in rows}


# --- frames: filtering -----------------------------------------------------------------


def test_where_keeps_rows_whose_condition_is_true(engine_for) -> None:
    value = ce.where(ce.snomedct_code == BMI).count_for_patient()
    assert _column(engine_for, "n", value) == {1: 2, 2: 1, 3: 1}


def test_where_drops_rows_whose_condition_is_null(engine_for) -> None:
    value = ce.where(ce.numeric_value > 25).count_for_patient()
    assert _column(engine_for, "n", value) == {1: 2, 2: 0, 3: 0}


def test_except_where_keeps_rows_whose_condition_is_null(engine_for) -> None:
    value = ce.except_where(ce.numeric_value > 25).count_for_patient()
    assert _column(engine_for, "n", value) == {1: 1, 2: 2, 3: 1}


def test_is_in_a_codelist(engine_for) -> None:
    conditions = codelist([ASTHMA, COPD], system="snomedct")
    value = ce.where(ce.snomedct_code.is_in(conditions)).exists_for_patient()
    assert _column(engine_for, "has", value) == {1: True, 2: True, 3: False}


def test_is_not_in(engine_for) -> None:
    value = ce.where(ce.snomedct_code.is_not_in([BMI])).count_for_patient()
    assert _column(engine_for, "n", value) == {1: 1, 2: 1, 3: 0}


def test_to_category_maps_codes_through_a_codelist(engine_for, tmp_path) -> None:
    from fivesafes import codelist_from_csv

    path = tmp_path / "resp.csv"
    path.write_text(f"code,term,group\n{ASTHMA},Asthma,asthma\n{COPD},COPD,copd\n")
    resp = codelist_from_csv(path, column="code", category_columns=["group"])
    first = ce.where(ce.snomedct_code.is_in(resp)).sort_by(ce.date).first_for_patient()
    value = first.snomedct_code.to_category(resp, "group")
    assert _column(engine_for, "group", value) == {1: "asthma", 2: "copd", 3: None}


# --- sorting and picking one row --------------------------------------------------------


def test_first_and_last_for_patient(engine_for) -> None:
    bmi = ce.where(ce.snomedct_code == BMI).sort_by(ce.date)
    assert _column(engine_for, "v", bmi.first_for_patient().numeric_value) == {
        1: 31.5,
        2: 22.0,
        3: None,
    }
    assert _column(engine_for, "v", bmi.last_for_patient().numeric_value) == {
        1: 29.0,
        2: 22.0,
        3: None,
    }


def test_nulls_sort_first_and_ties_break_on_the_other_columns(engine_for) -> None:
    events = _events((1, "2020-01-01", BMI, 5.0), (1, "2021-01-01", BMI, None))
    by_value = ce.sort_by(ce.numeric_value)
    assert _column(engine_for, "d", by_value.first_for_patient().date, events) == {
        1: D("2021-01-01"),
        2: None,
        3: None,
    }
    tied = _events((1, "2020-01-01", COPD, None), (1, "2020-01-01", ASTHMA, None))
    first = ce.sort_by(ce.date).first_for_patient().snomedct_code
    last = ce.sort_by(ce.date).last_for_patient().snomedct_code
    assert _column(engine_for, "c", first, tied)[1] == COPD  # "13645005" < "195967001"
    assert _column(engine_for, "c", last, tied)[1] == ASTHMA


def test_a_picked_row_counts_once(engine_for) -> None:
    """Found by the generative tests: a row picked per patient is one row or none, however
    many rows it was picked from (it was counted as all of them)."""
    high = ce.where(ce.numeric_value > 25).sort_by(ce.date)
    dataset = _dataset(
        picked=high.last_for_patient().count_for_patient(),
        picked_exists=high.first_for_patient().exists_for_patient(),
        rows=high.count_for_patient(),
    )
    rows = run(engine_for({"patients": PEOPLE, "clinical_events": EVENTS}), dataset)
    assert [(r["picked"], r["picked_exists"], r["rows"]) for r in rows] == [
        (1, True, 2),
        (0, False, 0),
        (0, False, 0),
    ]


# --- aggregations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: ce.exists_for_patient(), {1: True, 2: True, 3: True}),
        (lambda: ce.count_for_patient(), {1: 3, 2: 2, 3: 1}),
        (lambda: ce.numeric_value.sum_for_patient(), {1: 60.5, 2: 22.0, 3: None}),
        (lambda: ce.numeric_value.mean_for_patient(), {1: 30.25, 2: 22.0, 3: None}),
        (lambda: ce.numeric_value.minimum_for_patient(), {1: 29.0, 2: 22.0, 3: None}),
        (lambda: ce.numeric_value.maximum_for_patient(), {1: 31.5, 2: 22.0, 3: None}),
        (
            lambda: ce.date.maximum_for_patient(),
            {1: D("2022-06-01"), 2: D("2019-01-01"), 3: D("2023-02-01")},
        ),
        (lambda: ce.snomedct_code.count_distinct_for_patient(), {1: 2, 2: 2, 3: 1}),
        (lambda: ce.date.count_distinct_for_patient(), {1: 3, 2: 1, 3: 1}),
    ],
    ids=["exists", "count", "sum", "mean", "min", "max", "max-date", "count-distinct", "cd-date"],
)
def test_aggregations(engine_for, build, expected) -> None:
    assert _column(engine_for, "v", build()) == expected


def test_aggregations_of_patients_with_no_rows(engine_for) -> None:
    none = ce.where(ce.snomedct_code == "22298006")
    dataset = _dataset(
        exists=none.exists_for_patient(),
        count=none.count_for_patient(),
        total=none.numeric_value.sum_for_patient(),
        distinct=none.date.count_distinct_for_patient(),
    )
    engine = engine_for({"patients": PEOPLE, "clinical_events": EVENTS})
    row = run(engine, dataset)[0]
    assert row == {"patient_id": 1, "exists": False, "count": 0, "total": None, "distinct": 0}


# --- dates -----------------------------------------------------------------------------


def test_age_on_counts_whole_years(engine_for) -> None:
    people = _patients((1, "female", "1980-05-01", None), (2, "male", "2000-04-01", None))
    engine = engine_for({"patients": people})
    rows = run(
        engine, _dataset(before=patients.age_on("2024-04-30"), on=patients.age_on("2024-05-01"))
    )
    assert [(r["before"], r["on"]) for r in rows] == [(43, 44), (24, 24)]


def test_date_arithmetic(engine_for) -> None:
    people = _patients((1, "female", "2020-01-01", "2024-02-29"))
    died = patients.date_of_death
    dataset = _dataset(
        plus_days=died + days(1),
        minus_days=died - days(60),
        plus_month=died + months(1),
        plus_year=died + years(1),
        minus_year=died - years(4),
        jan31_plus_month=patients.date_of_birth + days(30) + months(1),
        diff_days=died.difference_in_days(patients.date_of_birth),
        diff_months=died.difference_in_months("2023-03-30"),
        diff_years=died.difference_in_years("2020-03-01"),
        negative_years=patients.date_of_birth.difference_in_years(died),
        year=died.year,
        month=died.month,
        day=died.day,
        first_of_month=died.to_first_of_month(),
        first_of_year=died.to_first_of_year(),
    )
    row = run(engine_for({"patients": people}), dataset)[0]
    assert row == {
        "patient_id": 1,
        "plus_days": D("2024-03-01"),
        "minus_days": D("2023-12-31"),
        "plus_month": D("2024-03-29"),
        "plus_year": D("2025-02-28"),
        "minus_year": D("2020-02-29"),
        "jan31_plus_month": D("2020-02-29"),
        "diff_days": 1520,
        "diff_months": 10,
        "diff_years": 3,
        "negative_years": -4,
        "year": 2024,
        "month": 2,
        "day": 29,
        "first_of_month": D("2024-02-01"),
        "first_of_year": D("2024-01-01"),
    }


def test_comparisons_and_is_between(engine_for) -> None:
    value = ce.where(ce.date.is_between("2020-01-01", "2021-06-01")).count_for_patient()
    assert _column(engine_for, "n", value) == {1: 2, 2: 0, 3: 0}
    on_or_after = ce.where(ce.date.is_on_or_after("2022-06-01")).count_for_patient()
    assert _column(engine_for, "n", on_or_after) == {1: 1, 2: 0, 3: 1}
    between = ce.where(ce.numeric_value.is_between(22, 29)).count_for_patient()
    assert _column(engine_for, "n", between) == {1: 1, 2: 1, 3: 0}


def test_a_patient_value_inside_an_event_condition(engine_for) -> None:
    adult = ce.where(ce.date.is_on_or_after(patients.date_of_birth + years(18)))
    assert _column(engine_for, "n", adult.count_for_patient()) == {1: 3, 2: 2, 3: 0}


# --- logic, nulls, arithmetic, case ---------------------------------------------------------


def test_three_valued_logic(engine_for) -> None:
    people = _patients((1, "female", "1980-01-01", None), (2, "male", "1980-01-01", "2020-01-01"))
    died = patients.date_of_death.is_before("2021-01-01")  # NULL for patient 1
    female = patients.sex == "female"
    dataset = _dataset(
        and_false=died & ~female,
        or_true=died | female,
        not_=~died,
        is_null=died.is_null(),
        filled=died.when_null_then(False),
    )
    rows = run(engine_for({"patients": people}), dataset)
    assert rows == [
        {
            "patient_id": 1,
            "and_false": False,
            "or_true": True,
            "not_": None,
            "is_null": True,
            "filled": False,
        },
        {
            "patient_id": 2,
            "and_false": True,
            "or_true": True,
            "not_": False,
            "is_null": False,
            "filled": True,
        },
    ]


def test_arithmetic_and_division_by_zero(engine_for) -> None:
    n = ce.count_for_patient()
    bmi = ce.numeric_value.maximum_for_patient()
    dataset = _dataset(
        plus=n + 1,
        times=n * 2.5,
        minus=10 - n,
        per=n / (n - 1),
        neg=-n,
        half=(bmi / 2).as_int(),
        whole=(n > 1).as_int(),
    )
    rows = run(engine_for({"patients": PEOPLE, "clinical_events": EVENTS}), dataset)
    assert [
        (r["plus"], r["times"], r["minus"], r["per"], r["neg"], r["half"], r["whole"]) for r in rows
    ] == [
        (4, 7.5, 7, 1.5, -3, 15, 1),
        (3, 5.0, 8, 2.0, -2, 11, 1),
        (2, 2.5, 9, None, -1, None, 0),
    ]


def test_case_takes_the_first_true_branch(engine_for) -> None:
    age = patients.age_on("2024-01-01")
    band = case(
        when(age < 18).then("child"),
        when(age < 65).then("adult"),
        otherwise="older",
    )
    dead = case(when(patients.date_of_death.is_not_null()).then(1))
    rows = run(engine_for({"patients": PEOPLE}), _dataset(band=band, dead=dead))
    assert [(r["band"], r["dead"]) for r in rows] == [
        ("adult", None),
        ("adult", 1),
        ("child", None),
    ]


# --- population, exclusion, tables ----------------------------------------------------------


def test_population_and_registration_on_a_date(engine_for) -> None:
    registrations = [
        {
            "patient_id": 1,
            "start_date": "2010-01-01",
            "end_date": "2015-01-01",
            "practice_code": "A1",
            "imd_decile": 2,
        },
        {
            "patient_id": 1,
            "start_date": "2015-01-02",
            "end_date": None,
            "practice_code": "B2",
            "imd_decile": 7,
        },
        {
            "patient_id": 2,
            "start_date": "2010-01-01",
            "end_date": None,
            "practice_code": "A1",
            "imd_decile": 2,
        },
        {
            "patient_id": 3,
            "start_date": "2024-06-01",
            "end_date": None,
            "practice_code": "A1",
            "imd_decile": 2,
        },
    ]
    index = "2022-03-31"
    dataset = Dataset()
    dataset.define_population(
        practice_registrations.for_patient_on(index).exists_for_patient()
        & patients.is_alive_on(index)
    )
    dataset.practice = practice_registrations.for_patient_on(index).practice_code
    dataset.imd = practice_registrations.for_patient_on(index).imd_decile
    engine = engine_for({"patients": PEOPLE, "practice_registrations": registrations})
    assert run(engine, dataset) == [
        {"patient_id": 1, "practice": "B2", "imd": 7},
        {"patient_id": 2, "practice": "A1", "imd": 2},
    ]


def test_the_areas_of_a_registration_at_every_level(engine_for) -> None:
    """The practice's Sub ICB Location and ICB (registration) and the address's local authority
    (residence) on the registration in force, grouped by in a measure as a profile groups."""

    def registration(pid: int, start: str, end: str | None, sub: str, icb: str, la: str) -> dict:
        return {"patient_id": pid, "start_date": start, "end_date": end, "practice_code": "A1",
                "sub_icb_code": sub, "icb_code": icb, "local_authority_code": la}  # fmt: skip

    registrations = [
        registration(1, "2010-01-01", "2015-01-01", "E38000014", "E54000048", "E06000008"),
        registration(1, "2015-01-02", None, "E38000050", "E54000048", "E07000117"),
        registration(2, "2010-01-01", None, "E38000050", "E54000048", "E06000008"),
        registration(3, "2010-01-01", None, "E38000244", "E54000013", "E07000137"),
    ]
    index = "2022-03-31"
    on = practice_registrations.for_patient_on(index)
    dataset = Dataset()
    dataset.define_population(on.exists_for_patient() & patients.is_alive_on(index))
    dataset.sub_icb = on.sub_icb_code
    dataset.icb = on.icb_code
    dataset.la = on.local_authority_code
    engine = engine_for({"patients": PEOPLE, "practice_registrations": registrations})
    assert run(engine, dataset) == [
        {"patient_id": 1, "sub_icb": "E38000050", "icb": "E54000048", "la": "E07000117"},
        {"patient_id": 2, "sub_icb": "E38000050", "icb": "E54000048", "la": "E06000008"},
        {"patient_id": 3, "sub_icb": "E38000244", "icb": "E54000013", "la": "E07000137"},
    ]


def test_patients_come_from_the_patients_table(engine_for) -> None:
    dataset = Dataset()
    dataset.define_population(medications.exists_for_patient() | patients.exists_for_patient())
    meds = [{"patient_id": 9, "date": "2020-01-01", "dmd_code": "39733011000001106"}]
    engine = engine_for({"patients": PEOPLE, "medications": meds})
    assert [r["patient_id"] for r in run(engine, dataset)] == [1, 2, 3]


def test_excluded_patients_never_appear(engine_for) -> None:
    dataset = _dataset(n=ce.count_for_patient())
    engine = engine_for({"patients": PEOPLE, "clinical_events": EVENTS})
    assert [r["patient_id"] for r in run(engine, dataset, exclude=[2, 99])] == [1, 3]


# --- measures -----------------------------------------------------------------------------


def test_measures_every_interval_and_group_in_one_query(engine_for) -> None:
    measures = Measures()
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_measure(
        "bmi_recorded",
        numerator=in_interval.where(ce.snomedct_code == BMI).exists_for_patient(),
        denominator=patients.is_alive_on(INTERVAL.start_date),
        group_by={"sex": patients.sex},
        intervals=years(3).starting_on("2021-01-01"),
    )
    engine = engine_for({"patients": PEOPLE, "clinical_events": EVENTS})
    rows = run_measures(engine, measures)
    assert [
        (r["interval_start"].year, r["sex"], r["numerator"], r["denominator"], r["ratio"])
        for r in rows
    ] == [
        (2021, "female", 1, 2, 0.5),
        (2021, "male", 0, 1, 0.0),
        (2022, "female", 1, 2, 0.5),
        (2022, "male", 0, 1, 0.0),
        (2023, "female", 1, 2, 0.5),
    ]
    assert rows[0]["interval_end"] == D("2021-12-31")


def test_several_measures_in_definition_order_with_their_own_groups(engine_for) -> None:
    measures = Measures()
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_defaults(intervals=years(3).starting_on("2021-01-01"))
    measures.define_measure(
        "bmi_recorded",
        numerator=in_interval.where(ce.snomedct_code == BMI).exists_for_patient(),
        denominator=patients.is_alive_on(INTERVAL.start_date),
        group_by={"sex": patients.sex},
    )
    measures.define_measure(
        "alive_at_end",
        numerator=patients.is_alive_on(INTERVAL.end_date),
        denominator=patients.exists_for_patient(),
    )
    measures.define_measure(
        "events",
        numerator=in_interval.count_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={"sex": patients.sex},
        intervals=months(1).starting_on("2020-01-01"),
    )
    engine = engine_for({"patients": PEOPLE, "clinical_events": EVENTS})
    rows = run_measures(engine, measures)
    assert [
        (r["measure"], r["interval_start"].year, r["sex"], r["numerator"], r["denominator"])
        for r in rows
    ] == [
        ("bmi_recorded", 2021, "female", 1, 2),
        ("bmi_recorded", 2021, "male", 0, 1),
        ("bmi_recorded", 2022, "female", 1, 2),
        ("bmi_recorded", 2022, "male", 0, 1),
        ("bmi_recorded", 2023, "female", 1, 2),
        ("alive_at_end", 2021, None, 3, 3),
        ("alive_at_end", 2022, None, 3, 3),
        ("alive_at_end", 2023, None, 2, 3),
        ("events", 2020, "female", 1, 2),
        ("events", 2020, "male", 0, 1),
    ]


def test_negations_and_look_ups_keep_their_meaning_inside_other_operations(engine_for) -> None:
    """Found by the generative tests: ``NOT`` binds more loosely than ``IS`` in SQL, so a
    negated condition asked whether it is NULL was read as the negation of another question
    (and Spark could not parse ``x IN (...) IS NULL``)."""
    died = patients.date_of_death.is_null()
    male = patients.sex.is_in(["male"])
    dataset = _dataset(
        negated_is_null=(~died).is_null(),
        in_is_null=male.is_in([True]).is_null(),
        not_in=~male,
    )
    people = _patients((1, "female", "1980-01-01", None), (2, "male", "1990-01-01", None))
    people.append({"patient_id": 3, "sex": None, "date_of_birth": "1990-01-01"})
    rows = run(engine_for({"patients": people}), dataset)
    assert [(r["negated_is_null"], r["in_is_null"], r["not_in"]) for r in rows] == [
        (False, False, True),
        (False, False, False),
        (False, True, None),
    ]


def test_measures_over_intervals_sharing_a_start_with_a_missing_group(engine_for) -> None:
    """Found by the generative tests: two intervals starting on one day are told apart by
    their ends (values were joined on the start alone), and a patient whose group is
    missing is counted in a group of their own, first (Spark refused the NULL)."""
    people = [*PEOPLE, {"patient_id": 4, "date_of_birth": "1990-01-01"}]
    events = [*EVENTS, *_events((4, "2021-09-01", BMI, 24.0))]
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures = Measures()
    measures.define_measure(
        "bmi_recorded",
        numerator=in_interval.where(ce.snomedct_code == BMI).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={"sex": patients.sex},
        intervals=[("2021-01-01", "2021-06-30"), ("2021-01-01", "2021-12-31")],
    )
    engine = engine_for({"patients": people, "clinical_events": events})
    rows = run_measures(engine, measures)
    assert [
        (r["interval_end"], r["sex"], r["numerator"], r["denominator"], r["ratio"]) for r in rows
    ] == [
        (D("2021-06-30"), None, 0, 1, 0.0),
        (D("2021-06-30"), "female", 1, 2, 0.5),
        (D("2021-06-30"), "male", 0, 1, 0.0),
        (D("2021-12-31"), None, 1, 1, 1.0),
        (D("2021-12-31"), "female", 1, 2, 0.5),
        (D("2021-12-31"), "male", 0, 1, 0.0),
    ]


def test_measures_with_no_numerator_or_no_denominator_have_no_ratio(engine_for) -> None:
    """A numerator that is NULL for every patient counted sums to NULL; denominators that sum
    to zero (a count may be negative) give a NULL ratio, not a division by zero."""
    people = _patients((1, "female", "1980-01-01", None), (2, "male", "1990-01-01", None))
    measures = Measures()
    measures.define_defaults(intervals=years(1).starting_on("2021-01-01"))
    measures.define_measure(
        "balanced",
        numerator=patients.exists_for_patient(),
        denominator=case(when(patients.sex == "female").then(1), otherwise=-1),
    )
    measures.define_measure(
        "unknown",
        numerator=patients.date_of_death.is_before(INTERVAL.end_date),
        denominator=patients.exists_for_patient(),
    )
    rows = run_measures(engine_for({"patients": people}), measures)
    assert [(r["measure"], r["numerator"], r["denominator"], r["ratio"]) for r in rows] == [
        ("balanced", 2, 0, None),
        ("unknown", None, 2, None),
    ]
