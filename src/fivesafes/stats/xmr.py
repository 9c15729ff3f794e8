"""XmR (individuals and moving range) charts, the Making Data Count default.

Limits are mean ± 2.66 × mean moving range (2.66 = 3 / d2 with d2 = 1.128 for ranges of two
points), computed per rebased group from the first ``fix_after_n_points`` points when limits
are frozen. With ``screen_outliers`` (the NHSRplotthedots default, after Nelson 1982 and
Provost & Murray 2011) moving ranges of 3.267 × the mean moving range or more (3.267 = D4, the
upper range limit) are left out and the mean moving range recomputed; switching it off
reproduces the Making Data Count Excel tool.

By default every number and verdict is NHSRplotthedots 0.2.2's (``ptd_spc()``), to the last
bit: means are taken as R takes them (:func:`fivesafes.stats.r_arith.r_mean`) and the 2σ
limits are rounded as its code rounds them. Where its behaviour is a choice an analyst may not
want, an option gives the alternative; ``docs/statistics.md`` lists them and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fivesafes.stats.r_arith import r_mean
from fivesafes.stats.spc_chart import (
    SHORT_GROUP_POINTS,
    ChartOptions,
    GroupLimits,
    LimitMethod,
    as_values,
    build_chart,
)
from fivesafes.stats.spc_model import ImprovementDirection, SpcResult
from fivesafes.stats.spc_rules import FloatArray, Numbers, RuleSettings, TrendLabel

LIMIT_FACTOR = 2.66
NEAR_FACTOR = 2 * (LIMIT_FACTOR / 3)
"""The 2σ factor, written as ptd_spc_standard() writes it so that it rounds the same way."""
MOVING_RANGE_SCREEN = 3.267


def mean_moving_range(
    values: Numbers,
    *,
    screen_outliers: bool = True,
    zero_width_limits: bool = False,
) -> float:
    """Mean of the absolute differences between consecutive values, optionally after leaving
    out ranges of ``3.267 × mean`` or more.

    NaN for a single value, and (as in R) when screening leaves no range at all, which happens
    exactly when every range is zero (a constant series): nothing is below 3.267 × 0. With
    ``zero_width_limits`` that case gives 0 instead, so the limits sit on the constant."""
    y = np.asarray(values, dtype=float)
    if y.size < 2:
        return float("nan")
    mr = np.abs(np.diff(y))
    amr = r_mean(mr)
    if screen_outliers:
        kept = mr[mr < MOVING_RANGE_SCREEN * amr]
        amr = r_mean(kept) if kept.size or not zero_width_limits else amr
    return amr


def _xmr_limits(screen_outliers: bool, zero_width_limits: bool) -> LimitMethod:
    def method(
        fixed_values: FloatArray,
        fixed_denominators: FloatArray | None,
        denominators: FloatArray | None,
        n_points: int,
    ) -> GroupLimits:
        amr = mean_moving_range(
            fixed_values, screen_outliers=screen_outliers, zero_width_limits=zero_width_limits
        )
        return GroupLimits(
            r_mean(fixed_values),
            np.full(n_points, LIMIT_FACTOR * amr),
            near_half_width=np.full(n_points, NEAR_FACTOR * amr),
        )

    return method


def xmr(
    values: Numbers,
    x: Sequence[Any] | None = None,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[Any] = (),
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
    trajectory: Numbers | None = None,
    run_length: int = 7,
    trend_length: int = 7,
    two_of_three_includes_beyond: bool = False,
    trend_label: TrendLabel | str = TrendLabel.NEXT_STEP,
    zero_width_limits: bool = False,
    strict_rebase: bool = False,
    trial_limits_below: int = SHORT_GROUP_POINTS,
    assurance_needs_limits: bool = False,
) -> SpcResult:
    """An XmR chart, the Python counterpart of ``NHSRplotthedots::ptd_spc()``.

    Args:
        values: the measure, one value per period.
        x: the periods (dates, ints...), sorted into order; defaults to 0, 1, 2...
        improvement_direction: ``"increase"``, ``"decrease"`` or ``"neutral"``.
        target: a target for the assurance icon.
        rebase_at: x values where a new group with its own limits starts (a process change);
            one that is not an x value is ignored (and named in ``warnings``), as in R.
        fix_after_n_points: freeze each group's limits on its first n points (n >= 12).
        screen_outliers: leave large moving ranges out of the limits (off = Excel tool).
        trajectory: a planned value per period, drawn as a line (as ptd_spc()'s trajectory).

    Options that depart from NHSRplotthedots (defaults reproduce it):
        run_length, trend_length: 7 by default; 6 for the "6-point" variant of the rules.
        two_of_three_includes_beyond: count points beyond the process limits (not only those
            between 2σ and 3σ) towards the two-of-three rule.
        trend_label: ``"own_trend"`` names each trend point by the trend it belongs to, not
            by R's next-step rule (which can name the wrong way where two trends meet).
        zero_width_limits: a constant baseline gets zero-width limits at its value with
            outliers screened, not R's NaN (no limits).
        strict_rebase: a rebase x that is not one of the chart's x values is an error.
        trial_limits_below: groups with fewer points have trial limits (R's code: 13).
        assurance_needs_limits: no assurance icon when the latest limits are NaN (R:
            ``inconsistent``).
    """
    label = TrendLabel.parse(trend_label)
    options = ChartOptions(
        improvement_direction=ImprovementDirection(improvement_direction),
        target=target,
        rebase_at=tuple(rebase_at),
        fix_after_n_points=fix_after_n_points,
        rules=RuleSettings(run_length, trend_length, two_of_three_includes_beyond, label),
        strict_rebase=strict_rebase,
        trial_limits_below=trial_limits_below,
        assurance_needs_limits=assurance_needs_limits,
        trajectory=None if trajectory is None else tuple(as_values(trajectory, "trajectory")),
    )
    settings = {
        "screen_outliers": screen_outliers,
        "fix_after_n_points": fix_after_n_points,
        "run_length": run_length,
        "trend_length": trend_length,
        "two_of_three_includes_beyond": two_of_three_includes_beyond,
        "trend_label": str(label),
        "zero_width_limits": zero_width_limits,
        "strict_rebase": strict_rebase,
        "trial_limits_below": trial_limits_below,
        "assurance_needs_limits": assurance_needs_limits,
    }
    return build_chart(
        "xmr",
        as_values(values),
        x,
        None,
        _xmr_limits(screen_outliers, zero_width_limits),
        options,
        settings,
    )
