"""Funnel plots for comparing organisations against the overall average.

Control limits are drawn at the 95% (about 2σ) and 99.8% (about 3σ) levels, as in the
Fingertips / PHEindicatormethods funnel charts:

* proportions — the limits at a denominator n are the observed proportions whose Wilson score
  interval just reaches the average p₀ (the Wilson interval solved for the observation: a
  quadratic, see ``docs/statistics.md``);
* rates — the limits at a population n are E / n where E is the (continuous) event count whose
  exact Poisson interval just reaches the expected count p₀·n.

An organisation outside a limit is significantly high or low at that level. With
``overdispersion=True`` the limits are widened by a multiplicative factor φ estimated from the
organisations' z-scores, winsorised at 10% in each tail (Spiegelhalter DJ, 2005, "Handling
over-dispersion of performance indicators", Qual Saf Health Care 14:347-351); when φ <= 1 the
exact limits stand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from fivesafes.stats.indicators import normalise_confidence
from fivesafes.stats.spc_rules import Numbers

TWO_SIGMA = 0.95
THREE_SIGMA = 0.998


def proportion_funnel_limits(
    denominator: float, baseline: float, confidence: float = TWO_SIGMA
) -> tuple[float, float]:
    """Lower and upper funnel limits (as proportions) at ``denominator`` around ``baseline``."""
    z = float(stats.norm.ppf(1 - (1 - normalise_confidence(confidence)) / 2))
    c = z * z / denominator
    k = baseline * (1 + c) - c / 2
    # (1 + c) p² − (2k + c) p + (k² − c²/4) = 0 : the Wilson bound of p equals the baseline
    a, b, cc = 1 + c, -(2 * k + c), k * k - c * c / 4
    root = math.sqrt(max(b * b - 4 * a * cc, 0.0))
    return max(0.0, (-b - root) / (2 * a)), min(1.0, (-b + root) / (2 * a))


def _events_where_poisson_bound_is(expected: float, q: float, upper_bound: bool) -> float:
    """Continuous count E whose exact Poisson upper (or lower) limit at quantile q is
    ``expected``."""
    shape = 1.0 if upper_bound else 0.0

    def gap(e: float) -> float:
        return float(special.gammaincinv(e + shape, q)) - expected

    if gap(0.0 if upper_bound else 1e-12) >= 0:
        return 0.0
    hi = max(expected, 1.0) * 2 + 20
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0 if upper_bound else 1e-12, hi, xtol=1e-12, rtol=1e-14))


def rate_funnel_limits(
    denominator: float, baseline_rate: float, confidence: float = TWO_SIGMA
) -> tuple[float, float]:
    """Lower and upper funnel limits (as rates per 1) at population ``denominator``."""
    alpha = 1 - normalise_confidence(confidence)
    expected = baseline_rate * denominator
    lower_events = _events_where_poisson_bound_is(expected, 1 - alpha / 2, upper_bound=True)
    upper_events = _events_where_poisson_bound_is(expected, alpha / 2, upper_bound=False)
    return lower_events / denominator, upper_events / denominator


@dataclass(frozen=True, slots=True)
class FunnelLimit:
    """The funnel's four limit lines at one denominator (scaled by the multiplier)."""

    denominator: float
    lower_2s: float
    upper_2s: float
    lower_3s: float
    upper_3s: float


@dataclass(frozen=True, slots=True)
class FunnelOrganisation:
    """One organisation on the funnel and where it falls."""

    label: str
    numerator: float
    denominator: float
    value: float
    z_score: float
    significance: str


@dataclass(frozen=True, slots=True)
class FunnelResult:
    """A funnel chart's data: average, limit lines, organisations, overdispersion factor."""

    statistic: str
    baseline: float
    multiplier: float
    phi: float
    overdispersion: bool
    limits: tuple[FunnelLimit, ...]
    organisations: tuple[FunnelOrganisation, ...]

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(o) | {"baseline": self.baseline} for o in self.organisations]

    def limit_records(self) -> list[dict[str, Any]]:
        return [asdict(limit) for limit in self.limits]


