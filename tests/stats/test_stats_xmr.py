"""XmR charts against NHSRplotthedots' published results.

Data sets are rebuilt exactly as the R tests build them (``set.seed(123); rnorm(...)``) with an
implementation of R's generator (``r_rng.py``); expected numbers are transcribed from the R
package's tests, test snapshots and vignettes (nhs-r-community/NHSRplotthedots at tag 0.2.2),
each test naming the file. The R tests print numbers to 7 significant figures, so that is the
tolerance here. ``test_stats_xmr_departures.py`` holds the inputs where R's results are
surprising, and the options that depart from them.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from r_rng import RRandom

from fivesafes.stats import (
    AssuranceIcon,
    ImprovementDirection,
    PointType,
    Rule,
    VariationIcon,
    xmr,
)
from fivesafes.stats.spc_model import assurance_icon
from fivesafes.stats.xmr import mean_moving_range

SIG7 = 5e-7


def _rnorm20() -> list[float]:
    return list(RRandom(123).rnorm(20))


def _limits(values: list[float], **kw: object) -> tuple[float, float, float]:
    g = xmr(values, **kw).groups[0]  # type: ignore[arg-type]
    return g.centre, g.lower, g.upper


def test_r_generator_matches_the_values_printed_by_r() -> None:
    # tests/testthat/_snaps/ptd_spc_standard.md prints the first four values of y
    assert _rnorm20()[:4] == pytest.approx(
        [-0.56047565, -0.23017749, 1.55870831, 0.07050839], abs=5e-9
    )


def _sides(values: list[float], **kw: object) -> list[int]:
    """ptd_spc_standard()'s relative_to_mean column."""
    result = xmr(values, **kw)  # type: ignore[arg-type]
    return [int(math.copysign(1, p.value - p.centre)) if p.value != p.centre else 0
            for p in result.points]  # fmt: skip


def test_limits_match_ptd_spc_standard_snapshot() -> None:
    # _snaps/ptd_spc_standard.md, r1: mean_col 0.1416238, lpl -3.01138, upl 3.294627
    assert _limits(_rnorm20()) == pytest.approx((0.1416238, -3.01138, 3.294627), rel=SIG7)
    # ... relative_to_mean as far as glimpse() prints it, and no point outside or close to
    # the limits
    r1 = xmr(_rnorm20())
    assert _sides(_rnorm20())[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    assert not any(p.rules for p in r1.points)
    assert [p.value for p in r1.points[:4]] == pytest.approx(
        [-0.56047565, -0.23017749, 1.55870831, 0.07050839], abs=5e-9
    )


def test_screening_outliers_matches_snapshot_and_off_reproduces_excel() -> None:
    y = _rnorm20()
    y[14] = 10  # data$y[15] <- 10
    # r2 (screen_outliers = TRUE) and r3 (screen_outliers = FALSE)
    assert _limits(y) == pytest.approx((0.6694159, -2.383666, 3.722497), rel=SIG7)
    assert _limits(y, screen_outliers=False) == pytest.approx(
        (0.6694159, -4.596625, 5.935457), rel=SIG7
    )
    # glimpse(r2) and glimpse(r3): the same relative_to_mean, as far as printed
    printed = [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]
    assert _sides(y)[:14] == printed and _sides(y, screen_outliers=False)[:14] == printed
    # test-ptd_spc_standard.R: all three pairs of limits differ, and the unscreened range is
    # wider than the screened one
    r1, r2, r3 = _limits(_rnorm20()), _limits(y), _limits(y, screen_outliers=False)
    assert len({r1[1], r2[1], r3[1]}) == 3 and len({r1[2], r2[2], r3[2]}) == 3
    assert r3[2] - r3[1] > r2[2] - r2[1]


def test_rebase_group_field_matches_ptd_spc_standard() -> None:
    # test-ptd_spc_standard.R "it sets the rebase_group field": no rebase, all group 0; a
    # rebase flag on the 11th row, groups 0 x 10 then 1 x 10
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    assert [p.group for p in xmr(_rnorm20(), x).points] == [0] * 20
    assert [p.group for p in xmr(_rnorm20(), x, rebase_at=[x[10]]).points] == [0] * 10 + [1] * 10


def test_rebase_dates_match_ptd_add_rebase_column() -> None:
    # test-ptd_add_rebase_column.R: dates 2020-01-02..2020-01-11, rebase on 2020-01-03 and
    # 2020-01-08 flags rows 2 and 7, so the groups start there
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(10)]
    rebase = [dt.date(2020, 1, 3), dt.date(2020, 1, 8)]
    groups = [p.group for p in xmr(list(RRandom(123).rnorm(10)), x, rebase_at=rebase).points]
    assert groups == [0, 1, 1, 1, 1, 1, 2, 2, 2, 2]


