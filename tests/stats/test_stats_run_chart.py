"""Run charts: median, shifts, trends and the number of runs."""

from __future__ import annotations

import pytest

from fivesafes.stats import run_chart
from fivesafes.stats.run_chart import runs_limits


def test_shift_of_six_ignoring_points_on_the_median() -> None:
    values = [1, 9, 2, 8, 5, 6, 7, 5, 8, 9, 6, 1, 2]
    result = run_chart(values)
    assert result.median == 6
    # 7, 8, 9 above; the 6s on the median neither count nor break: only 3 useful -> no shift
    assert not any(p.shift for p in result.points)
    shifted = run_chart([5, 5, 5, 5, 1, 2, 1, 2, 1, 3, 1, 9, 8, 9, 8])
    assert [p.shift for p in shifted.points][4:11] == [True] * 7


def test_trend_of_five_skipping_repeated_values() -> None:
    result = run_chart([5, 1, 2, 2, 3, 4, 5, 1])
    assert [p.trend for p in result.points] == [False, True, True, True, True, True, True, False]
    assert not any(p.trend for p in run_chart([1, 2, 3, 4, 1, 2, 3, 4]).points)


def test_runs_counted_over_useful_observations() -> None:
    result = run_chart([1, 3, 1, 3, 2, 1, 3, 1, 3, 1, 3, 1, 3])
    assert result.median == 2
    assert result.useful_observations == 12 and result.runs == 12
    assert result.too_many_runs and result.non_random


def test_runs_limits_match_the_normal_approximation() -> None:
    assert runs_limits(9) == (None, None)
    low, high = runs_limits(20)
    assert (low, high) == (7, 15)  # 11 ± 1.96 × 2.176


def test_run_chart_records_and_validation() -> None:
    records = run_chart([1.0, 2.0, 3.0], ["a", "b", "c"]).to_records()
    assert [r["x"] for r in records] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        run_chart([1.0, 2.0], ["a"])
