"""The special-cause rules on their own.

Expected values marked "NHSRplotthedots" are ported from the R package's
tests/testthat/test-ptd_calculate_point_type.R (nhs-r-community/NHSRplotthedots, v0.2.2):
there each rule is a pair of functions (mark the point that completes a pattern, then mark the
points that are part of it); here one function returns the second result directly.
"""

from __future__ import annotations

import numpy as np
import pytest

from fivesafes.stats.spc_rules import (
    Rule,
    RuleSettings,
    classify,
    label_points,
    next_step_direction,
    run_membership,
    trend_membership,
    two_of_three_membership,
)


def _mask(*bits: int) -> list[bool]:
    return [bool(b) for b in bits]


# --- runs (NHSRplotthedots: ptd_seven_point_one_side_mean + ptd_part_of_seven_trend) ---


def test_run_needs_seven_points_on_one_side() -> None:
    assert run_membership([], 7).tolist() == []
    assert not run_membership([1] * 6, 7).any()
    assert not run_membership([1] * 6 + [-1], 7).any()


@pytest.mark.parametrize("side", [1, -1])
def test_run_of_eight_marks_all_eight(side: int) -> None:
    got = run_membership([side] * 8 + [-side], 7)
    assert got.tolist() == [True] * 8 + [False]


def test_point_on_mean_breaks_a_run() -> None:
    assert not run_membership([1, 1, 1, 0, 1, 1, 1, 1], 7).any()


def test_six_point_run_option() -> None:
    assert run_membership([1] * 6, 6).all()
    assert not run_membership([1] * 5, 6).any()


# --- trends (NHSRplotthedots: ptd_seven_point_trend + ptd_part_of_seven_trend) ---


def test_trend_needs_seven_strictly_rising_points() -> None:
    assert not trend_membership([], 7)[0].any()
    assert not trend_membership(list(range(1, 7)), 7)[0].any()
    # c(1:3, 3:6): a repeated value breaks the trend
    assert not trend_membership([1, 2, 3, 3, 4, 5, 6], 7)[0].any()


def test_trend_marks_every_point_and_its_direction() -> None:
    member, direction = trend_membership(list(range(1, 8)), 7)
    assert member.all() and (direction == 1).all()
    member, direction = trend_membership(list(range(7, 0, -1)), 7)
    assert member.all() and (direction == -1).all()
    # c(2, 1:7, 3): the seven rising points, not the ends
    member, _ = trend_membership([2, *range(1, 8), 3], 7)
    assert member.tolist() == [False, *[True] * 7, False]
    member, _ = trend_membership([2, *range(7, 0, -1), 3], 7)
    assert member.tolist() == [False, *[True] * 7, False]


def test_peak_between_two_trends_takes_the_direction_after_it() -> None:
    values = [1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]
    member, direction = trend_membership(values, 7)
    assert member.all()
    assert direction[6] == -1 and direction[5] == 1 and direction[7] == -1


def test_six_point_trend_option() -> None:
    assert trend_membership([1, 2, 3, 4, 5, 6], 6)[0].all()
    assert not trend_membership([1, 2, 3, 4, 5], 6)[0].any()


# --- two of three (NHSRplotthedots: ptd_two_in_three + ptd_part_of_two_in_three) ---


@pytest.mark.parametrize("near", [[1, 0, 1], [0, 1, 1], [1, 1, 0]])
def test_two_of_three_same_side_marks_the_near_points(near: list[int]) -> None:
    assert two_of_three_membership(near, [1, 1, 1]).tolist() == _mask(*near)


def test_two_of_three_windows() -> None:
    assert two_of_three_membership([0, 0, 1, 0, 1, 0, 0], [1] * 7).tolist() == _mask(
        0, 0, 1, 0, 1, 0, 0
    )
    assert two_of_three_membership([0, 0, 1, 1, 0, 0, 0], [1] * 7).tolist() == _mask(
        0, 0, 1, 1, 0, 0, 0
    )
    assert not two_of_three_membership([1, 0, 0, 1], [1] * 4).any()
    assert two_of_three_membership([1, 0, 0, 1, 1], [1] * 5).tolist() == _mask(0, 0, 0, 1, 1)


@pytest.mark.parametrize("near", [[1, 0, 1], [0, 1, 1], [1, 1, 0]])
def test_two_of_three_needs_the_same_side(near: list[int]) -> None:
    assert not two_of_three_membership(near, [1, -1, 1]).any()


def test_two_of_three_alternating_sides_never_fire() -> None:
    assert not two_of_three_membership([0, 0, 1, 0, 1, 0, 0], [1, -1] * 3 + [1]).any()
    assert not two_of_three_membership([0, 0, 1, 1, 0, 0, 0], [-1, 1] * 3 + [-1]).any()


# --- classify: precedence and labels (NHSRplotthedots ptd_special_cause_type wording) ---


