"""The commands docs/loading-data.md shows are run as written, with the exit codes it gives."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from fivesafes.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "loading-data.md"
_CONSOLE = re.compile(r"```console\n(.*?)```", re.S)
_EXIT = re.compile(r"#\s*exit (\d)")


def commands() -> list[tuple[list[str], str | None, int]]:
    """(arguments, file stdout goes to, exit code) for each `$ fivesafes` line of the doc."""
    found = []
    for block in _CONSOLE.findall(DOC.read_text()):
        for line in block.splitlines():
            if not line.startswith("$ fivesafes "):
                continue
            command, _, comment = line[2:].partition("#")
            words = shlex.split(command)[1:]
            target = None
            if ">" in words:
                target = words[words.index(">") + 1]
                words = words[: words.index(">")]
            code = _EXIT.search("#" + comment)
            found.append((words, target, int(code.group(1)) if code else 0))
    return found


def test_the_doc_shows_commands() -> None:
    assert len(commands()) >= 4


def test_the_first_check_runs_as_the_doc_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    rejected = []
    for words, target, code in commands():
        result = runner.invoke(app, words)
        assert result.exit_code == code, (words, result.output)
        if target:
            Path(target).write_text(result.stdout)
        if "validate" in words and "--format" not in words:
            summary = result.stdout.strip().splitlines()[-1]
            rejected.append(
                int(re.findall(r"([\d,]+) (?:not|rejected)", summary)[0].replace(",", ""))
            )
    document = orjson.loads(Path("verdicts.json").read_text())
    assert document["mode"] == "environment"
    fhir_only, environment = rejected
    assert 0 < fhir_only < environment  # the environment's rules reject more than R4 alone
