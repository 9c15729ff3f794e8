"""``fivesafes run`` and ``fivesafes submit``, called in-process as a user would."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from jobs_support import needs_sandbox, write_project
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers run and submit)
from fhir_factory import basic_population, nhs_number, write_ndjson
from fivesafes.cli.common import app
from fivesafes.governance import (
    ControlPlane,
    OptOutKind,
    Role,
    Verdict,
    add_opt_out,
    decide,
    submit_project,
)
from fivesafes.jobs import runner as runner_module
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from governance.governance_support import World, application

STUDY = """
version: 1
actions:
  count:
    run: python -c "open('output/n.csv', 'w').write('n\\n3\\n')"
    outputs:
      moderately_sensitive: {table: output/n.csv}
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """The data directory exactly as the commands derive it from --data-dir (keys inside)."""
    made = DataDir.from_env(tmp_path / "data")
    create_key(made.key_file)
    return made


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return write_project(tmp_path / "study", STUDY)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_warns_it_is_unsandboxed_and_runs(study: Path) -> None:
    code, out, errors = invoke("run", "--project", str(study))
    assert code == 0, errors
    assert "without a sandbox" in errors
    assert "ran" in out and "output/n.csv" in out
    assert (study / "output" / "n.csv").read_text() == "n\n3\n"
    code, out, _ = invoke("run", "count", "--project", str(study), "--format", "json")
    assert code == 0
    assert [(r["action"], r["status"]) for r in orjson.loads(out)] == [("count", "reused")]


def test_run_reports_every_project_problem(study: Path) -> None:
    (study / "project.yaml").write_text(STUDY.replace("version: 1", "version: 9") + "  x: 1\n")
    code, _, errors = invoke("run", "--project", str(study))
    assert code == 2
    assert "2 problem(s)" in errors and "version must be one of 1" in errors
    assert "action 'x'" in errors


def test_run_an_unknown_action(study: Path) -> None:
    code, _, errors = invoke("run", "cuont", "--project", str(study))
    assert code == 2 and "did you mean 'count'" in errors


def test_a_failed_action_exits_1(study: Path) -> None:
    (study / "project.yaml").write_text(STUDY.replace("open(", "exit(3); open("))
    code, out, _ = invoke("run", "--project", str(study))
    assert code == 1 and "failed" in out and "exit code 3" in out


def approved_project(data_dir: DataDir, datasets: dict[str, tuple[str, ...]]) -> list[str]:
    """An approved research project 'asthma-heat' with analyst 'ana'; her submit arguments."""
    with ControlPlane.open(data_dir) as cp:
        world = World.start(cp)
        analyst = world.add("ana", Role.ANALYST)
        approver = world.add("val", Role.APPROVER)
        submit_project(cp, analyst, "asthma-heat", application("ana", datasets=datasets))
        until = cp.today() + timedelta(days=365)
        decide(cp, approver, "asthma-heat", Verdict.APPROVE, "fine", world.keys["val"], until)
        custodian = world.tokens["cus"]
    return [
        *("--data-dir", str(data_dir.root), "--project-id", "asthma-heat"),
        *("--token", analyst, "--format", "json"),
        custodian,
    ]


