"""Interrupted time series: a before/after evaluation of a change made at a known time.

Segmented regression (Wagner AK et al. (2002) "Segmented regression analysis of interrupted
time series studies in medication use research", J Clin Pharm Ther 27:299-309; Lopez Bernal J,
Cummins S & Gasparrini A (2017) "Interrupted time series regression for the evaluation of
public health interventions: a tutorial", Int J Epidemiol 46:348-355):

    yₜ = β₀ + β₁ t + β₂ Dₜ + β₃ (t − T₀) Dₜ + εₜ,

t counting periods from 0, Dₜ = 1 from the change at T₀: β₂ is the **level change** at the
change and β₃ the **slope change** after it. Monthly health series are autocorrelated, which
makes ordinary least-squares standard errors too small; they are replaced by Newey & West's
(1987) heteroskedasticity- and autocorrelation-consistent ones (Bartlett weights 1 − l/(L+1)
up to lag L, by default ⌊4 (n/100)^(2/9)⌋), with the small-sample factor n/(n − 4) and t
intervals on n − 4 degrees of freedom, as Stata's ``newey`` and R's
``sandwich::NeweyWest(..., prewhite = FALSE, adjust = TRUE)`` compute them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from fivesafes.stats.indicators import normalise_confidence
from fivesafes.stats.spc_chart import as_values
from fivesafes.stats.spc_rules import FloatArray, Numbers

MIN_EACH_SIDE = 3
"""Periods needed before and after the change: a line through fewer says nothing."""


def newey_west_lag(n: int) -> int:
    """The rule-of-thumb lag ⌊4 (n/100)^(2/9)⌋ (Newey & West 1994)."""
    return int(4 * (n / 100) ** (2 / 9))  # truncation is the floor for a positive number


def newey_west_covariance(
    design: FloatArray, residuals: FloatArray, lag: int, *, adjust: bool = True
) -> FloatArray:
    """The HAC covariance of least-squares coefficients (Bartlett kernel up to ``lag``)."""
    n, k = design.shape
    scores = design * residuals[:, None]
    meat = scores.T @ scores
    for step in range(1, lag + 1):
        cross = scores[step:].T @ scores[:-step]
        meat += (1 - step / (lag + 1)) * (cross + cross.T)
    bread = np.linalg.inv(design.T @ design)
    covariance: FloatArray = bread @ meat @ bread
    return covariance * (n / (n - k)) if adjust else covariance


@dataclass(frozen=True, slots=True)
class Estimate:
    """One coefficient with its robust standard error, interval and p-value."""

    name: str
    value: float
    standard_error: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True, slots=True)
class ItsPoint:
    index: int
    x: Any
    value: float
    after: bool
    fitted: float
    counterfactual: float
    """The pre-change line carried on: what the fit says would have happened without it."""


@dataclass(frozen=True, slots=True)
class ItsResult:
    """A segmented regression: its four coefficients, the fitted and counterfactual lines."""

    intercept: Estimate
    pre_slope: Estimate
    level_change: Estimate
    slope_change: Estimate
    points: tuple[ItsPoint, ...]
    change_at: Any
    lag: int
    confidence: float
    lag1_autocorrelation: float
    """Of the residuals: why the robust errors matter (0 would mean ordinary ones would do)."""

    @property
    def estimates(self) -> tuple[Estimate, ...]:
        return (self.intercept, self.pre_slope, self.level_change, self.slope_change)

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.points]

    def estimate_records(self) -> list[dict[str, Any]]:
        extra = {"lag": self.lag, "confidence": self.confidence}
        return [asdict(e) | extra for e in self.estimates]


def interrupted_time_series(
    values: Numbers,
    x: Sequence[Any] | None = None,
    *,
    change_at: Any,
    lag: int | None = None,
    confidence: float = 0.95,
    adjust: bool = True,
) -> ItsResult:
    """Fit the segmented regression of ``values`` (one per period, in the order of ``x``)
    with the change at the period ``change_at`` (an x value, or an index without ``x``)."""
    y = as_values(values)
    xs = list(range(y.size)) if x is None else list(x)
    if len(xs) != y.size:
        raise ValueError("values and x must have the same length")
    order = sorted(range(y.size), key=lambda i: xs[i])
    xs, y = [xs[i] for i in order], y[order]
    if change_at not in xs:
        raise ValueError(f"the change at {change_at!r} is not one of the periods")
    t0 = xs.index(change_at)
    n = y.size
    if t0 < MIN_EACH_SIDE or n - t0 < MIN_EACH_SIDE:
        raise ValueError(
            f"need at least {MIN_EACH_SIDE} periods before and after the change "
            f"(got {t0} and {n - t0})"
        )
    level = normalise_confidence(confidence)
    chosen = newey_west_lag(n) if lag is None else lag
    if not 0 <= chosen < n - 4:
        raise ValueError(f"lag must be from 0 to {n - 5} (got {chosen})")
    t = np.arange(n, dtype=float)
    after = (t >= t0).astype(float)
    design = np.column_stack([np.ones(n), t, after, (t - t0) * after])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    se = np.sqrt(np.diag(newey_west_covariance(design, residuals, chosen, adjust=adjust)))
    df = n - 4
    q = float(stats.t.ppf(1 - (1 - level) / 2, df))
    names = ("intercept", "pre_slope", "level_change", "slope_change")
    estimates = [
        Estimate(
            name,
            float(b),
            float(s),
            float(b - q * s),
            float(b + q * s),
            float(2 * stats.t.sf(abs(b / s), df)) if s > 0 else 0.0,
        )
        for name, b, s in zip(names, beta, se, strict=True)
    ]
    fitted = design @ beta
    counterfactual = beta[0] + beta[1] * t
    centred = residuals - residuals.mean()
    denominator = float(centred @ centred)
    rho = float(centred[1:] @ centred[:-1]) / denominator if denominator > 0 else 0.0
    points = tuple(
        ItsPoint(i, xs[i], float(y[i]), bool(after[i]), float(fitted[i]), float(counterfactual[i]))
        for i in range(n)
    )
    intercept, pre_slope, level_change, slope_change = estimates
    return ItsResult(
        intercept, pre_slope, level_change, slope_change, points, change_at, chosen, level, rho
    )
