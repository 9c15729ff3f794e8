"""Mistakes are caught when the definition is built, on the analyst's own line, with a fix."""

from __future__ import annotations

import sys
from datetime import date

import pytest

from fivesafes import INTERVAL, Dataset, Measures, case, codelist, days, when
from fivesafes.query import model as m
from fivesafes.query.errors import DefinitionError
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import hospital_admissions, medications, patients, practice_registrations


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


# --- silent mistakes are errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "problem", "fix"),
    [
        (lambda: patients.sex == "Male", "patients.sex is never 'Male'", "did you mean 'male'?"),
        (lambda: patients.sex != "F", "its values are 'female', 'male'", "one of its values"),
        (
            lambda: hospital_admissions.admission_method.is_in(["emergancy", "elective"]),
            "is never 'emergancy'",
            "did you mean 'emergency'?",
        ),
        (
            lambda: ce.date.is_on_or_between("2020-01-01", "2021-01-01"),
            "no attribute",
            "'is_between'",
        ),
        (lambda: ce.snomed_code, "no column or method 'snomed_code'", "'snomedct_code'"),
        (lambda: ce.where(ce.date > "2020-01-01").count_for_patent(), "", "'count_for_patient'"),
        (lambda: patients.age_on("2024-01-01").is_betwen(1, 2), "", "'is_between'"),
        (lambda: patients.patient_id, "cannot be used in a definition", "patient_id column"),
        (lambda: ce.snomedct_code.is_in([None]), "cannot look for None", ".is_null()"),
        (lambda: ce.snomedct_code.is_in([]), "no values", "not empty"),
        (lambda: patients.age_on("2024-01-01").is_in([2.5]), "never 2.5", "integer values"),
        (lambda: codelist([" "]), "has no codes", "list the codes"),
        (lambda: codelist("195967001"), "not a list of codes", "codelist(['195967001']"),
        (lambda: INTERVAL.start, "INTERVAL has no attribute", "'start_date'"),
        (lambda: days(3).starting_onn("2024-01-01"), "", "'starting_on'"),
        (lambda: when(patients.sex == "male").than(1), "", "'then'"),
        (lambda: Measures().define_measur, "", "'define_measure'"),
        (lambda: codelist(["1"]).code, "", "'codes'"),
        (lambda: Dataset().define_populaton, "no column or method", "'define_population'"),
    ],
)
def test_silent_mistakes_are_errors(build, problem: str, fix: str) -> None:
    error = _raises(build)
    assert problem in error.problem
    assert fix in error.fix
    assert error.location is not None and error.location[0] == __file__


def test_a_mistyped_attribute_is_still_an_attribute_error() -> None:
    """hasattr and getattr(x, name, default) keep working on the language's objects."""
    assert not hasattr(ce.date, "is_on_or_between")
    assert getattr(patients, "no_such_thing", None) is None
    assert not hasattr(Dataset(), "colour")
    assert not hasattr(INTERVAL, "start")


def _surface() -> dict[str, object]:
    """Every kind of object a study file handles, by what it is."""
    picked = ce.sort_by(ce.date).first_for_patient()
    return {
        "patients": patients,
        "an event table": ce,
        "practice_registrations": practice_registrations,
        "filtered rows": ce.where(ce.date > "2020-01-01"),
        "sorted rows": ce.sort_by(ce.date),
        "a picked row": picked,
        "spells": hospital_admissions.spells(
            start=hospital_admissions.admission_date, end=hospital_admissions.discharge_date
        ),
        "a condition": patients.sex == "male",
        "an integer": patients.age_on("2020-01-01"),
        "a number": ce.numeric_value,
        "a string": patients.sex,
        "a code": ce.snomedct_code,
        "a date": ce.date,
        "a dataset": Dataset(),
        "measures": Measures(),
        "a code list": codelist(["1"]),
        "a duration": days(1),
        "INTERVAL": INTERVAL,
        "when(...)": when(patients.sex == "male"),
    }


def _typos(name: str) -> set[str]:
    """The slips of one key: two neighbouring letters swapped, or one left out."""
    swapped = {name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(1, len(name) - 1)}
    dropped = {name[:i] + name[i + 1 :] for i in range(1, len(name))}
    return {t for t in swapped | dropped if t != name}


