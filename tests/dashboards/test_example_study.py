"""The emergency-admissions example study runs on dummy data and writes tidy tables the
dashboard recognises as measures: national monthly series and a yearly regional comparison."""

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


def test_admissions_are_counted_per_month_for_all_england(outputs: Path) -> None:
    measure = as_measure(_as_table(outputs / "emergency_admissions_england.csv"))
    assert measure is not None and measure.kind is Kind.RATE and measure.group_column is None
    (series,) = measure.series
    assert len(series.periods) == 12 and all(d > 0 for d in series.denominators)


def test_regions_are_compared_over_the_year(outputs: Path) -> None:
    measure = as_measure(_as_table(outputs / "emergency_admissions_by_region.csv"))
    assert measure is not None and measure.kind is Kind.RATE
    assert measure.group_column == "region" and len(measure.series) > 1
    assert all(s.periods == ("2023-04-01",) for s in measure.series)  # one period: the year


def test_hba1c_recording_is_a_monthly_proportion(outputs: Path) -> None:
    measure = as_measure(_as_table(outputs / "hba1c_recorded_england.csv"))
    assert measure is not None and measure.kind is Kind.PROPORTION
    (series,) = measure.series
    assert len(series.periods) == 12
    assert all(n <= d for n, d in zip(series.numerators, series.denominators, strict=True))
