"""Test patients: made-up people a study file carries, with what its dataset should give them.

A definition is code, and code is tested with examples whose answers are known. A study
file may define ``test_patients``, a dict from a patient id to that patient's rows and the
expected result, as OpenSAFELY's ehrQL ``assure`` does::

    test_patients = {
        1: {
            "patients": {"sex": "female", "date_of_birth": "1980-01-01"},
            "clinical_events": [{"date": "2020-01-01", "snomedct_code": "195967001"}],
            "expected_in_population": True,
            "expected_columns": {"sex": "female", "asthma_events": 1},
        },
    }

A patient-level table (``patients``, ``deaths``) takes one row as a dict; an event table a
list of rows. Columns not given are missing (NULL); dates are ``'YYYY-MM-DD'`` strings or
dates. ``expected_in_population`` defaults to True; ``expected_columns`` may name some of the
dataset's columns or all. ``fivesafes test STUDY.py`` runs the dataset on these patients
alone with every engine and reports each difference by patient, column and engine -- which
also shows an engine disagreeing with the others. Mistakes in the test data (a table or
column that does not exist, a value of the wrong type) are reported by patient and field,
with a did-you-mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from fivesafes.model import TABLES, TableKind
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery
from fivesafes.query.engines import arrow_schema
from fivesafes.query.errors import did_you_mean
from fivesafes.query.model import KIND_OF_COLUMN_TYPE, Kind

EXPECTED = ("expected_in_population", "expected_columns")
PATIENT_TABLES = [t.name for t in TABLES.values() if t.is_patient_level]


class TestDataError(ValueError):
    """Test patients that cannot be read: which patient, which field, what to do."""

    __test__ = False  # not a pytest test class, whatever its name


@dataclass(frozen=True, slots=True)
class TestPatient:
    """One made-up patient: their rows by table, and what the dataset should give them."""

    __test__ = False

    patient_id: int
    rows: dict[str, list[dict[str, Any]]]
    in_population: bool
    columns: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a test patient's result differs from what was expected, on some engines."""

    patient_id: int
    column: str | None
    """None: whether the patient is in the population."""
    expected: Any
    got: dict[str, Any]
    """Each engine's answer, by engine name (engines agreeing are grouped when shown)."""

    def describe(self) -> str:
        answers: dict[str, list[str]] = {}
        for engine, value in self.got.items():
            answers.setdefault(_show(value, self.column), []).append(engine)
        told = "; ".join(f"got {value} on {', '.join(e)}" for value, e in answers.items())
        where = f"patient {self.patient_id}" + (f", column {self.column}" if self.column else "")
        return f"{where}: expected {_show(self.expected, self.column)}; {told}"


def _show(value: Any, column: str | None = "") -> str:
    if column is None:
        return "in the population" if value else "not in the population"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


# --- reading test patients -------------------------------------------------------------------


def read_test_patients(raw: object, query: DatasetQuery) -> list[TestPatient]:
    """The test patients of a study's ``test_patients`` value, checked against the data model
    and the dataset; TestDataError names the patient and field of the first mistake."""
    if not isinstance(raw, Mapping) or not raw:
        raise TestDataError(
            "test_patients must be a dict from patient ids to each patient's rows and "
            "expected results, e.g. {1: {'patients': {...}, 'expected_columns': {...}}}"
        )
    columns = {name: series.kind for name, series in query.columns}
    return [_patient(pid, spec, columns) for pid, spec in raw.items()]


def _patient(patient_id: object, spec: object, columns: dict[str, Kind]) -> TestPatient:
    if isinstance(patient_id, bool) or not isinstance(patient_id, int):
        raise TestDataError(f"test patient {patient_id!r}: patient ids must be whole numbers")
    where = f"test patient {patient_id}"
    if not isinstance(spec, Mapping):
        raise TestDataError(f"{where}: give a dict of tables and expected results")
    unknown = [k for k in spec if k not in (*PATIENT_TABLES, *EXPECTED)]
    if unknown:
        name = str(unknown[0])
        hint = did_you_mean(name, [*PATIENT_TABLES, *EXPECTED])
        raise TestDataError(
            f"{where}: {name!r} is not a patient table or an expected result; {hint}"
            f"use tables ({', '.join(PATIENT_TABLES)}) and {' and '.join(EXPECTED)}"
        )
    rows = {t: _rows(f"{where}, {t}", t, spec[t], patient_id) for t in PATIENT_TABLES if t in spec}
    if "patients" not in rows:
        rows["patients"] = [{"patient_id": patient_id}]  # everyone is in the register
    in_population = spec.get("expected_in_population", True)
    if not isinstance(in_population, bool):
        raise TestDataError(f"{where}: expected_in_population must be True or False")
    expected = spec.get("expected_columns", {})
    if not isinstance(expected, Mapping):
        raise TestDataError(f"{where}: expected_columns must be a dict of column values")
    if expected and not in_population:
        raise TestDataError(
            f"{where}: a patient not in the population has no columns to expect; "
            "remove expected_columns or set expected_in_population to True"
        )
    values = {}
    for name, value in expected.items():
        if name not in columns:
            hint = did_you_mean(str(name), columns)
            raise TestDataError(
                f"{where}: the dataset has no column {name!r}; {hint}"
                f"its columns are {', '.join(columns)}"
            )
        values[name] = _value(f"{where}, expected {name}", value, columns[name])
    return TestPatient(patient_id, rows, in_population, values)


