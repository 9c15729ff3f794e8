"""The study commands, in process: dummy extracts, extracts from the store, measures, explain."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import fivesafes.cli  # noqa: F401  (registers the commands)
from environment.environment_support import open_with_custodian
from fivesafes.cli.common import app
from fivesafes.governance import ControlPlane
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from jobs.jobs_support import needs_sandbox

STUDY = """
from fivesafes import Dataset, codelist_from_csv, days, years
from fivesafes.tables import patients, practice_registrations, clinical_events, medications

index_date = "2024-03-31"
asthma = codelist_from_csv("{codelist}", column="code")

dataset = Dataset()
dataset.define_population(
    practice_registrations.for_patient_on(index_date).exists_for_patient()
    & patients.is_alive_on(index_date)
)
dataset.sex = patients.sex
dataset.age = patients.age_on(index_date)
dataset.asthma_events = (
    clinical_events.where(clinical_events.snomedct_code.is_in(asthma))
    .where(clinical_events.date.is_on_or_before(index_date))
    .count_for_patient()
)
"""

MEASURES = """
from fivesafes import Measures, INTERVAL, months
from fivesafes.tables import patients, clinical_events as ce

measures = Measures()
measures.define_measure(
    "asthma_rate",
    numerator=ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    .where(ce.snomedct_code == "195967001").exists_for_patient(),
    denominator=patients.is_alive_on(INTERVAL.start_date),
    intervals=months(3).starting_on("2024-01-01"),
)
"""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A study in the current folder (the test's own), its code list named relative to it."""
    (tmp_path / "asthma.csv").write_text("code,term\n195967001,Asthma\n")
    path = tmp_path / "study.py"
    path.write_text(STUDY.format(codelist="asthma.csv"))
    return path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".arrow", ".feather"])
def test_generate_dummy_dataset_in_each_format(study: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"dataset{suffix}"
    result = _invoke("generate-dataset", study, "--output", out, "--dummy", "--dummy-patients", 50)
    assert result.exit_code == 0, result.output
    read = {
        ".parquet": pq.read_table,
        ".csv": pcsv.read_csv,
        ".arrow": feather.read_table,
        ".feather": feather.read_table,
    }[suffix]
    table = read(out)
    assert table.num_rows == 50
    assert table.column_names == ["patient_id", "sex", "age", "asthma_events"]


def _fill(data_dir: DataDir) -> None:
    with Store.open(data_dir) as store:
        store.con.execute(
            "INSERT INTO analysis.patients VALUES (1, 'female', '1980-01-01', NULL, 'A'),"
            "(2, 'male', '1970-01-01', '2020-01-01', NULL)"
        )
        store.con.execute(
            "INSERT INTO analysis.practice_registrations (patient_id, start_date, end_date, "
            "practice_code, region, lsoa_code, imd_decile) VALUES "
            "(1, '2000-01-01', NULL, 'A81001', 'London', NULL, 3),"
            "(2, '2000-01-01', NULL, 'A81001', 'London', NULL, 3)"
        )
        store.con.execute(
            "INSERT INTO analysis.clinical_events VALUES (1, '2020-01-01', '195967001', NULL)"
        )


def test_nobody_runs_a_definition_on_the_store_without_a_custodians_token(
    study: Path, tmp_path: Path, data_dir: DataDir
) -> None:
    """Issue 18, hole 1: `generate-dataset STUDY --output out.csv` against a data directory,
    with no token, ran the definition as Python in the caller's process, read the real store,
    applied no opt-out and logged nothing."""
    _fill(data_dir)
    (tmp_path / "pwned.py").write_text(STUDY.format(codelist="asthma.csv") + "\nimport os\n")
    out = tmp_path / "real.csv"
    for definition in (study, tmp_path / "pwned.py"):
        result = _invoke(
            "generate-dataset", definition, "--output", out, "--data-dir", data_dir.root
        )
        assert result.exit_code == 2 and "only a data custodian" in " ".join(result.output.split())
    assert not out.exists()


@needs_sandbox
def test_a_custodian_extracts_from_the_store_with_opt_outs_applied_and_logged(
    study: Path, tmp_path: Path
) -> None:
    data_dir = DataDir.from_env(tmp_path / "data")  # as --data-dir names it: keys inside
    people = open_with_custodian(data_dir)
    _fill(data_dir)
    people.env.close()
    token = people.tokens["cus"]
    out = tmp_path / "real.parquet"
    args = ("--output", out, "--data-dir", data_dir.root, "--token", token)
    result = _invoke("generate-dataset", study, *args)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).to_pylist() == [
        {"patient_id": 1, "sex": "female", "age": 44, "asthma_events": 1}
    ]
    measures = tmp_path / "measures.py"
    measures.write_text(MEASURES)
    out = tmp_path / "measures.csv"
    args = ("--output", out, "--data-dir", data_dir.root, "--token", token)
    result = _invoke("generate-measures", measures, *args)
    assert result.exit_code == 0, result.output
    rows = pcsv.read_csv(out).to_pylist()
    assert [(r["numerator"], r["denominator"]) for r in rows] == [(0, 1)] * 3
    with ControlPlane.open(data_dir) as cp:
        reads = [orjson.loads(e) for e in cp.ledger.entries()]
    extracts = [e["subject"] for e in reads if e["kind"] == "extract"]
    assert [(e["purpose"], e["rows"]) for e in extracts] == [("research", 1), ("research", 3)]


