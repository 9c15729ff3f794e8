"""The inputs where NHSRplotthedots 0.2.2 gives a surprising answer, and each option that
departs from it, tested both ways.

By default ``xmr()`` gives R's answer. The expected values here are of two kinds, each named on
its test: read from the R source at tag 0.2.2 (``R/ptd_spc_standard.R``,
``R/ptd_calculate_point_type.R``, ``R/ptd_calculate_assurance_type.R``,
``R/ptd_add_rebase_column.R``, ``R/ptd_add_short_group_warnings.R``), and printed by R 4.2.2
on x86-64 running those functions on the same series (marked "R run"). ``docs/statistics.md``
says why each option exists.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from fivesafes.stats import AssuranceIcon, PointType, Rule, xmr
from fivesafes.stats.r_arith import r_mean

DAYS = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(60)]


# --- a constant series: the mean must be exact, or every point is "below" it ---------------


def test_a_constant_series_has_its_value_as_mean_and_no_signal() -> None:
    # R run: 47 copies of 87.3 give mean_col 87.299999999999997 (the double 87.3), lpl and upl
    # NaN (screening leaves no moving range) and 47 "Common Cause" points
    values = [87.3] * 47
    assert float(np.mean(values)) == 87.30000000000003  # the sum numpy makes, for contrast
    result = xmr(values, DAYS[:47], target=90)
    assert {p.centre for p in result.points} == {87.3}
    assert all(math.isnan(p.lower) and math.isnan(p.upper) for p in result.points)
    assert {p.special_cause_type for p in result.points} == {"Common Cause"}
    assert result.assurance is AssuranceIcon.HIT_OR_MISS  # R run: "inconsistent"


def test_r_mean_sums_in_order_in_extended_precision() -> None:
    # R run: sprintf("%.17g", mean(c(0.1, 0.2, 0.3))) is 0.20000000000000001 (the double 0.2),
    # mean(rep(0.1, 10)) is 0.1, and mean(c(1e308, 1e308)) is 1e+308: the long double sum
    # does not overflow
    assert float(np.mean([0.1, 0.2, 0.3])) == 0.20000000000000004
    assert r_mean([0.1, 0.2, 0.3]) == 0.2
    assert r_mean([0.1] * 10) == 0.1
    assert r_mean([1e308, 1e308]) == 1e308
    assert math.isnan(r_mean([]))


# --- a constant baseline with outlier screening: NaN limits, or zero-width ones -------------


BASELINE = [5.0] * 13 + [6.0, 7.0, 5.0, 6.0, 7.0, 5.0, 6.0]


def test_a_constant_baseline_has_no_limits_by_default() -> None:
    # R run (fix_after_n_points = 12, screen_outliers = TRUE, target 4): lpl and upl NaN on all
    # 20 rows, every point "Common Cause", assurance "inconsistent"
    result = xmr(BASELINE, DAYS[:20], fix_after_n_points=12, target=4)
    assert all(math.isnan(p.lower) and math.isnan(p.upper) for p in result.points)
    assert {p.special_cause_type for p in result.points} == {"Common Cause"}
    assert result.assurance is AssuranceIcon.HIT_OR_MISS


def test_zero_width_limits_option_puts_the_limits_on_the_constant() -> None:
    # the option gives what R gives with screen_outliers = FALSE (R run: lpl = upl = 5, the
    # 6s and 7s "Above UCL", assurance "consistent_pass")
    for result in (
        xmr(BASELINE, DAYS[:20], fix_after_n_points=12, target=4, zero_width_limits=True),
        xmr(BASELINE, DAYS[:20], fix_after_n_points=12, target=4, screen_outliers=False),
    ):
        assert {(p.lower, p.upper) for p in result.points} == {(5.0, 5.0)}
        labels = [p.special_cause_type for p in result.points[13:]]
        assert labels == ["Above UCL", "Above UCL", "Common Cause"] * 2 + ["Above UCL"]
        assert result.assurance is AssuranceIcon.PASS


def test_nan_limits_still_let_runs_and_trends_fire() -> None:
    # R/ptd_calculate_point_type.R: outside_limits and close_to_limits are NA, which
    # case_when() reads as FALSE, while relative_to_mean and the trend need no limits
    values = [5.0] * 12 + [6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]
    result = xmr(values, fix_after_n_points=12)
    later = result.points[12:]
    assert all(Rule.BEYOND_LIMITS not in p.rules for p in later)
    assert {p.rule for p in later} == {Rule.TREND}


# --- rebase dates that are not on the chart -------------------------------------------------


def test_rebase_dates_off_the_chart_are_ignored_by_default() -> None:
    # R/ptd_add_rebase_column.R: rebase is x %in% rebase dates, so a date with no point flags
    # nothing (as _snaps/ptd_spc.md shows for 2020-01-01 before the first point)
    between = [dt.date(2020, 1, 1) + dt.timedelta(days=7 * i) for i in range(20)]
    result = xmr(list(range(20)), between, rebase_at=[dt.date(2020, 2, 1), between[10]])
    assert [g.n for g in result.groups] == [10, 10]
    assert result.warnings[0] == (
        "rebase point datetime.date(2020, 2, 1) is not one of the chart's x values; ignored"
    )


def test_strict_rebase_refuses_dates_off_the_chart() -> None:
    between = [dt.date(2020, 1, 1) + dt.timedelta(days=7 * i) for i in range(20)]
    with pytest.raises(ValueError, match=r"rebase point .*2020, 2, 1.* is not one of"):
        xmr(list(range(20)), between, rebase_at=[dt.date(2020, 2, 1)], strict_rebase=True)
    assert len(xmr(list(range(20)), between, rebase_at=[between[10]], strict_rebase=True).groups)


# --- the short-group threshold ----------------------------------------------------------------


def test_twelve_points_are_a_short_group_in_r_but_not_with_the_option() -> None:
    # R/ptd_add_short_group_warnings.R: warning_threshold = getOption(..., 13); n < 13 warns
    values = [1.0, 2.0, 3.0, 2.0] * 3
    assert xmr(values).has_trial_limits and xmr(values).warnings
    relaxed = xmr(values, trial_limits_below=12)
    assert not relaxed.has_trial_limits and relaxed.warnings == ()
    # the warning is about the group's size, whatever fix_after_n_points says
    assert not xmr(values * 2, fix_after_n_points=12).has_trial_limits


# --- where two trends meet ------------------------------------------------------------------

RISE_FLAT_RISE = [0.0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11, 12]
FALL_UP_FALL = [12.0, 11, 10, 9, 8, 7, 6, 7, 6, 5, 4, 3, 2, 1, 0]


def test_where_two_trends_meet_r_reads_the_next_step() -> None:
    # R run: the last point of a rising trend, followed by a level step into a second rising
    # trend, is "7 Point Trend (Decreasing)" and a concern; the last point of a falling trend,
    # followed by a rise into a second falling trend, is "(Increasing)" and an improvement
    a = xmr(RISE_FLAT_RISE, improvement_direction="increase").points[6]
    assert (a.special_cause_type, a.point_type) == (
        "7 Point Trend (Decreasing)",
        PointType.CONCERN,
    )
    b = xmr(FALL_UP_FALL, improvement_direction="increase").points[6]
    assert (b.special_cause_type, b.point_type) == (
        "7 Point Trend (Increasing)",
        PointType.IMPROVEMENT,
    )


def test_own_trend_option_names_the_trend_a_point_belongs_to() -> None:
    a = xmr(RISE_FLAT_RISE, trend_label="own_trend").points[6]
    assert (a.special_cause_type, a.point_type) == (
        "7 Point Trend (Increasing)",
        PointType.IMPROVEMENT,
    )
    b = xmr(FALL_UP_FALL, trend_label="own_trend").points[6]
    assert (b.special_cause_type, b.point_type) == ("7 Point Trend (Decreasing)", PointType.CONCERN)


def test_a_peak_between_two_trends_is_read_the_same_way_by_both() -> None:
    # R run (decrease is better): 2..6 "(Increasing)" concerns, 7 "Above UCL", the falling
    # side "(Decreasing)" improvements, the ends "Below LCL"
    peak = [1.0, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]
    for label in ("next_step", "own_trend"):
        points = xmr(peak, improvement_direction="decrease", trend_label=label).points
        assert [p.special_cause_type for p in points] == (
            ["Below LCL"]
            + ["7 Point Trend (Increasing)"] * 5
            + ["Above UCL"]
            + ["7 Point Trend (Decreasing)"] * 5
            + ["Below LCL"]
        )
        assert points[6].point_type is PointType.CONCERN


# --- the assurance icon when there are no limits --------------------------------------------


def test_no_limits_with_a_target_is_inconsistent_in_r() -> None:
    # R run: a one-point last group (rebase on 2020-01-08) with target 2: lpl and upl NaN,
    # assurance "inconsistent"; R/ptd_calculate_assurance_type.R's case_when() falls through
    values = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 9.0]
    result = xmr(values, DAYS[:8], rebase_at=[DAYS[7]], target=2)
    last = result.groups[-1]
    assert last.n == 1 and last.trial_limits and math.isnan(last.upper)
    assert result.assurance is AssuranceIcon.HIT_OR_MISS
    assert result.variation.value == "common_cause"


def test_assurance_needs_limits_option_gives_no_icon() -> None:
    values = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 9.0]
    result = xmr(values, rebase_at=[7], target=2, assurance_needs_limits=True)
    assert result.assurance is None
    assert xmr(values, target=2, assurance_needs_limits=True).assurance is (
        AssuranceIcon.HIT_OR_MISS
    )
    assert xmr(values, rebase_at=[7], target=2, improvement_direction="neutral").assurance is None


# --- missing values: refused, where R stops or labels nonsense -------------------------------


def test_a_missing_value_is_refused_by_position() -> None:
    # R run: ptd_spc_standard() keeps NA rows; then a seven-point window holding the NA and six
    # rising steps stops ptd_seven_point_trend() with "missing value where TRUE/FALSE needed".
    # We refuse every missing value up front and name it.
    with pytest.raises(ValueError, match=r"values\[6\] is missing"):
        xmr([1.0, 2, 3, 4, 5, 6, math.nan, 8, 9, 10, 11, 12, 13, 14])
