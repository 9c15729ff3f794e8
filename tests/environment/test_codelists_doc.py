"""docs/codelists.md, run: every ``$ fivesafes codelist ...`` line of its console blocks is run
in order, through the command line, as the analyst 'ana' in the environment the doc describes
(twelve people with asthma, seven rarer codes), and must print exactly what the doc shows
(dates and the ledger entry's index aside, which depend on the day and the environment); and
its API block runs word for word with bash against a live server, printing what its text block
shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from codelists_support import coded_world
from environment_support import People
from typer.testing import CliRunner

from api.api_support import serving
from fivesafes.cli import app
from fivesafes.query import codelist_from_csv

DOC = Path(__file__).resolve().parents[2] / "docs" / "codelists.md"


def _steps() -> list[tuple[str, list[str]]]:
    """(command, the lines the doc shows it printing), in the doc's order."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def _plain(lines: list[str]) -> list[str]:
    found = [re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", line.rstrip()) for line in lines]
    return [re.sub(r"ledger entry \d+", "ledger entry N", line) for line in found]


def test_the_doc_shows_every_codelist_command() -> None:
    shown = {shlex.split(command)[2] for command, _ in _steps()}
    assert shown == {"search", "new", "add", "remove", "publish", "show", "export"}


def test_every_command_in_the_doc_prints_what_the_doc_shows(
    people: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = coded_world(people, tmp_path)
    study = tmp_path / "study"
    study.mkdir()
    monkeypatch.chdir(study)
    variables = {
        "FIVESAFES_TOKEN": world.tokens["ana"],
        "FIVESAFES_DATA_DIR": str(world.env.data_dir.root),
        "FIVESAFES_KEY_FILE": str(world.env.data_dir.key_file),
        "COLUMNS": "200",
    }
    runner = CliRunner()
    for command, shown in _steps():
        words = shlex.split(command)
        assert words[0] == "fivesafes"
        done = runner.invoke(app, words[1:], env=variables)
        assert done.exit_code == 0, f"{command}: {done.output}"
        assert _plain(done.stdout.splitlines()) == _plain(shown), command
    exported = codelist_from_csv(study / "analysis" / "codelists" / "asthma.csv")
    assert exported.codes == {"195967001"}


def test_a_refusal_is_one_line_and_exit_code_2(people: People, tmp_path: Path) -> None:
    world = coded_world(people, tmp_path)
    where = ["--data-dir", str(world.env.data_dir.root)]
    variables = {"FIVESAFES_KEY_FILE": str(world.env.data_dir.key_file)}
    runner = CliRunner()
    done = runner.invoke(
        app, ["codelist", "search", "asthma", "--token", world.tokens["eve"], *where], env=variables
    )
    assert done.exit_code == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: refused: eve is not a member of any approved project"
    )
    made = runner.invoke(
        app,
        ["codelist", "new", "Asthma", "--system", "snomedct", "--token", world.tokens["ana"],
         *where],
        env=variables,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    wrong = runner.invoke(
        app, ["codelist", "export", "asthma", "--format", "xlsx", *where], env=variables
    )
    assert (wrong.exit_code, wrong.stderr.strip()) == (
        2,
        "error: cannot export as 'xlsx': the format is csv",
    )


def test_json_output_is_the_use_cases_result(people: People, tmp_path: Path) -> None:
    world = coded_world(people, tmp_path)
    variables = {
        "FIVESAFES_TOKEN": world.tokens["ana"],
        "FIVESAFES_DATA_DIR": str(world.env.data_dir.root),
        "FIVESAFES_KEY_FILE": str(world.env.data_dir.key_file),
    }
    runner = CliRunner()
    found = runner.invoke(app, ["codelist", "search", "asthma", "--format", "json"], env=variables)
    assert found.exit_code == 0, found.output
    shown = json.loads(found.stdout)
    assert [(h["code"], h["patients"]) for h in shown["hits"]] == [("195967001", 10)]
    assert shown["left_out"] == {"clinical_events.snomedct_code": 7}
    for words in (["new", "Asthma", "--system", "snomedct"], ["add", "asthma", "195967001"]):
        assert runner.invoke(app, ["codelist", *words], env=variables).exit_code == 0
    listed = runner.invoke(app, ["codelist", "show", "asthma", "--format", "json"], env=variables)
    version = json.loads(listed.stdout)["versions"][0]
    assert (version["version"], version["codes"], version["published_at"]) == (
        1,
        [{"code": "195967001", "term": "Asthma"}],
        None,
    )


def test_the_api_block_prints_what_the_doc_shows(people: People, tmp_path: Path) -> None:
    world = coded_world(people, tmp_path)
    api = DOC.read_text(encoding="utf-8").split("## Through the API", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", api, re.S)
    (shown,) = re.findall(r"```text\n(.*?)```", api, re.S)
    with serving(world.env.data_dir) as running:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            env={**os.environ, "BASE": running.base_url, "TOKEN": world.tokens["ana"]},
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
