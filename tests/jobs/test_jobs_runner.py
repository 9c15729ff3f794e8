"""Running a study: order, records, reuse, undeclared writes, failures, and refusing real data."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_support import OPEN_CUT, run, write_project

from fivesafes.jobs import (
    Backend,
    JsonJobRecords,
    RunInProgress,
    RunOptions,
    SandboxUnavailable,
    job_for_output,
    load_project,
    run_project,
    sandbox_available,
)
from fivesafes.jobs import runner as runner_module
from fivesafes.jobs.process import Limits, run_limited
from fivesafes.jobs.runner import resolve_command
from fivesafes.jobs.workspace import code_files
from fivesafes.store.config import DataDir

STUDY = """
version: 1
actions:
  extract:
    run: python analysis/extract.py
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
  summarise:
    run: python analysis/summarise.py output/summary.csv
    needs: [extract]
    outputs:
      moderately_sensitive: {table: output/summary.csv}
"""
EXTRACT = """
import pathlib
pathlib.Path("output/dataset.csv").write_text("age\\n30\\n41\\n")
"""
SUMMARISE = """
import pathlib, sys
ages = pathlib.Path("output/dataset.csv").read_text().split()[1:]
print("summarising", len(ages), "rows")
pathlib.Path(sys.argv[1]).write_text(f"rows\\n{len(ages)}\\n")
"""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    files = {"analysis/extract.py": EXTRACT, "analysis/summarise.py": SUMMARISE}
    return write_project(tmp_path / "study", STUDY, files)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_actions_run_in_order_and_each_job_is_recorded(study: Path) -> None:
    results = run(study)
    assert [r.status for r in results.values()] == ["ran", "ran"]
    assert (study / "output" / "summary.csv").read_text() == "rows\n2\n"
    extract, summarise = (results[a].record for a in ("extract", "summarise"))
    assert extract is not None and summarise is not None
    assert summarise.command == "python analysis/summarise.py output/summary.csv"
    assert (summarise.exit_code, summarise.status, summarise.backend) == (0, "succeeded", "dummy")
    assert not summarise.sandboxed
    assert [(f.path, f.sha256) for f in summarise.inputs] == [
        ("output/dataset.csv", sha256(study / "output" / "dataset.csv"))
    ]
    assert [(f.path, f.sha256, f.privacy) for f in summarise.outputs] == [
        ("output/summary.csv", sha256(study / "output" / "summary.csv"), "moderately_sensitive")
    ]
    assert summarise.log is not None
    assert "summarising 2 rows" in (study / summarise.log).read_text()
    assert summarise.resources["max_rss_kib"] > 0
    assert summarise.resources["cpu_user_s"] + summarise.resources["cpu_system_s"] > 0
    saved = JsonJobRecords(study / "metadata").history()
    assert [r.job_id for r in saved] == [extract.job_id, summarise.job_id]
    assert saved[1] == summarise
    assert not list((study / "metadata" / "workspaces").iterdir())


def test_the_git_commit_is_recorded(study: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(study), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "study")
    record = run(study, "extract")["extract"].record
    assert record is not None
    assert record.git_commit == git("rev-parse", "HEAD")
    assert record.git_dirty is False


def test_unchanged_actions_reuse_their_outputs(study: Path) -> None:
    first = run(study)
    again = run(study)
    assert [r.status for r in again.values()] == ["reused", "reused"]
    assert again["summarise"].record == first["summarise"].record
    assert len(JsonJobRecords(study / "metadata").history()) == 2


def test_changed_code_runs_again(study: Path) -> None:
    run(study)
    script = study / "analysis" / "summarise.py"
    script.write_text(script.read_text().replace("rows\\n", "count\\n"))
    again = run(study)
    assert [r.status for r in again.values()] == ["ran", "ran"]
    assert (study / "output" / "summary.csv").read_text() == "count\n2\n"


def test_a_changed_or_lost_output_runs_again(study: Path) -> None:
    run(study)
    (study / "output" / "dataset.csv").write_text("age\n1\n2\n3\n")
    again = run(study)
    assert again["extract"].status == "ran"
    (study / "output" / "summary.csv").unlink()
    assert run(study)["summarise"].status == "ran"


def test_force_runs_again(study: Path) -> None:
    run(study)
    assert [r.status for r in run(study, force=True).values()] == ["ran", "ran"]


def test_an_undeclared_output_fails_the_job_and_is_not_kept(study: Path) -> None:
    script = study / "analysis" / "extract.py"
    script.write_text(EXTRACT + "pathlib.Path('output/secret.csv').write_text('x')\n")
    results = run(study)
    extract = results["extract"].record
    assert extract is not None and extract.status == "failed" and extract.exit_code == 0
    assert extract.error is not None and "output/secret.csv" in extract.error
    assert not (study / "output" / "secret.csv").exists()
    assert not (study / "output" / "dataset.csv").exists()
    assert results["summarise"].status == "skipped"


def test_changing_the_code_in_the_workspace_is_an_undeclared_write(study: Path) -> None:
    script = study / "analysis" / "extract.py"
    script.write_text(EXTRACT + "open('analysis/extract.py', 'a').write('# touched')\n")
    record = run(study, "extract")["extract"].record
    assert record is not None and record.error is not None
    assert "analysis/extract.py" in record.error
    assert not script.read_text().endswith("# touched")


def test_a_missing_output_or_a_link_for_an_output_fails(study: Path) -> None:
    script = study / "analysis" / "extract.py"
    script.write_text("print('forgot')\n")
    record = run(study, "extract")["extract"].record
    assert record is not None and "did not write its output 'dataset'" in str(record.error)
    script.write_text("import os; os.symlink('/etc/passwd', 'output/dataset.csv')\n")
    record = run(study, "extract")["extract"].record
    assert record is not None and "plain file" in str(record.error)
    assert not (study / "output" / "dataset.csv").is_symlink()


def test_a_failing_action_stops_what_needs_it(study: Path) -> None:
    (study / "analysis" / "extract.py").write_text("raise SystemExit('no data today')\n")
    results = run(study)
    extract = results["extract"].record
    assert extract is not None and extract.exit_code == 1 and extract.log is not None
    assert "no data today" in (study / extract.log).read_text()
    assert results["summarise"].status == "skipped"
    assert "extract" in str(results["summarise"].reason)


def test_a_dummy_run_never_passes_on_the_store(
    study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIVESAFES_DATA_DIR", "/real/store")
    script = "import os, pathlib\n"
    script += "pathlib.Path('output/dataset.csv').write_text(\n"
    script += (
        "    os.environ['FIVESAFES_BACKEND'] + ' ' + str(os.environ.get('FIVESAFES_DATA_DIR')))\n"
    )
    (study / "analysis" / "extract.py").write_text(script)
    run(study, "extract")
    assert (study / "output" / "dataset.csv").read_text() == "dummy None"


def test_real_data_is_refused_without_a_sandbox(study: Path, data_dir: DataDir) -> None:
    project = load_project(study)
    with pytest.raises(SandboxUnavailable, match="only ever read inside the sandbox"):
        run_project(
            project,
            options=RunOptions(Backend.STORE, sandbox=False, data_dir=data_dir, cut=OPEN_CUT),
        )
    assert not (study / "metadata").exists()


def test_real_data_is_refused_where_the_sandbox_cannot_run(
    study: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.root.mkdir(parents=True)
    data_dir.database.write_bytes(b"")
    monkeypatch.setattr(runner_module, "sandbox_available", lambda: "bwrap is not installed")
    project = load_project(study)
    options = RunOptions(Backend.STORE, sandbox=True, data_dir=data_dir, cut=OPEN_CUT)
    with pytest.raises(SandboxUnavailable, match="bwrap is not installed"):
        run_project(project, options=options)
    assert not (study / "metadata").exists() and not (study / "output").exists()


def test_fivesafes_and_python_mean_the_environments_own() -> None:
    fivesafes = resolve_command(("fivesafes", "generate-dataset", "study.py"))
    assert fivesafes == [
        str(Path(sys.executable).parent / "fivesafes"),
        "generate-dataset",
        "study.py",
    ]
    assert Path(fivesafes[0]).is_file()
    assert resolve_command(("python", "x.py")) == [sys.executable, "x.py"]
    assert resolve_command(("Rscript", "x.R")) == ["Rscript", "x.R"]


def test_the_job_behind_an_output_is_found_only_while_the_file_is_unchanged(study: Path) -> None:
    results = run(study)
    records = JsonJobRecords(study / "metadata")
    found = job_for_output(records, study, "output/summary.csv")
    assert found == results["summarise"].record
    (study / "output" / "summary.csv").write_text("rows\n1000\n")
    assert job_for_output(records, study, "output/summary.csv") is None
    assert job_for_output(records, study, "analysis/summarise.py") is None


def test_caches_virtualenvs_and_hidden_folders_are_not_code(study: Path) -> None:
    for junk in (".venv/pyvenv.cfg", "env/pyvenv.cfg", "analysis/__pycache__/x.pyc", ".cache/y"):
        (study / junk).parent.mkdir(parents=True, exist_ok=True)
        (study / junk).write_text("")
    assert sorted(map(str, code_files(load_project(study)))) == [
        "analysis/extract.py",
        "analysis/summarise.py",
        "project.yaml",
    ]


def test_a_second_run_at_the_same_time_is_refused(study: Path) -> None:
    project = load_project(study)
    seen: list[str] = []

    def meanwhile(action: str, message: str) -> None:
        if not seen:
            with pytest.raises(RunInProgress, match="in progress"):
                run_project(project)
        seen.append(message)

    results = run_project(project, on_event=meanwhile)
    assert [r.status for r in results] == ["ran", "ran"]
    assert seen


def test_a_program_that_does_not_exist_fails_the_job(study: Path) -> None:
    (study / "project.yaml").write_text(
        STUDY.replace("run: python analysis/extract.py", "run: nosuchprogram")
    )
    record = run(study, "extract")["extract"].record
    assert record is not None and record.status == "failed"
    assert "cannot start 'nosuchprogram'" in str(record.error)


def test_an_interrupted_run_leaves_no_process_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    argv = ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"]

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_limited(argv, tmp_path, {"PATH": "/usr/bin:/bin"}, tmp_path / "log", Limits())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def sandbox_problem_with(path: Path, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """What ``sandbox_available`` says when the programs on PATH are those in ``path``."""
    monkeypatch.setenv("PATH", str(path))
    sandbox_available.cache_clear()
    try:
        return sandbox_available()
    finally:
        monkeypatch.undo()
        sandbox_available.cache_clear()


def test_without_bubblewrap_the_sandbox_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = sandbox_problem_with(tmp_path, monkeypatch)
    assert reason is not None and "apt-get install bubblewrap" in reason


def test_a_bubblewrap_that_cannot_bind_by_descriptor_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inputs are bound by the descriptor they were checked through; an older bubblewrap would
    bind by name again, so it is not used."""
    old = tmp_path / "bwrap"
    old.write_text("#!/bin/sh\necho 'usage: bwrap [OPTIONS...] [--] COMMAND [ARGS...]'\n")
    old.chmod(0o755)
    reason = sandbox_problem_with(tmp_path, monkeypatch)
    assert reason is not None and "too old to bind a file by descriptor" in reason
