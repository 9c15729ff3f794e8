"""The emergency-admissions example study runs on dummy data and writes tidy tables the
dashboard recognises as measures: national monthly series and a yearly regional comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples_support import run_example, unreleased_csv

from fivesafes.dashboards import Kind, as_measure


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, "emergency-admissions")


def test_admissions_are_counted_per_month_for_all_england(outputs: Path) -> None:
    measure = as_measure(unreleased_csv(outputs / "emergency_admissions_england.csv"))
    assert measure is not None and measure.kind is Kind.RATE and measure.group_column is None
    (series,) = measure.series
    assert len(series.periods) == 12 and all(d > 0 for d in series.denominators)


def test_regions_are_compared_over_the_year(outputs: Path) -> None:
    measure = as_measure(unreleased_csv(outputs / "emergency_admissions_by_region.csv"))
    assert measure is not None and measure.kind is Kind.RATE
    assert measure.group_column == "region" and len(measure.series) > 1
    assert all(s.periods == ("2023-04-01",) for s in measure.series)  # one period: the year


def test_hba1c_recording_is_a_monthly_proportion(outputs: Path) -> None:
    measure = as_measure(unreleased_csv(outputs / "hba1c_recorded_england.csv"))
    assert measure is not None and measure.kind is Kind.PROPORTION
    (series,) = measure.series
    assert len(series.periods) == 12
    assert all(n <= d for n, d in zip(series.numerators, series.denominators, strict=True))