def test_fix_after_n_points_changes_the_limits() -> None:
    # test-ptd_spc_standard.R "setting fix_after_n_points changes the calculations"
    s0, s1 = _limits(_rnorm20()), _limits(_rnorm20(), fix_after_n_points=12)
    assert s1[1] != s0[1] and s1[2] != s0[2]


def test_trajectory_is_carried_like_ptd_spc_standard() -> None:
    # test-ptd_spc_standard.R "it sets the trajectory field": 1:20 when set, NA when not
    with_path = xmr(_rnorm20(), trajectory=list(range(1, 21)))
    assert [p.trajectory for p in with_path.points] == list(range(1, 21))
    assert all(p.trajectory is None for p in xmr(_rnorm20()).points)
    with pytest.raises(ValueError, match="one value per point"):
        xmr(_rnorm20(), trajectory=[1.0, 2.0])


def test_target_is_carried_like_ptd_add_target_column() -> None:
    # test-ptd_add_target_column.R: NA without a target, 0.9 on every row with one
    assert xmr(_rnorm20()).target is None
    assert xmr(_rnorm20(), target=0.9).target == 0.9


def test_deviations_vignette_worked_example() -> None:
    # vignettes/deviations.Rmd: UPL 4.6, mean 1.94, LPL -0.72 screened; Excel: 6.95 / -3.06
    data = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    dates = [dt.date(2021, 3, 22) + dt.timedelta(days=i) for i in range(18)]
    for screen, (upl, lpl) in ((True, (4.6, -0.72)), (False, (6.95, -3.06))):
        result = xmr(data, dates, screen_outliers=screen)
        g = result.groups[0]
        assert (round(g.upper, 2), round(g.centre, 2), round(g.lower, 2)) == (upl, 1.94, lpl)
        kinds = [p.point_type for p in result.points]
        # "four grey common cause points followed by a single blue special cause improvement"
        assert kinds[4] is PointType.IMPROVEMENT
        assert kinds.count(PointType.COMMON_CAUSE) == 17


def test_rebased_groups_have_their_own_limits() -> None:
    # _snaps/ptd_spc.md summary by facet of the same 20 points, 10 per group:
    # group 0 mean 0.0746 lpl -2.60 upl 2.75; group 1 mean 0.209 lpl -3.28 upl 3.70
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    result = xmr(_rnorm20(), x, rebase_at=[x[10]])
    got = [(g.centre, g.lower, g.upper) for g in result.groups]
    assert got[0] == pytest.approx((0.0746, -2.60, 2.75), abs=5e-3)
    assert got[1] == pytest.approx((0.209, -3.28, 3.70), abs=5e-3)
    assert [p.group for p in result.points] == [0] * 10 + [1] * 10
    assert all(g.trial_limits for g in result.groups)  # 10 points each: trial limits


def test_summary_counts_match_r_summary() -> None:
    # _snaps/ptd_spc.md, "it outputs expected content" and "summary with a target":
    # mean 0.142, lpl -3.01, upl 3.29, n 20, common_cause 20, improvement 0, concern 0,
    # variation common_cause; with target 0.5 an assurance_type column is added
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    for target in (None, 0.5):
        (row,) = xmr(_rnorm20(), x, target=target).summary()
        assert (row["centre"], row["lower"], row["upper"]) == pytest.approx(
            (0.142, -3.01, 3.29), abs=5e-3
        )
        assert (row["n"], row["common_cause"], row["special_cause_improvement"]) == (20, 20, 0)
        assert row["special_cause_concern"] == 0 and row["variation_type"] == "common_cause"
    # the limits hold 0.5, so the process will hit and miss it
    assert xmr(_rnorm20(), x, target=0.5).summary()[0]["assurance_type"] == "inconsistent"


def test_summary_of_a_rebase_before_the_first_point_is_one_group() -> None:
    # _snaps/ptd_spc.md, s2: rebase = as.Date("2020-01-01") on data from 2020-01-02 matches no
    # point; the summary shows one group, rebase_group 0, with the same limits as s1
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    result = xmr(_rnorm20(), x, rebase_at=[dt.date(2020, 1, 1)])
    (row,) = result.summary()
    assert row["group"] == 0 and row["n"] == 20 and row["common_cause"] == 20
    assert (row["centre"], row["lower"], row["upper"]) == pytest.approx(
        (0.142, -3.01, 3.29), abs=5e-3
    )