def test_submit_refuses_without_a_sandbox(
    study: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.root.mkdir(parents=True, exist_ok=True)
    Store.open(data_dir).close()
    *args, _ = approved_project(data_dir, {"patients": ("sex",)})
    monkeypatch.setattr(runner_module, "sandbox_available", lambda: "bwrap is not installed")
    code, _, errors = invoke("submit", "--project", str(study), *args)
    assert code == 2
    assert "refusing to run against real data: bwrap is not installed" in " ".join(errors.split())
    assert not (study / "output").exists()


def test_submit_needs_a_store(study: Path, data_dir: DataDir) -> None:
    *args, _ = approved_project(data_dir, {"patients": ("sex",)})
    code, _, errors = invoke("submit", "--project", str(study), *args)
    assert code == 2 and "load data first" in " ".join(errors.split())


def test_submit_needs_an_approved_project_member(study: Path, data_dir: DataDir) -> None:
    *args, custodian = approved_project(data_dir, {"patients": ("sex",)})
    Store.open(data_dir).close()
    anonymous = invoke("submit", "--project", str(study), "--data-dir", str(data_dir.root))
    assert anonymous[0] == 2 and "--token" in anonymous[2]
    as_custodian = [*args[:-3], custodian, "--format", "json"]
    code, _, errors = invoke("submit", "--project", str(study), *as_custodian)
    assert code == 2 and "refused" in errors
    assert not (study / "output").exists()


@needs_sandbox
def test_submit_sees_only_approved_data_without_opted_out_patients(
    tmp_path: Path, data_dir: DataDir
) -> None:
    """A definition that looks at the store itself is refused; the extract of a plain one holds
    nobody whose national data opt-out applies to research, and no unapproved column."""
    *args, custodian = approved_project(data_dir, {"patients": ("sex",)})
    with Store.open(data_dir) as store:
        load(store, [write_ndjson(tmp_path / "pop.ndjson", basic_population(3))])
    with ControlPlane.open(data_dir) as cp:
        add_opt_out(cp, custodian, nhs_number(1), OptOutKind.NATIONAL)
    peek = write_project(tmp_path / "peek", PEEK, {"analysis/peek.py": PEEK_DEFINITION})
    code, _, errors = invoke("submit", "--project", str(peek), *args)
    assert code == 1, errors
    (log,) = (peek / "metadata" / "logs").glob("*.log")
    assert "peek.py, line 3: a definition may not import json" in " ".join(log.read_text().split())
    plain = PEEK_DEFINITION.split("dataset = Dataset()")[1]
    (peek / "analysis" / "peek.py").write_text(
        "from fivesafes.query import Dataset\nfrom fivesafes.tables import patients\n"
        "dataset = Dataset()" + plain + "dataset.born = patients.date_of_birth\n"
    )
    (peek / "project.yaml").write_text(
        PEEK.replace("      moderately_sensitive: {seen: output/seen.json}\n", "")
    )
    code, _, errors = invoke("submit", "--project", str(peek), *args)
    assert code == 0, errors
    extract = list(csv.reader((peek / "output" / "dataset.csv").read_text().splitlines()))
    with Store.open(data_dir) as store:
        opted_out = store.pseudonymise(nhs_number(1))
        rows = store.con.execute("SELECT patient_id FROM analysis.patients").fetchall()
        everyone = {r[0] for r in rows}
    assert extract[0] == ["patient_id", "sex", "born"]
    assert {int(row[0]) for row in extract[1:]} == everyone - {opted_out}
    assert {row[2] for row in extract[1:]} == {""}  # an unapproved column: empty
    with ControlPlane.open(data_dir) as cp:
        jobs = [e for e in map(orjson.loads, cp.ledger.entries()) if e["kind"] == "job"]
        (public,) = [row for row in cp.ledger.public_view().to_list() if row["kind"] == "job"]
    assert [(j["actor"], j["subject"]["project_id"]) for j in jobs] == [("ana", "asthma-heat")]
    assert public["project_id"] == "asthma-heat"  # issue 18 hole 11: the public see both
    assert "commit" in public and public["commit"] == jobs[0]["subject"]["commit"]


PEEK = """
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/peek.py --output output/dataset.csv
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
      moderately_sensitive: {seen: output/seen.json}
"""

PEEK_DEFINITION = """
# A definition is the analyst's own Python: this one also looks at everything it can.
import json, os
from pathlib import Path
import duckdb
from fivesafes.query import Dataset
from fivesafes.tables import patients

con = duckdb.connect(str(Path(os.environ["FIVESAFES_DATA_DIR"]) / "store.duckdb"), read_only=True)
q = lambda sql: [r[0] for r in con.execute(sql).fetchall()]
seen = {
    "tables": q("SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'analysis' ORDER BY 1"),
    "filled": q("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'analysis' AND table_name = 'patients' ORDER BY ordinal_position"),
    "patients": q("SELECT patient_id FROM analysis.patients"),
}
seen["filled"] = [
    c for c in seen["filled"] if q(f'SELECT count("{c}") FROM analysis.patients')[0] > 0
]
con.close()
Path("output/seen.json").write_text(json.dumps(seen))
dataset = Dataset()
dataset.define_population(patients.sex.is_not_null())
dataset.sex = patients.sex
"""


@needs_sandbox
def test_submit_runs_sandboxed(study: Path, data_dir: DataDir) -> None:
    data_dir.root.mkdir(parents=True, exist_ok=True)
    Store.open(data_dir).close()
    *args, _ = approved_project(data_dir, {"patients": ("sex",)})
    code, out, errors = invoke("submit", "--project", str(study), *args)
    assert code == 0, errors
    assert [r["status"] for r in orjson.loads(out)] == ["ran"]
    record = orjson.loads(next((study / "metadata" / "jobs").glob("*.json")).read_bytes())
    assert (record["backend"], record["sandboxed"]) == ("store", True)


@needs_sandbox
def test_run_takes_process_and_core_limits(study: Path) -> None:
    code, _, errors = invoke(
        "run", "--project", str(study), "--sandbox", "--processes", "64", "--cpu-cores", "1.5"
    )
    assert code == 0, errors
    record = orjson.loads(next((study / "metadata" / "jobs").glob("*.json")).read_bytes())
    assert (record["limits"]["processes"], record["limits"]["cpu_cores"]) == (64, 1.5)


def test_run_refuses_a_limit_that_allows_nothing(study: Path) -> None:
    code, _, errors = invoke("run", "--project", str(study), "--processes", "0")
    assert code == 2 and "--processes must be at least 1" in errors
