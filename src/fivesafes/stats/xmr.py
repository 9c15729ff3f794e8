"""XmR (individuals and moving range) charts, the Making Data Count default.

Limits are mean ± 2.66 × mean moving range (2.66 = 3 / d2 with d2 = 1.128 for ranges of two
points), computed per rebased group from the first ``fix_after_n_points`` points when limits
are frozen. With ``screen_outliers`` (the NHSRplotthedots default, after Nelson 1982 and
Provost & Murray 2011) moving ranges of 3.267 × the mean moving range or more (3.267 = D4, the
upper range limit) are left out and the mean moving range recomputed; switching it off
reproduces the Making Data Count Excel tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fivesafes.stats.spc_chart import (
    ChartOptions,
    GroupLimits,
    LimitMethod,
    as_values,
    build_chart,
)
from fivesafes.stats.spc_model import ImprovementDirection, SpcResult
from fivesafes.stats.spc_rules import FloatArray, RuleSettings

LIMIT_FACTOR = 2.66
MOVING_RANGE_SCREEN = 3.267


def mean_moving_range(
    values: Sequence[float] | FloatArray, *, screen_outliers: bool = True
) -> float:
    """Mean of the absolute differences between consecutive values (NaN for a single value),
    optionally after leaving out ranges of ``3.267 × mean`` or more."""
    y = np.asarray(values, dtype=float)
    if y.size < 2:
        return float("nan")
    mr = np.abs(np.diff(y))
    amr = float(mr.mean())
    if screen_outliers:
        kept = mr[mr < MOVING_RANGE_SCREEN * amr]
        # every range equal (amr == 0) keeps none; the process then has zero spread
        amr = float(kept.mean()) if kept.size else amr
    return amr


def _xmr_limits(screen_outliers: bool) -> LimitMethod:
    def method(
        fixed_values: FloatArray,
        fixed_denominators: FloatArray | None,
        denominators: FloatArray | None,
        n_points: int,
    ) -> GroupLimits:
        amr = mean_moving_range(fixed_values, screen_outliers=screen_outliers)
        return GroupLimits(float(fixed_values.mean()), np.full(n_points, LIMIT_FACTOR * amr))

    return method


def xmr(
    values: Sequence[float] | FloatArray,
    x: Sequence[Any] | None = None,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[Any] = (),
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
    run_length: int = 7,
    trend_length: int = 7,
    two_of_three_includes_beyond: bool = False,
) -> SpcResult:
    """An XmR chart, the Python counterpart of ``NHSRplotthedots::ptd_spc()``.

    Args:
        values: the measure, one value per period.
        x: the periods (dates, ints...), sorted into order; defaults to 0, 1, 2...
        improvement_direction: ``"increase"``, ``"decrease"`` or ``"neutral"``.
        target: a target for the assurance icon.
        rebase_at: x values where a new group with its own limits starts (a process change).
        fix_after_n_points: freeze each group's limits on its first n points (n >= 12).
        screen_outliers: leave large moving ranges out of the limits (off = Excel tool).
        run_length, trend_length: 7 by default; 6 for the "6-point" variant of the rules.
        two_of_three_includes_beyond: count points beyond the process limits (not only those
            between 2σ and 3σ) towards the two-of-three rule.
    """
    options = ChartOptions(
        improvement_direction=ImprovementDirection(improvement_direction),
        target=target,
        rebase_at=tuple(rebase_at),
        fix_after_n_points=fix_after_n_points,
        rules=RuleSettings(run_length, trend_length, two_of_three_includes_beyond),
    )
    settings = {
        "screen_outliers": screen_outliers,
        "fix_after_n_points": fix_after_n_points,
        "run_length": run_length,
        "trend_length": trend_length,
        "two_of_three_includes_beyond": two_of_three_includes_beyond,
    }
    return build_chart(
        "xmr", as_values(values), x, None, _xmr_limits(screen_outliers), options, settings
    )