def test_summary_by_facet_has_short_groups() -> None:
    # _snaps/ptd_spc.md, s3 (facet_field = "facet", 10 points each, run under
    # suppressWarnings because both groups are short): 0.0746 / -2.60 / 2.75 and
    # 0.209 / -3.28 / 3.70, n 10, common_cause 10
    y = _rnorm20()
    for half, expected in ((y[:10], (0.0746, -2.60, 2.75)), (y[10:], (0.209, -3.28, 3.70))):
        result = xmr(half)
        (row,) = result.summary()
        assert (row["centre"], row["lower"], row["upper"]) == pytest.approx(expected, abs=5e-3)
        assert row["n"] == 10 and row["common_cause"] == 10
        assert row["trial_limits"] and result.warnings


def _icon_data(second_mean: float | None) -> list[float]:
    """test-geom_ptd_icon.R: y <- rnorm(24); then y[13:24] <- rnorm(12, mean) (twice)."""
    rng = RRandom(123)
    y = list(rng.rnorm(24))
    if second_mean is None:
        return y
    y[12:] = rng.rnorm(12, 5)
    if second_mean == -5:
        y[12:] = rng.rnorm(12, -5)
    return y


@pytest.mark.parametrize(
    ("second_mean", "target", "direction", "variation", "assurance"),
    [
        (None, 0.5, "increase", VariationIcon.COMMON_CAUSE, AssuranceIcon.HIT_OR_MISS),  # s2
        (5, -3, "increase", VariationIcon.IMPROVEMENT_HIGH, AssuranceIcon.PASS),  # s5
        (5, -3, "decrease", VariationIcon.CONCERN_HIGH, AssuranceIcon.FAIL),  # s6
        (-5, 3, "increase", VariationIcon.CONCERN_LOW, AssuranceIcon.FAIL),  # s7
        (-5, 3, "decrease", VariationIcon.IMPROVEMENT_LOW, AssuranceIcon.PASS),  # s8
        (-5, 3, "neutral", VariationIcon.NEUTRAL_LOW, None),  # s9
    ],
)
def test_icons_match_geom_ptd_icon_tests(
    second_mean: float | None,
    target: float,
    direction: str,
    variation: VariationIcon,
    assurance: AssuranceIcon | None,
) -> None:
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(24)]
    result = xmr(_icon_data(second_mean), x, target=target, improvement_direction=direction)
    assert (result.variation, result.assurance) == (variation, assurance)


def test_no_target_no_assurance_icon() -> None:
    assert xmr(_rnorm20()).assurance is None  # s1: variation icon only


@pytest.mark.parametrize("target", [None, 0.5])
def test_icons_of_each_facet_match_geom_ptd_icon_tests(target: float | None) -> None:
    # test-geom_ptd_icon.R s3 and s4: facet f = rep(0:1, each = 12) of rnorm(24): each facet
    # common cause, and with target 0.5 each "inconsistent"
    y = _icon_data(None)
    for facet in (y[:12], y[12:]):
        result = xmr(facet, target=target)
        assert result.variation is VariationIcon.COMMON_CAUSE
        assert result.assurance is (None if target is None else AssuranceIcon.HIT_OR_MISS)


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("increase", ["consistent_fail", "consistent_pass", "inconsistent"]),
        ("decrease", ["consistent_pass", "consistent_fail", "inconsistent"]),
        ("neutral", [None, None, None]),
    ],
)
def test_assurance_rules_match_ptd_calculate_assurance_type(
    direction: str, expected: list[str | None]
) -> None:
    # test-ptd_calculate_assurance_type.R: limits (1,3), (5,7), (1,5) against target 4
    got = [
        assurance_icon(4, lo, hi, ImprovementDirection(direction))
        for lo, hi in ((1, 3), (5, 7), (1, 5))
    ]
    assert [g.value if g else None for g in got] == expected


def test_assurance_takes_the_last_row_like_ptd_calculate_assurance_type() -> None:
    # test-ptd_calculate_assurance_type.R "when rebase": rows reordered so that the last row's
    # limits are (1, 5), (1, 3) or (5, 7) with target 4, decrease: inconsistent, pass, fail
    got = [
        assurance_icon(4, lo, hi, ImprovementDirection.DECREASE)
        for lo, hi in ((1, 5), (1, 3), (5, 7))
    ]
    assert got == [AssuranceIcon.HIT_OR_MISS, AssuranceIcon.PASS, AssuranceIcon.FAIL]


def test_assurance_uses_the_last_group_limits() -> None:
    # test-ptd_calculate_assurance_type.R "when rebase": only the latest limits count
    y = [10.0, 11.0] * 8 + [20.0, 21.0] * 8
    result = xmr(y, target=15, rebase_at=[16], improvement_direction="increase")
    assert result.assurance is AssuranceIcon.PASS
    early = xmr(y[:16], target=15, improvement_direction="increase")
    assert early.assurance is AssuranceIcon.FAIL