def _rows(where: str, table: str, given: object, patient_id: int) -> list[dict[str, Any]]:
    one_row = TABLES[table].kind is TableKind.PATIENT
    if one_row and isinstance(given, Mapping):
        given = [given]
    if not isinstance(given, list) or not all(isinstance(r, Mapping) for r in given):
        shape = "a dict (its one row)" if one_row else "a list of dicts (its rows)"
        raise TestDataError(f"{where}: give {shape}")
    if one_row and len(given) > 1:
        raise TestDataError(f"{where}: a patient has one row of {table} at most")
    spec = TABLES[table]
    names = [c for c in spec.column_names if c != "patient_id"]
    out = []
    for i, row in enumerate(given, start=1):
        at = where if one_row else f"{where} row {i}"
        for name in row:
            if name not in names:
                hint = did_you_mean(str(name), names)
                extra = " (it is the test patient's id)" if name == "patient_id" else ""
                raise TestDataError(
                    f"{at}: {table} has no column {name!r}{extra}; {hint}"
                    f"its columns are {', '.join(names)}"
                )
        values = {
            c: _value(f"{at}, {c}", row[c], KIND_OF_COLUMN_TYPE[spec.column(c).type])
            for c in names
            if c in row
        }
        out.append({"patient_id": patient_id, **values})
    return out


def _value(where: str, value: object, kind: Kind) -> m.Scalar:
    """A value as the engines hold it: dates from ISO strings, floats from whole numbers."""
    if isinstance(value, str) and kind is Kind.DATE:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise TestDataError(f"{where}: {value!r} is not a date (write 'YYYY-MM-DD')") from None
    if kind is Kind.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not m.fits(value, kind):  # type: ignore[arg-type]
        raise TestDataError(f"{where}: {value!r} is not {kind.value} value")
    return value  # type: ignore[return-value]


# --- checking them ------------------------------------------------------------------------------


def tables_of(patients: list[TestPatient]) -> dict[str, pa.Table]:
    """Every test patient's rows, as the model's Arrow tables (columns not given are NULL)."""
    out = {}
    for table in PATIENT_TABLES:
        rows = [r for p in patients for r in p.rows.get(table, [])]
        schema = arrow_schema(table)
        out[table] = pa.Table.from_pylist(
            [{c: r.get(c) for c in schema.names} for r in rows], schema=schema
        )
    return out


Runner = Callable[[dict[str, pa.Table], DatasetQuery], pa.Table]
"""An engine: the dataset computed over the given tables."""


def check(
    query: DatasetQuery, patients: list[TestPatient], engines: Mapping[str, Runner]
) -> list[Difference]:
    """Every difference between what the test patients should get and what each engine
    gives them, in patient order."""
    tables = tables_of(patients)
    results = {name: _by_patient(run(tables, query)) for name, run in engines.items()}
    out = []
    for patient in sorted(patients, key=lambda p: p.patient_id):
        rows = {name: found.get(patient.patient_id) for name, found in results.items()}
        present = {name: row is not None for name, row in rows.items()}
        if any(v != patient.in_population for v in present.values()):
            out.append(Difference(patient.patient_id, None, patient.in_population, present))
        for column, expected in patient.columns.items():
            got = {name: row[column] for name, row in rows.items() if row is not None}
            if any(not _same(v, expected) for v in got.values()):
                out.append(Difference(patient.patient_id, column, expected, got))
    return out


def _by_patient(table: pa.Table) -> dict[int, dict[str, Any]]:
    return {row["patient_id"]: row for row in table.to_pylist()}


def _same(got: Any, expected: Any) -> bool:
    if isinstance(got, float) and isinstance(expected, float):
        return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)
    return bool(got == expected and type(got) is type(expected))


ENGINES = ("reference", "duckdb", "spark")


def runner(name: str) -> Runner:
    """The engine called ``name`` over test tables: the reference engine, DuckDB in memory, or
    Spark (a session of its own: see :func:`fivesafes.query.engines.spark_session`)."""
    from fivesafes.query.engines import DuckDBEngine, SparkEngine, in_memory_store, spark_session
    from fivesafes.query.reference import ReferenceEngine

    if name == "reference":
        return lambda tables, query: ReferenceEngine(tables).dataset(query)
    if name == "duckdb":
        return lambda tables, query: DuckDBEngine(in_memory_store(tables)).dataset(query)

    def on_spark(tables: dict[str, pa.Table], query: DatasetQuery) -> pa.Table:
        engine = SparkEngine(spark_session())
        engine.register(tables)
        return engine.dataset(query)

    return on_spark