def test_every_name_of_the_language_mistyped_gets_a_did_you_mean() -> None:
    """The whole public surface, attacked: every method, property and column of every kind
    of object a study handles, mistyped each way one slip can, is a definition error that
    names the intended name -- never a silent ``AttributeError`` or a wrong guess."""
    from fivesafes.query.errors import UnknownName, public_names
    from fivesafes.query.frames import Frame

    tried = 0
    for what, obj in _surface().items():
        names = set(public_names(obj))
        if isinstance(obj, Frame):
            names |= set(m.row_columns(m.origin(obj.node)))
        assert names, what
        for name in sorted(names):
            for typo in sorted(_typos(name) - names):
                if hasattr(type(obj), typo):  # a real name one slip away from another
                    continue
                with pytest.raises(UnknownName) as caught:
                    getattr(obj, typo)
                assert f"did you mean {name!r}?" in caught.value.fix, (what, typo)
                tried += 1
    assert tried > 1000


def test_a_table_name_typo_gets_a_did_you_mean() -> None:
    import fivesafes.tables as tables

    assert "'clinical_events'" in _raises(lambda: tables.clinical_event).fix
    assert "organisation-level" in _raises(lambda: tables.workforce).problem


def test_a_header_only_code_list_is_an_error(tmp_path) -> None:
    from fivesafes import codelist_from_csv

    path = tmp_path / "asthma.csv"
    path.write_text("code,term\n")
    error = _raises(lambda: codelist_from_csv(path))
    assert "only a header" in error.problem
    path.write_text("code,term\n,Asthma\n")
    assert "has no codes in column 'code'" in _raises(lambda: codelist_from_csv(path)).problem


def test_interval_bounds_outside_measures_are_an_error() -> None:
    dataset = Dataset()
    error = _raises(lambda: setattr(dataset, "start", INTERVAL.start_date))
    assert "only mean something in measures" in error.problem


def test_a_column_named_like_a_method_is_an_error() -> None:
    dataset = Dataset()
    error = _raises(lambda: setattr(dataset, "define_population", patients.sex))
    assert "is a method of the dataset" in error.problem


@pytest.mark.parametrize("size", [0, -3, "100", 2.5])
def test_a_dummy_population_size_must_be_a_positive_whole_number(size) -> None:
    assert "dummy population" in _raises(lambda: Dataset().configure_dummy_data(size)).problem


def test_measures_intervals_and_groups_are_checked() -> None:
    measures = Measures()
    alive = patients.is_alive_on(INTERVAL.start_date)
    twice = [(date(2024, 1, 1), date(2024, 1, 31))] * 2
    error = _raises(lambda: measures.define_measure("m", alive, alive, intervals=twice))
    assert "same interval twice" in error.problem
    measures.define_measure("a", alive, alive, {"g": patients.sex}, intervals=twice[:1])
    error = _raises(
        lambda: measures.define_measure("b", alive, alive, {"g": alive}, intervals=twice[:1])
    )
    assert "another type than the group 'g'" in error.problem


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from fivesafes import codelist_form_csv\n", "did you mean 'codelist_from_csv'?"),
        ("from fivesafes.tables import clinical_event\n", "did you mean 'clinical_events'?"),
        ("from fivesafes.query import Datset\n", "did you mean 'Dataset'?"),
        ("import fivesafes\nfivesafes.Datset()\n", "did you mean 'Dataset'?"),
    ],
)
def test_an_import_typo_in_a_study_gets_a_did_you_mean(tmp_path, source, expected) -> None:
    from fivesafes.query.study import StudyError, load_dataset

    study = tmp_path / "study.py"
    study.write_text(source)
    with pytest.raises(StudyError) as caught:
        load_dataset(study)
    assert f"{study}, line {source.count(chr(10))}: " in str(caught.value)
    assert expected in str(caught.value)


def test_every_name_a_study_imports_mistyped_gets_a_did_you_mean(tmp_path) -> None:
    """Every name of the modules a study imports from, mistyped, in either way of reaching it."""
    import fivesafes.query
    import fivesafes.tables
    from fivesafes.query.study import StudyError, load_dataset

    study = tmp_path / "study.py"
    # A definition runs with the language only (query/restricted.py): fivesafes.safe, the
    # analysis scripts' API, is not among the names it may import, so it is not suggested.
    exported = {
        "fivesafes": fivesafes.query.__all__,
        "fivesafes.tables": fivesafes.tables.__all__,
        "fivesafes.query": fivesafes.query.__all__,
    }
    for module, names in exported.items():
        for name in names:
            typo = name[0] + name[2:]
            for source in (f"from {module} import {typo}\n", f"import {module}\n{module}.{typo}\n"):
                study.write_text(source)
                with pytest.raises(StudyError) as caught:
                    load_dataset(study)
                assert f"did you mean {name!r}?" in str(caught.value), source