def test_two_of_three_on_opposite_sides_is_common_cause() -> None:
    # test-ptd_spc_standard.R: symmetrical data with 5.5 and -5.5 as the last two points
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5
    result = xmr(data)
    assert [p.point_type for p in result.points[-2:]] == [PointType.COMMON_CAUSE] * 2


def test_fix_after_n_points_freezes_limits_on_the_first_points() -> None:
    y = _rnorm20()
    frozen = xmr(y, fix_after_n_points=12)
    baseline = xmr(y[:12])
    assert frozen.groups[0].centre == pytest.approx(baseline.groups[0].centre)
    assert frozen.groups[0].upper == pytest.approx(baseline.groups[0].upper)
    assert frozen.groups[0].upper != pytest.approx(xmr(y).groups[0].upper)
    assert frozen.groups[0].points_in_limits == 12 and not frozen.has_trial_limits


def test_fix_after_fewer_than_12_points_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12"):
        xmr(_rnorm20(), fix_after_n_points=11)


def test_short_groups_match_ptd_add_short_group_warnings() -> None:
    # test-ptd_add_short_group_warnings.R, which passes warning_threshold = 12: 11 points warn
    # on every row; 12 do not; groups of 20 do not; groups of 35 and 5 warn on the 5 only
    y = list(RRandom(123).rnorm(40))
    assert all(p.trial_limits for p in xmr(y[:11], trial_limits_below=12).points)
    assert not xmr(y[:12], trial_limits_below=12).has_trial_limits
    assert not xmr(y, rebase_at=[20], trial_limits_below=12).has_trial_limits
    split = xmr(y, rebase_at=[35], trial_limits_below=12)
    assert [p.trial_limits for p in split.points] == [False] * 35 + [True] * 5
    assert split.warnings and "fewer than 12 points" in split.warnings[0]
    # "it chooses warning_threshold from options": 10 rows, the option at 10 then at 12
    assert not xmr(y[:10], trial_limits_below=10).has_trial_limits
    assert xmr(y[:10], trial_limits_below=12).has_trial_limits


def test_improvement_direction_turns_signals_into_improvement_or_concern() -> None:
    y = [1.0, 2.0] * 8 + [10.0]
    assert xmr(y, improvement_direction="increase").latest.point_type is PointType.IMPROVEMENT
    assert xmr(y, improvement_direction="decrease").latest.point_type is PointType.CONCERN
    assert xmr(y, improvement_direction="neutral").latest.point_type is PointType.NEUTRAL_HIGH


def test_points_are_sorted_by_x_and_labelled_with_the_rule() -> None:
    y = [5.0, 5.2, 4.8, 5.1, 4.9, 5.0, 5.3, 4.7, 5.1, 4.9, 5.0, 5.2, 4.8, 5.1, 9.0]
    in_order = xmr(y, list(range(15)))
    shuffled = xmr(y[::-1], list(range(15))[::-1])
    assert [p.x for p in shuffled.points] == list(range(15))
    assert shuffled.points == in_order.points
    last = in_order.latest
    assert (last.x, last.rule, last.special_cause_type) == (14, Rule.BEYOND_LIMITS, "Above UCL")
    # the spike lifts the mean, leaving the 14 earlier points below it: a run
    assert all(p.rule is Rule.RUN for p in in_order.points[:14] if p.special_cause)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"values\[2\]"):
        xmr([1.0, 2.0, float("nan")])
    with pytest.raises(ValueError, match="distinct"):
        xmr([1.0, 2.0], [1, 1])
    with pytest.raises(ValueError, match="not one of the chart's x values"):
        xmr([1.0, 2.0, 3.0], rebase_at=[7], strict_rebase=True)
    with pytest.raises(ValueError, match="1 or more"):
        xmr([1.0, 2.0], trial_limits_below=0)
    with pytest.raises(ValueError, match="trend_label"):
        xmr([1.0, 2.0], trend_label="sideways")
    with pytest.raises(ValueError):
        xmr([1.0, 2.0], improvement_direction="up")


def test_mean_moving_range_screening() -> None:
    assert mean_moving_range([1, 2, 1, 2, 10, 1], screen_outliers=False) == pytest.approx(
        (1 + 1 + 1 + 8 + 9) / 5
    )
    # ranges 1 x 7 and 28: mean 4.375, and 28 >= 3.267 * 4.375 is left out
    assert mean_moving_range([1, 2, 1, 2, 1, 2, 1, 2, 30]) == pytest.approx(1.0)


def test_records_are_plain_dicts() -> None:
    records = xmr(_rnorm20()).to_records()
    assert len(records) == 20
    assert records[0]["point_type"] == "common_cause" and records[0]["rules"] == []