def test_explain_prints_the_sql_of_each_engine(study: Path) -> None:
    result = _invoke("explain", study)
    assert result.exit_code == 0, result.output
    assert '"analysis"."clinical_events"' in result.output  # DuckDB
    assert "`clinical_events`" in result.output  # Spark


def test_a_mistake_in_the_study_is_one_message_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        "from fivesafes import Dataset\nfrom fivesafes.tables import patients\n"
        "dataset = Dataset()\ndataset.define_population(patients.date_of_birth > 3)\n"
    )
    result = _invoke("generate-dataset", path, "--output", tmp_path / "x.parquet", "--dummy")
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # rich wraps long lines
    assert f"{path}, line 4: cannot compare a date value and an integer" in message
    assert "Traceback" not in result.output


def test_an_unknown_output_format_is_refused(study: Path, tmp_path: Path) -> None:
    result = _invoke("generate-dataset", study, "--output", tmp_path / "x.xlsx", "--dummy")
    assert result.exit_code == 2
    assert ".parquet, .csv, .arrow or .feather" in result.output


def test_generate_measures_on_dummy_data(tmp_path: Path) -> None:
    study = tmp_path / "measures.py"
    study.write_text(MEASURES)
    out = tmp_path / "measures.parquet"
    result = _invoke(
        "generate-measures", study, "--output", out, "--dummy", "--dummy-patients", 200
    )
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["interval_start"].month for r in rows] == [1, 2, 3]
    assert all(r["measure"] == "asthma_rate" and 0 < r["denominator"] <= 200 for r in rows)


def test_explain_picks_rows_in_each_engines_own_way(tmp_path: Path) -> None:
    path = tmp_path / "bmi.py"
    path.write_text(
        "from fivesafes import Dataset\n"
        "from fivesafes.tables import patients, clinical_events as ce\n"
        "dataset = Dataset()\n"
        "dataset.define_population(patients.exists_for_patient())\n"
        "bmi = ce.where(ce.snomedct_code == '60621009').sort_by(ce.date)\n"
        "dataset.bmi = bmi.last_for_patient().numeric_value\n"
    )
    duckdb = _invoke("explain", path, "--engine", "duckdb")
    assert duckdb.exit_code == 0, duckdb.output
    assert "ARG_MAX_NULL" in duckdb.output and "CREATE_SORT_KEY" in duckdb.output
    spark = _invoke("explain", path, "--engine", "spark")
    assert spark.exit_code == 0, spark.output
    assert "MAX_BY" in spark.output and "CREATE_SORT_KEY" not in spark.output
    assert "ROW_NUMBER" not in duckdb.output + spark.output