def winsorised_phi(z_scores: Sequence[float], fraction: float = 0.1) -> float:
    """Spiegelhalter's overdispersion factor: the mean of squared z-scores after pulling the
    top and bottom ``fraction`` of them in to the nearest remaining value."""
    z = np.sort(np.asarray(z_scores, dtype=float))
    k = math.floor(fraction * z.size)
    if k:
        z[:k] = z[k]
        z[-k:] = z[-k - 1]
    return float(np.mean(z**2))


def _funnel(
    statistic: str,
    numerators: Numbers,
    denominators: Numbers,
    labels: Sequence[str] | None,
    multiplier: float,
    overdispersion: bool,
    points: int,
) -> FunnelResult:
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if num.shape != den.shape or num.ndim != 1 or num.size < 2:
        raise ValueError("need matching numerators and denominators for at least 2 organisations")
    if np.any(den <= 0) or np.any(num < 0) or not np.all(np.isfinite(num + den)):
        raise ValueError("numerators must be >= 0 and denominators > 0 for every organisation")
    if statistic == "proportion" and np.any(num > den):
        raise ValueError("numerators must not exceed denominators for proportions")
    names = [f"org {i + 1}" for i in range(num.size)] if labels is None else list(labels)
    if len(names) != num.size:
        raise ValueError("need one label per organisation")
    baseline = float(num.sum() / den.sum())
    variance = baseline * (1 - baseline) if statistic == "proportion" else baseline
    values = num / den
    z = (values - baseline) / np.sqrt(variance / den)
    phi = winsorised_phi(z) if overdispersion else 1.0
    adjusted = overdispersion and phi > 1

    def limits_at(n: float, level: float) -> tuple[float, float]:
        if adjusted:
            zq = float(stats.norm.ppf(1 - (1 - level) / 2))
            half = zq * math.sqrt(phi * variance / n)
            ceiling = 1.0 if statistic == "proportion" else math.inf
            return max(0.0, baseline - half), min(ceiling, baseline + half)
        exact = proportion_funnel_limits if statistic == "proportion" else rate_funnel_limits
        return exact(n, baseline, level)

    def limit_row(n: float) -> FunnelLimit:
        l2, u2 = limits_at(n, TWO_SIGMA)
        l3, u3 = limits_at(n, THREE_SIGMA)
        return FunnelLimit(n, *(v * multiplier for v in (l2, u2, l3, u3)))

    grid = np.geomspace(max(1.0, den.min() / 2), den.max() * 1.1, points)
    organisations = []
    for name, x, n, v, zi in zip(names, num, den, values, z, strict=True):
        row = limit_row(float(n))
        scaled = v * multiplier
        if scaled > row.upper_3s or scaled < row.lower_3s:
            level = "0.001"
        elif scaled > row.upper_2s or scaled < row.lower_2s:
            level = "0.025"
        else:
            level = None
        side = "High" if scaled > baseline * multiplier else "Low"
        significance = f"{side} ({level})" if level else "Not significant"
        z_adj = float(zi / math.sqrt(phi)) if adjusted else float(zi)
        organisations.append(
            FunnelOrganisation(name, float(x), float(n), scaled, z_adj, significance)
        )
    return FunnelResult(
        statistic=statistic,
        baseline=baseline * multiplier,
        multiplier=multiplier,
        phi=phi,
        overdispersion=adjusted,
        limits=tuple(limit_row(float(n)) for n in grid),
        organisations=tuple(organisations),
    )


def proportion_funnel(
    numerators: Numbers,
    denominators: Numbers,
    labels: Sequence[str] | None = None,
    *,
    multiplier: float = 100,
    overdispersion: bool = False,
    points: int = 100,
) -> FunnelResult:
    """Funnel of proportions (percentages by default) around the pooled average."""
    return _funnel(
        "proportion", numerators, denominators, labels, multiplier, overdispersion, points
    )


def rate_funnel(
    events: Numbers,
    populations: Numbers,
    labels: Sequence[str] | None = None,
    *,
    multiplier: float = 100_000,
    overdispersion: bool = False,
    points: int = 100,
) -> FunnelResult:
    """Funnel of crude rates per ``multiplier`` around the pooled rate."""
    return _funnel("rate", events, populations, labels, multiplier, overdispersion, points)
