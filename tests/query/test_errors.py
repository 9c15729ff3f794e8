"""Mistakes are caught when the definition is built, on the analyst's own line, with a fix."""

from __future__ import annotations

import sys

import pytest

from fivesafes import Dataset, case, codelist, days, when
from fivesafes.query.errors import DefinitionError
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import hospital_admissions, medications, patients


def _raises(build) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        build()
    return caught.value


def test_error_names_this_file_and_line() -> None:
    line = sys._getframe().f_lineno + 1
    error = _raises(lambda: ce.date > 3)
    assert error.location == (__file__, line)
    assert str(error).startswith(f"{__file__}, line {line}: cannot compare a date")
    assert "how to fix" in str(error)


@pytest.mark.parametrize(
    ("build", "problem", "fix"),
    [
        (lambda: ce.date > 3, "cannot compare a date value and an integer", "like with like"),
        (lambda: ce.date == "31/03/2024", "is not a date", "YYYY-MM-DD"),
        (lambda: ce.first_for_patient(), "needs the rows sorted", ".sort_by(clinical_events.date)"),
        (lambda: ce.no_such_column, "no column or method 'no_such_column'", "snomedct_code"),
        (
            lambda: ce.snomedct_code.is_in(codelist(["E11.9"], system="icd10")),
            "holds ICD10 codes but this column holds SNOMEDCT codes",
            "code list of the column's code system",
        ),
        (
            lambda: ce.snomedct_code.is_in(codelist(["E11.9"])),
            "not SNOMEDCT codes",
            "this column's code system",
        ),
        (lambda: codelist(["x"], system="read2"), "unknown code system 'read2'", "snomedct"),
        (
            lambda: ce.date.is_after(medications.date),
            "two different sets of event rows",
            "aggregate each",
        ),
        (
            lambda: ce.where(medications.dmd_code == "1"),
            "rows of medications, not of clinical_events",
            "columns of the frame you filter",
        ),
        (lambda: patients.age_on("2024-01-01") + "a", "arithmetic needs numbers", "numbers"),
        (lambda: patients.date_of_birth + 3, "only a duration can be added", "days(n)"),
        (lambda: days(1.5), "takes a whole number", "days(3)"),
        (lambda: (ce.date > "2020-01-01") and True, "cannot be used with Python's", "&"),
        (
            lambda: case(when(patients.sex == "male").then(1), otherwise="x"),
            "otherwise= is a string value but the branches give integer",
            "same type",
        ),
        (lambda: ce.numeric_value.sum_for_patient().sum_for_patient(), "already has one", ""),
        (lambda: ce.where(ce.date).count_for_patient(), "true/false condition", "comparison"),
    ],
)
def test_mistakes_are_explained(build, problem: str, fix: str) -> None:
    error = _raises(build)
    assert problem in error.problem
    assert fix in error.fix
    assert error.location is not None and error.location[0] == __file__


def test_dataset_columns_must_be_one_value_per_patient() -> None:
    dataset = Dataset()
    error = _raises(lambda: setattr(dataset, "dates", hospital_admissions.admission_date))
    assert "many values per patient" in error.problem
    assert ".count_for_patient()" in error.fix
    error = _raises(lambda: setattr(dataset, "patient_id", patients.sex))
    assert "reserved" in error.problem


def test_a_dataset_needs_a_population() -> None:
    dataset = Dataset()
    dataset.sex = patients.sex
    assert "no population" in _raises(dataset.query).problem
