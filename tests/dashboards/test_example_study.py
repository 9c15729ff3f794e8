"""The emergency-admissions example study runs on dummy data and writes tidy monthly tables
the dashboard recognises as measures."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers `run`)
from fivesafes.cli.common import app
from fivesafes.dashboards import Kind, ReleasedTable, as_measure

EXAMPLE = Path(__file__).parents[2] / "examples" / "emergency-admissions"


def _as_table(path: Path) -> ReleasedTable:
    """The example's table with no provenance (it was never released), only to ask whether the
    dashboard would chart it once released."""
    with path.open(encoding="utf-8") as f:
        rows = tuple(csv.DictReader(f))
    return ReleasedTable("", f"output/{path.name}", "", "", "", "", "", (), (), None, rows)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = tmp_path_factory.mktemp("example") / "emergency-admissions"
    shutil.copytree(EXAMPLE, study)
    result = CliRunner().invoke(app, ["run", "--project", str(study)])
    assert result.exit_code == 0, result.output
    return study / "output"


def test_admissions_are_counted_per_month_and_region(outputs: Path) -> None:
    table = _as_table(outputs / "emergency_admissions_by_region.csv")
    measure = as_measure(table)
    assert measure is not None and measure.kind is Kind.RATE
    assert measure.group_column == "region"
    assert all(len(s.periods) == 12 for s in measure.series)
    assert all(d > 0 for s in measure.series for d in s.denominators)


def test_hba1c_recording_is_a_proportion_by_quintile(outputs: Path) -> None:
    table = _as_table(outputs / "hba1c_recorded_by_imd_quintile.csv")
    measure = as_measure(table)
    assert measure is not None and measure.kind is Kind.PROPORTION
    assert {s.group for s in measure.series} <= {"1", "2", "3", "4", "5"}
    for s in measure.series:
        assert all(n <= d for n, d in zip(s.numerators, s.denominators, strict=True))
