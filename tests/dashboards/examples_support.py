"""The example studies run on dummy data, and their tables as the dashboard would receive them
once released (without provenance: they never were), for the tests that ask what it would draw."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers `run`)
from fivesafes.cli.common import app
from fivesafes.dashboards import ReleasedTable

EXAMPLES = Path(__file__).parents[2] / "examples"


def run_example(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """``fivesafes run`` of a copy of ``examples/<name>``; its output folder."""
    study = tmp_path_factory.mktemp("example") / name
    shutil.copytree(EXAMPLES / name, study)
    result = CliRunner().invoke(app, ["run", "--project", str(study)])
    assert result.exit_code == 0, result.output
    return study / "output"


def unreleased(stem: str, rows: Sequence[Mapping[str, object]]) -> ReleasedTable:
    """Rows as a released table of ``output/<stem>.csv`` would carry them (every value text)."""
    text = tuple({k: str(v) for k, v in r.items()} for r in rows)
    return ReleasedTable("", f"output/{stem}.csv", "", "", "", "", "", (), (), None, text)


def unreleased_csv(path: Path) -> ReleasedTable:
    """An output file as a released table."""
    with path.open(encoding="utf-8") as f:
        return unreleased(path.stem, list(csv.DictReader(f)))
