"""``fivesafes run`` and ``fivesafes submit``, called in-process as a user would."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from jobs_support import needs_sandbox, write_project
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers run and submit)
from fivesafes.cli.common import app
from fivesafes.jobs import runner as runner_module
from fivesafes.store.config import DataDir

STUDY = """
version: 1
actions:
  count:
    run: python -c "open('output/n.csv', 'w').write('n\\n3\\n')"
    outputs:
      moderately_sensitive: {table: output/n.csv}
"""


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


def test_submit_refuses_without_a_sandbox(
    study: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.root.mkdir(parents=True)
    data_dir.database.write_bytes(b"")
    monkeypatch.setattr(runner_module, "sandbox_available", lambda: "bwrap is not installed")
    code, _, errors = invoke("submit", "--project", str(study), "--data-dir", str(data_dir.root))
    assert code == 2
    assert "refusing to run against real data: bwrap is not installed" in " ".join(errors.split())
    assert not (study / "output").exists()


def test_submit_needs_a_store(study: Path, tmp_path: Path) -> None:
    code, _, errors = invoke("submit", "--project", str(study), "--data-dir", str(tmp_path / "no"))
    assert code == 2 and "load data first" in " ".join(errors.split())


@needs_sandbox
def test_submit_runs_sandboxed(study: Path, data_dir: DataDir) -> None:
    data_dir.root.mkdir(parents=True)
    data_dir.database.write_bytes(b"")
    code, out, errors = invoke(
        "submit", "--project", str(study), "--data-dir", str(data_dir.root), "--format", "json"
    )
    assert code == 0, errors
    assert [r["status"] for r in orjson.loads(out)] == ["ran"]
    record = orjson.loads(next((study / "metadata" / "jobs").glob("*.json")).read_bytes())
    assert (record["backend"], record["sandboxed"]) == ("store", True)
