"""``fivesafes run``, called in-process as a user would (``submit``: tests/environment)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from jobs_support import needs_sandbox, write_project
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers run and submit)
from fivesafes.cli.common import app
from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key

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
