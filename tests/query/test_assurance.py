"""Test patients: a study's made-up patients are checked on every engine, and mistakes in
them, or in the definition, are reported by patient, column and engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp
from test_cli import STUDY
from typer.testing import CliRunner

import fivesafes.cli.assure  # noqa: F401  (registers the command)
from fivesafes.cli.common import app
from fivesafes.query import model as m
from fivesafes.query import operations
from fivesafes.query.assurance import Difference, check, read_test_patients, runner
from fivesafes.query.study import StudyError, load_test_patients
from spark_switch import RUN_SPARK

PATIENTS = """
test_patients = {
    1: {
        "patients": {"sex": "female", "date_of_birth": "1980-04-01"},
        "practice_registrations": [{"start_date": "2010-01-01"}],
        "clinical_events": [
            {"date": "2020-01-01", "snomedct_code": "195967001"},
            {"date": "2024-04-01", "snomedct_code": "195967001"},
        ],
        "expected_columns": {"sex": "female", "age": AGE, "asthma_events": 1},
    },
    2: {
        "patients": {"sex": "male", "date_of_birth": "1990-01-01", "date_of_death": "2023-01-01"},
        "practice_registrations": [{"start_date": "2010-01-01"}],
        "expected_in_population": False,
    },
    3: {"practice_registrations": [{"start_date": "2025-01-01"}], "expected_in_population": IN},
}
"""


def _study(tmp_path: Path, age: int = 43, in_population: bool = False, extra: str = "") -> Path:
    """The CLI tests' study (the issue's example) with three test patients."""
    codes = tmp_path / "asthma.csv"
    codes.write_text("code,term\n195967001,Asthma\n")
    path = tmp_path / "study.py"
    patients = PATIENTS.replace("AGE", str(age)).replace("IN", str(in_population))
    path.write_text(STUDY.format(codelist=codes) + patients + extra)
    return path


def _check(path: Path, engines: tuple[str, ...] = ("reference", "duckdb")) -> list[Difference]:
    query, patients = load_test_patients(path)
    return check(query, patients, {name: runner(name) for name in engines})


def test_test_patients_as_expected_pass_on_every_engine(tmp_path: Path) -> None:
    assert _check(_study(tmp_path)) == []


@pytest.mark.spark
@pytest.mark.skipif(not RUN_SPARK, reason="Spark runs when FIVESAFES_SPARK_TESTS=1")
def test_test_patients_pass_on_spark(tmp_path: Path, spark_session: Any) -> None:
    assert _check(_study(tmp_path), ("spark",)) == []


def test_a_wrong_expectation_is_reported_by_patient_column_and_engine(tmp_path: Path) -> None:
    differences = _check(_study(tmp_path, age=44, in_population=True))
    assert [d.describe() for d in differences] == [
        "patient 1, column age: expected 44; got 43 on reference, duckdb",
        "patient 3: expected in the population; got not in the population on reference, duckdb",
    ]


def test_engines_that_disagree_are_told_apart(tmp_path: Path, monkeypatch) -> None:
    """A fault in one engine shows as two answers, each with the engines that gave it."""
    monkeypatch.setitem(
        operations.FUNCTIONS,
        m.Fn.LE,
        lambda args, node: exp.paren(exp.LT(this=args[0], expression=args[1])),
    )
    path = _study(tmp_path, extra='test_patients[1]["clinical_events"][0]["date"] = index_date\n')
    (difference,) = _check(path)
    assert difference.describe() == (
        "patient 1, column asthma_events: expected 1; got 1 on reference; got 0 on duckdb"
    )


@pytest.mark.parametrize(
    ("patients", "problem"),
    [
        (
            {1: {"clinical_event": []}},
            "'clinical_event' is not a patient table or an expected result; did you mean",
        ),
        (
            {1: {"patients": {"sexx": "male"}}},
            "test patient 1, patients: patients has no column 'sexx'; did you mean 'sex'?",
        ),
        (
            {1: {"clinical_events": [{"date": "2020-01-01"}, {"snomed": "1"}]}},
            "test patient 1, clinical_events row 2: clinical_events has no column 'snomed'",
        ),
        ({1: {"patients": {"patient_id": 3}}}, "it is the test patient's id"),
        (
            {1: {"patients": {"date_of_birth": "01/02/1980"}}},
            "patients, date_of_birth: '01/02/1980' is not a date",
        ),
        (
            {1: {"clinical_events": [{"numeric_value": "high"}]}},
            "numeric_value: 'high' is not float value",
        ),
        ({1: {"clinical_events": {"date": "2020-01-01"}}}, "clinical_events: give a list of dicts"),
        ({1: {"patients": [{}, {}]}}, "one row of patients at most"),
        (
            {1: {"expected_columns": {"agee": 3}}},
            "the dataset has no column 'agee'; did you mean 'age'?",
        ),
        ({1: {"expected_columns": {"age": "3"}}}, "expected age: '3' is not integer value"),
        ({1: {"expected_in_population": "yes"}}, "must be True or False"),
        (
            {1: {"expected_in_population": False, "expected_columns": {"age": 3}}},
            "has no columns to expect",
        ),
        ({"one": {}}, "patient ids must be whole numbers"),
        ([1, 2], "test_patients must be a dict"),
    ],
)
def test_mistakes_in_test_patients_name_the_patient_and_field(
    tmp_path: Path, patients, problem
) -> None:
    path = _study(tmp_path, extra=f"test_patients = {patients!r}\n")
    with pytest.raises(StudyError) as caught:
        load_test_patients(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_a_study_without_test_patients_says_how_to_add_them(tmp_path: Path) -> None:
    path = _study(tmp_path, extra="del test_patients\n")
    with pytest.raises(StudyError, match="has no test patients: define test_patients"):
        load_test_patients(path)


def test_values_are_read_as_the_engines_hold_them() -> None:
    from fivesafes import Dataset
    from fivesafes.tables import clinical_events as ce
    from fivesafes.tables import patients

    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.bmi = ce.numeric_value.maximum_for_patient()
    (patient,) = read_test_patients(
        {7: {"clinical_events": [{"numeric_value": 30}], "expected_columns": {"bmi": 30}}},
        dataset.query(),
    )
    assert patient.rows["clinical_events"] == [{"patient_id": 7, "numeric_value": 30.0}]
    assert patient.rows["patients"] == [{"patient_id": 7}]  # everyone is in the register
    assert patient.columns == {"bmi": 30.0}


def _invoke(*args: object) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_test_command_passes(tmp_path: Path) -> None:
    result = _invoke("test", _study(tmp_path), "--engine", "reference", "--engine", "duckdb")
    assert result.exit_code == 0, result.output
    assert "all 3 test patients as expected on reference, duckdb" in result.output


def test_the_test_command_fails_with_each_difference(tmp_path: Path) -> None:
    path = _study(tmp_path, age=44)
    result = _invoke("test", path, "--engine", "reference", "--engine", "duckdb")
    assert result.exit_code == 1
    assert "✗ patient 1, column age: expected 44; got 43 on reference, duckdb" in result.output
    assert f"1 of 3 test patients differ from what {path} expects" in result.output


def test_the_test_command_reports_a_study_error_in_one_line(tmp_path: Path) -> None:
    path = _study(tmp_path, extra='test_patients[1]["patients"]["sexx"] = "male"\n')
    result = _invoke("test", path, "--engine", "reference")
    assert result.exit_code == 2  # an error, where differences exit with 1
    assert "patients has no column 'sexx'; did you mean 'sex'?" in result.output
    assert "Traceback" not in result.output
    assert "unknown engine 'sqlite'" in _invoke("test", path, "--engine", "sqlite").output


@pytest.mark.spark
@pytest.mark.skipif(not RUN_SPARK, reason="Spark runs when FIVESAFES_SPARK_TESTS=1")
def test_the_test_command_checks_every_engine_by_default(
    tmp_path: Path, spark_session: Any
) -> None:
    result = _invoke("test", _study(tmp_path))
    assert result.exit_code == 0, result.output
    assert "as expected on reference, duckdb, spark" in result.output
