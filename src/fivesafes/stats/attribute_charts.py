"""Attribute charts for counts and proportions: p, u and c charts (Shewhart 3σ limits).

* p chart — proportions ``numerator / denominator``; centre p̄ = Σ numerators / Σ denominators,
  σᵢ = √(p̄(1 − p̄) / nᵢ), limits clipped to [0, 1].
* u chart — rates per unit ``count / exposure``; centre ū = Σ counts / Σ exposures,
  σᵢ = √(ū / nᵢ), lower limit clipped at 0.
* c chart — counts in equal opportunity; centre c̄ = mean count, σ = √c̄, lower limit at 0.

The limits vary point by point with the denominator (p and u). Rebasing, frozen limits, the
Making Data Count rules (with 2σ as the "near" limits), point types and icons are the same as
for the XmR chart (see :mod:`fivesafes.stats.spc_chart`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fivesafes.stats.spc_chart import ChartOptions, GroupLimits, as_values, build_chart
from fivesafes.stats.spc_model import ImprovementDirection, SpcResult
from fivesafes.stats.spc_rules import FloatArray, Numbers, RuleSettings


def _p_limits(
    fixed_values: FloatArray,
    fixed_denominators: FloatArray | None,
    denominators: FloatArray | None,
    n_points: int,
) -> GroupLimits:
    assert fixed_denominators is not None and denominators is not None
    p_bar = float((fixed_values * fixed_denominators).sum() / fixed_denominators.sum())
    half = 3.0 * np.sqrt(p_bar * (1.0 - p_bar) / denominators)
    return GroupLimits(p_bar, half, floor=0.0, ceiling=1.0)


def _u_limits(
    fixed_values: FloatArray,
    fixed_denominators: FloatArray | None,
    denominators: FloatArray | None,
    n_points: int,
) -> GroupLimits:
    assert fixed_denominators is not None and denominators is not None
    u_bar = float((fixed_values * fixed_denominators).sum() / fixed_denominators.sum())
    return GroupLimits(u_bar, 3.0 * np.sqrt(u_bar / denominators), floor=0.0)


def _c_limits(
    fixed_values: FloatArray,
    fixed_denominators: FloatArray | None,
    denominators: FloatArray | None,
    n_points: int,
) -> GroupLimits:
    c_bar = float(fixed_values.mean())
    return GroupLimits(c_bar, np.full(n_points, 3.0 * np.sqrt(c_bar)), floor=0.0)


def _options(
    improvement_direction: ImprovementDirection | str,
    target: float | None,
    rebase_at: Sequence[Any],
    fix_after_n_points: int | None,
    run_length: int,
    trend_length: int,
) -> ChartOptions:
    return ChartOptions(
        improvement_direction=ImprovementDirection(improvement_direction),
        target=target,
        rebase_at=tuple(rebase_at),
        fix_after_n_points=fix_after_n_points,
        rules=RuleSettings(run_length, trend_length),
    )


def _counts(numerators: Numbers, denominators: Numbers) -> tuple[FloatArray, FloatArray]:
    num = as_values(numerators, "numerators")
    den = as_values(denominators, "denominators")
    if num.shape != den.shape:
        raise ValueError("numerators and denominators must have the same length")
    if np.any(den <= 0):
        raise ValueError("denominators must all be greater than zero")
    if np.any(num < 0):
        raise ValueError("numerators must all be zero or more")
    return num, den


def p_chart(
    numerators: Numbers,
    denominators: Numbers,
    x: Sequence[Any] | None = None,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[Any] = (),
    fix_after_n_points: int | None = None,
    run_length: int = 7,
    trend_length: int = 7,
) -> SpcResult:
    """A p chart of ``numerators / denominators`` (values and limits are proportions 0–1)."""
    num, den = _counts(numerators, denominators)
    if np.any(num > den):
        raise ValueError("numerators must not exceed denominators on a p chart")
    options = _options(
        improvement_direction, target, rebase_at, fix_after_n_points, run_length, trend_length
    )
    return build_chart("p", num / den, x, den, _p_limits, options, {"multiplier": 1})


def u_chart(
    counts: Numbers,
    exposures: Numbers,
    x: Sequence[Any] | None = None,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[Any] = (),
    fix_after_n_points: int | None = None,
    run_length: int = 7,
    trend_length: int = 7,
) -> SpcResult:
    """A u chart of ``counts / exposures`` (e.g. falls per occupied bed day)."""
    num, den = _counts(counts, exposures)
    options = _options(
        improvement_direction, target, rebase_at, fix_after_n_points, run_length, trend_length
    )
    return build_chart("u", num / den, x, den, _u_limits, options, {})


def c_chart(
    counts: Numbers,
    x: Sequence[Any] | None = None,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[Any] = (),
    fix_after_n_points: int | None = None,
    run_length: int = 7,
    trend_length: int = 7,
) -> SpcResult:
    """A c chart of counts of events in equal areas of opportunity."""
    values = as_values(counts, "counts")
    if np.any(values < 0):
        raise ValueError("counts must all be zero or more")
    options = _options(
        improvement_direction, target, rebase_at, fix_after_n_points, run_length, trend_length
    )
    return build_chart("c", values, x, None, _c_limits, options, {})
