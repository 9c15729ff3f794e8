"""`fivesafes init`: a new study that runs on dummy data at once, as the README shows.

The README's first-study lines are run in order, as a person would type them (the real
``fivesafes`` executable, in a fresh folder, no shell), and what they made is read back: the
table the analysis wrote and the disclosure check passing it, the job records, and git seeing
the code but none of the outputs. The application is a form the environment accepts, whatever
characters the study's title holds, and a folder that holds anything is never written to.
"""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.governance import Application, Purpose
from fivesafes.jobs import load_project
from fivesafes.jobs.starter import NewStudy, StudyExists, new_study

README = Path(__file__).resolve().parents[2] / "README.md"
FIVESAFES = Path(sys.executable).with_name("fivesafes")
runner = CliRunner()


def first_study_lines() -> list[str]:
    """The commands of the README's first-study block, in order."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- first-study:[^>]*-->\n```sh\n(.*?)```", text, re.DOTALL)
    assert found, "README.md has no first-study block"
    return [line for line in found[1].splitlines() if line.strip()]


def test_the_readme_first_study_runs_word_for_word(tmp_path: Path) -> None:
    cwd = tmp_path
    for line in first_study_lines():
        words = shlex.split(line)
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        program = str(FIVESAFES) if words[0] == "fivesafes" else words[0]
        ran = subprocess.run(
            [program, *words[1:]], cwd=cwd, capture_output=True, text=True, timeout=600
        )
        assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
        if words[:2] == ["fivesafes", "check-output"]:
            assert "PASS: may be requested as it is" in ran.stdout

    study = tmp_path / "my-study"
    with (study / "output" / "hypertension_by_age_sex.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["age_band"], r["sex"]) for r in rows] == [
        (band, sex) for band in ("0-39", "40-64", "65+") for sex in ("female", "male")
    ]
    counts = [int(r[c]) for r in rows for c in ("with_hypertension", "without")]
    assert min(counts) >= 10  # dummy data big enough that nothing is suppressed
    records = [orjson.loads(p.read_bytes()) for p in (study / "metadata" / "jobs").iterdir()]
    assert sorted((r["action"], r["backend"], r["status"]) for r in records) == [
        ("extract", "dummy", "succeeded"),
        ("summarise", "dummy", "succeeded"),
    ]

    subprocess.run(["git", "add", "--all"], cwd=study, check=True)
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"], cwd=study, capture_output=True, text=True
    ).stdout.split()
    assert sorted(staged) == [
        ".gitignore",
        "README.md",
        "analysis/codelists/hypertension.csv",
        "analysis/study.py",
        "analysis/summarise.py",
        "application.toml",
        "project.yaml",
    ]


def test_the_application_is_a_form_the_environment_accepts(tmp_path: Path) -> None:
    title = 'Hypertension "recorded" \\ unrecorded: a study\tof ünïcode'
    study = NewStudy(
        title=title,
        members=("ana", "bo"),
        organisation="Demo Trust",
        repository="https://example.org/study",
    )
    new_study(tmp_path / "htn", study)
    form = Application.from_file(tmp_path / "htn" / "application.toml")
    assert form.problems() == []
    assert (form.title, form.members, form.organisation, form.repository) == (
        title,
        ("ana", "bo"),
        "Demo Trust",
        "https://example.org/study",
    )
    assert form.purpose is Purpose.RESEARCH
    assert set(form.datasets) == {"patients", "practice_registrations", "clinical_events"}
    readme = (tmp_path / "htn" / "README.md").read_text()
    assert readme.startswith(f"# {title}\n")
    assert "fivesafes project submit htn application.toml" in readme


def test_the_project_is_valid_and_its_outputs_are_declared(tmp_path: Path) -> None:
    new_study(tmp_path / "s", NewStudy("t", ("ana",), "o", "r"))
    project = load_project(tmp_path / "s")
    assert list(project.actions) == ["extract", "summarise"]
    assert project.actions["summarise"].needs == ("extract",)


def test_init_without_members_says_so_when_the_form_is_checked(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "new-study")])
    assert result.exit_code == 0, result.output
    form = Application.from_file(tmp_path / "new-study" / "application.toml")
    assert form.title == "new-study"
    assert "at least one member is required" in form.problems()
    assert "organisation is required" in form.problems()


@pytest.mark.parametrize("holds", ["a file", "a hidden file", "is a file"])
def test_a_folder_that_holds_anything_is_left_alone(tmp_path: Path, holds: str) -> None:
    folder = tmp_path / "taken"
    if holds == "is a file":
        folder.write_text("mine")
    else:
        folder.mkdir()
        (folder / ("notes.txt" if holds == "a file" else ".env")).write_text("mine")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(StudyExists):
        new_study(folder, NewStudy("t", ("ana",), "o", "r"))
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {folder} already exists and is not an empty folder: choose a new one"
    )
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["My Study", "ab", "study_1", "Hypertension"])
def test_a_folder_that_cannot_name_a_project_is_refused_before_anything_is_written(
    tmp_path: Path, name: str
) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / name)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {name!r} cannot name a project (project id must be")
    assert list(tmp_path.iterdir()) == []