def _flat(values: list[float], **kw: object) -> list[str]:
    signals = classify(values, 0.0, -3.0, 3.0, -2.0, 2.0, RuleSettings(**kw))  # type: ignore[arg-type]
    return [s.label for s in signals]


def test_beyond_limits_labels() -> None:
    assert _flat([0.5, 3.5, -0.5, -3.5]) == [
        "Common Cause",
        "Above UCL",
        "Common Cause",
        "Below LCL",
    ]


def test_each_rule_fires_with_its_label() -> None:
    assert _flat([-1.0, 0.5, 0.1, 0.6, 0.2, 0.7, 0.3, 0.4, -1.0])[1:8] == ["7 Points Above CL"] * 7
    assert set(_flat([-1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0])) == {"7 Point Trend (Increasing)"}
    assert _flat([0.1, 2.5, -0.5, 2.5, 0.2]) == ["Common Cause"] * 5
    assert _flat([0.1, 2.5, 0.5, 2.5, -0.2]) == [
        "Common Cause",
        "2 in 3 Above CL",
        "Common Cause",
        "2 in 3 Above CL",
        "Common Cause",
    ]


def test_precedence_beyond_then_trend_then_two_of_three_then_run() -> None:
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 2.5, 3.5]
    signals = classify(values, 0.0, -3.0, 3.0, -2.0, 2.0)
    assert signals[-1].rule is Rule.BEYOND_LIMITS
    assert signals[-1].rules == (Rule.BEYOND_LIMITS, Rule.TREND, Rule.RUN)
    assert signals[-2].rule is Rule.TREND
    assert Rule.RUN in signals[0].rules and signals[0].rule is Rule.TREND


def test_two_of_three_can_count_points_beyond_the_limits() -> None:
    values = [0.1, 2.5, 3.5, 0.2]
    assert classify(values, 0.0, -3.0, 3.0, -2.0, 2.0)[1].rule is None
    wide = classify(
        values, 0.0, -3.0, 3.0, -2.0, 2.0, RuleSettings(two_of_three_includes_beyond=True)
    )
    assert wide[1].rule is Rule.TWO_OF_THREE
    assert wide[2].rules == (Rule.BEYOND_LIMITS, Rule.TWO_OF_THREE)


def test_six_point_labels() -> None:
    assert set(_flat([0.1] * 6, run_length=6)) == {"6 Points Above CL"}
    assert set(_flat([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5], trend_length=6)) == {
        "6 Point Trend (Increasing)"
    }


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RuleSettings(run_length=1)
    with pytest.raises(ValueError):
        RuleSettings(trend_length=2)


def test_varying_limits_are_used_point_by_point() -> None:
    values = np.array([0.5, 0.5])
    signals = classify(values, 0.0, [-1.0, -0.4], [1.0, 0.4], [-0.6, -0.2], [0.6, 0.2])
    assert [s.rule for s in signals] == [None, Rule.BEYOND_LIMITS]


# --- labels from the rules' masks (NHSRplotthedots: ptd_special_cause_type) ---


def test_labels_from_masks_match_ptd_special_cause_type() -> None:
    # test-ptd_calculate_point_type.R "ptd_special_cause_type works as expected": y = 1:8,
    # relative_to_mean 1 x 4 then -1 x 4, and the mocked part-of masks: trend c(1, -1, 0...),
    # run c(0, 0, 1, -1, 0...), two-in-three point 5, outside limits points 6 and 7
    y = list(range(1, 9))
    sides = [1, 1, 1, 1, -1, -1, -1, -1]
    trend = _mask(1, 1, 0, 0, 0, 0, 0, 0)
    signals = label_points(
        sides,
        beyond=_mask(0, 0, 0, 0, 0, 1, 1, 0),
        trend=trend,
        trend_direction=next_step_direction(y, trend),
        two_of_three=_mask(0, 0, 0, 0, 1, 0, 0, 0),
        run=_mask(0, 0, 1, 1, 0, 0, 0, 0),
    )
    assert [s.label for s in signals] == [
        "7 Point Trend (Increasing)",
        "7 Point Trend (Increasing)",
        "7 Points Above CL",
        "7 Points Above CL",
        "2 in 3 Below CL",
        "Below LCL",
        "Below LCL",
        "Common Cause",
    ]


def test_next_step_direction_reads_a_level_step_as_decreasing() -> None:
    # R/ptd_calculate_point_type.R: a trend point followed by a trend point takes
    # sign(diff(y)) of the step after it, else of the step before; "In" only when it is 1
    y = [0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11, 12]
    member, own = trend_membership(y, 7)
    assert member.all()
    assert next_step_direction(y, member).tolist() == [1] * 6 + [-1] + [1] * 7
    assert own.tolist() == [1] * 14
    assert next_step_direction([], []).tolist() == []
