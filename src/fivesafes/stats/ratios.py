"""Standardised ratios (observed / expected) and their funnel plot, for safety monitoring.

* **Expected counts** by indirect standardisation: each age band's reference rate applied to the
  local population, summed (bands the reference or local data lack count as zero, as
  PHEindicatormethods' ``calculate_ISRatio`` treats them).
* **Limits**: exact Poisson (Garwood) limits of the observed count divided by the expected, by
  default; ``limits="phe"`` uses Byar's approximation from 10 events up, as
  ``calculate_ISRatio`` and ``calculate_ISRate`` do, so that their results are reproduced.
* **Funnel**: the ratio of each organisation against its expected count, with exact Poisson
  control limits around 1 (``FunnelPlotR``'s unadjusted limits), or limits adjusted for
  over-dispersion as Spiegelhalter DJ (2005) "Handling over-dispersion of performance
  indicators", *Qual Saf Health Care* 14:347-351, describes: z-scores on a variance-stabilising
  scale (log, as the SHMI does, or square root), the 10% most extreme in each tail winsorised
  (or, as the SHMI specification does, truncated), the dispersion φ as their mean square, and
  then either a **multiplicative** model (limits widened by √φ) or an **additive random
  effects** model, τ² = (nφ − (n − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ) with wᵢ = 1/sᵢ², and limits
  ±z√(sᵢ² + τ²). φ and τ² agree with the NHS-R package FunnelPlotR 0.5.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from fivesafes.stats.indicators import (
    SMALL_COUNT,
    IndicatorValue,
    Interval,
    byars_interval,
    exact_poisson_interval,
    normalise_confidence,
)
from fivesafes.stats.spc_rules import BoolArray, FloatArray, Numbers

Limits = Literal["exact", "phe"]
Adjustment = Literal["multiplicative", "additive"]
Scale = Literal["log", "sqrt"]
Trim = Literal["winsorise", "truncate"]
TWO_SIGMA, THREE_SIGMA = 0.95, 0.998


def expected_count(
    populations: Numbers, reference_counts: Numbers, reference_populations: Numbers
) -> float:
    """Σ reference rate × local population over age bands; a missing value counts as zero."""
    n, x_ref, n_ref = (np.asarray(a, dtype=float) for a in (populations, reference_counts,
                                                             reference_populations))  # fmt: skip
    if not n.shape == x_ref.shape == n_ref.shape:
        raise ValueError("populations and the reference must have one value per age band")
    if np.any(n_ref <= 0):
        raise ValueError("reference populations must all be greater than zero")
    if np.any(n < 0) or np.any(x_ref < 0):
        raise ValueError("populations and reference counts must be zero or more")
    return float(np.sum(np.nan_to_num(x_ref) / n_ref * np.nan_to_num(n)))


def _count_interval(observed: float, level: float, limits: Limits) -> tuple[float, float]:
    if limits == "phe" and observed >= SMALL_COUNT:
        return byars_interval(observed, level)
    return exact_poisson_interval(observed, level)


def standardised_ratio(
    observed: float,
    expected: float,
    *,
    multiplier: float = 1,
    confidence: float | Sequence[float] = (TWO_SIGMA, THREE_SIGMA),
    limits: Limits = "exact",
) -> IndicatorValue:
    """Observed / expected × ``multiplier`` (e.g. 100 for an SMR) with its limits."""
    if observed < 0 or not math.isfinite(observed):
        raise ValueError("observed events must be zero or more")
    if expected <= 0 or not math.isfinite(expected):
        raise ValueError("expected events must be greater than zero")
    if limits not in ("exact", "phe"):
        raise ValueError(f"limits must be exact or phe (got {limits!r})")
    levels = (confidence,) if isinstance(confidence, int | float) else tuple(confidence)
    scale = multiplier / expected
    intervals = tuple(
        Interval(level, *(v * scale for v in _count_interval(observed, level, limits)))
        for level in (normalise_confidence(c) for c in levels)
    )
    small = limits == "exact" or observed < SMALL_COUNT
    return IndicatorValue(
        f"indirectly standardised ratio x {multiplier:g}",
        observed,
        expected,
        observed * scale,
        intervals,
        "Exact" if small else "Byars",
        multiplier,
    )


def standardised_rate(
    observed: float,
    populations: Numbers,
    reference_counts: Numbers,
    reference_populations: Numbers,
    *,
    multiplier: float = 100_000,
    confidence: float | Sequence[float] = (TWO_SIGMA, THREE_SIGMA),
    limits: Limits = "exact",
) -> IndicatorValue:
    """The indirectly standardised rate: the ratio times the reference population's crude
    rate, like ``calculate_ISRate``."""
    expected = expected_count(populations, reference_counts, reference_populations)
    reference_rate = float(np.nansum(reference_counts) / np.sum(reference_populations))
    ratio = standardised_ratio(
        observed, expected, multiplier=reference_rate * multiplier, confidence=confidence,
        limits=limits,
    )  # fmt: skip
    return IndicatorValue(
        f"indirectly standardised rate per {multiplier:g}",
        observed,
        expected,
        ratio.value,
        ratio.intervals,
        ratio.method,
        multiplier,
    )


# --- the funnel ------------------------------------------------------------------------------


def exact_ratio_limits(expected: float, level: float) -> tuple[float, float]:
    """The ratios at which an organisation expecting ``expected`` events is just significant
    at ``level``: exact Poisson limits of a count equal to the expectation, over it."""
    tail = (1 - level) / 2
    lower = float(stats.chi2.ppf(tail, 2 * expected)) / 2 / expected
    upper = float(stats.chi2.ppf(1 - tail, 2 * (expected + 1))) / 2 / expected
    return lower, upper


def _transform(scale: Scale, ratio: FloatArray, expected: FloatArray) -> tuple[FloatArray, ...]:
    """Each organisation's transformed ratio, its standard error, and its z-score around 1."""
    if scale == "log":
        y = np.log(ratio)
        s = 1 / np.sqrt(expected)
        return y, s, y / s
    y = np.sqrt(ratio)
    s = 1 / (2 * np.sqrt(expected))
    return y, s, (y - 1) / s


def _trimmed(z: FloatArray, fraction: float, how: Trim) -> tuple[FloatArray, BoolArray]:
    """The z-scores φ is estimated from, and which organisations they are: all of them
    winsorised at the ``fraction`` and 1 − ``fraction`` quantiles (R's type 7), or only those
    whose ranks fall outside the outer ``fraction`` groups (the SHMI's truncation)."""
    if how == "winsorise":
        low, high = np.quantile(z, [fraction, 1 - fraction])
        return np.clip(z, low, high), np.ones(z.shape, dtype=bool)
    k = 1 / fraction
    groups = np.floor(stats.rankdata(z) * k / (z.size + 1))
    kept = (groups > 0) & (groups < k - 1)
    return z[kept], kept


def dispersion(
    z_scores: Numbers, standard_errors: Numbers, *, fraction: float = 0.1, trim: Trim = "winsorise"
) -> tuple[float, float]:
    """Spiegelhalter's φ (the mean squared trimmed z-score) and the additive τ² (0 when
    nφ < n − 1), from each organisation's z-score and standard error."""
    z = np.asarray(z_scores, dtype=float)
    values, kept = _trimmed(z, fraction, trim)
    n = values.size
    phi = float(np.mean(values**2))
    w = 1 / np.asarray(standard_errors, dtype=float)[kept] ** 2
    if n * phi < n - 1:
        return phi, 0.0
    return phi, max(0.0, (n * phi - (n - 1)) / float(w.sum() - (w**2).sum() / w.sum()))


@dataclass(frozen=True, slots=True)
class RatioLimit:
    """The funnel's limits at one expected count (ratios, times the multiplier)."""

    expected: float
    lower_2s: float
    upper_2s: float
    lower_3s: float
    upper_3s: float


@dataclass(frozen=True, slots=True)
class RatioOrganisation:
    label: str
    observed: float
    expected: float
    ratio: float
    z_score: float
    significance: str


@dataclass(frozen=True, slots=True)
class RatioFunnel:
    """A funnel of standardised ratios around 1 (× multiplier)."""

    multiplier: float
    adjustment: Adjustment | None
    scale: Scale
    phi: float
    tau2: float
    limits: tuple[RatioLimit, ...]
    organisations: tuple[RatioOrganisation, ...]

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(o) | {"phi": self.phi, "tau2": self.tau2} for o in self.organisations]

    def limit_records(self) -> list[dict[str, Any]]:
        return [asdict(limit) for limit in self.limits]


def ratio_funnel(
    observed: Numbers,
    expected: Numbers,
    labels: Sequence[str] | None = None,
    *,
    adjustment: Adjustment | None = None,
    scale: Scale = "log",
    fraction: float = 0.1,
    trim: Trim = "winsorise",
    multiplier: float = 1,
    points: int = 100,
) -> RatioFunnel:
    """A funnel of ``observed / expected`` by organisation, with 95% and 99.8% limits:
    exact Poisson ones, or adjusted for over-dispersion (``adjustment="multiplicative"`` or
    ``"additive"``) on the ``scale`` the z-scores are taken on."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if o.shape != e.shape or o.ndim != 1 or o.size < 2:
        raise ValueError("need matching observed and expected counts for at least 2 organisations")
    if np.any(o <= 0) or np.any(e <= 0) or not np.all(np.isfinite(o + e)):
        raise ValueError("observed and expected counts must be greater than zero")
    if adjustment not in (None, "multiplicative", "additive"):
        raise ValueError(f"adjustment must be multiplicative or additive (got {adjustment!r})")
    names = [f"org {i + 1}" for i in range(o.size)] if labels is None else list(labels)
    if len(names) != o.size:
        raise ValueError("need one label per organisation")
    ratio = o / e
    _, s, z = _transform(scale, ratio, e)
    phi, tau2 = dispersion(z, s, fraction=fraction, trim=trim)

    def limits_at(x: float, level: float) -> tuple[float, float]:
        if adjustment is None:
            return exact_ratio_limits(x, level)
        zq = float(stats.norm.ppf(1 - (1 - level) / 2))
        se = 1 / math.sqrt(x) if scale == "log" else 1 / (2 * math.sqrt(x))
        spread = se * math.sqrt(phi) if adjustment == "multiplicative" else math.sqrt(se**2 + tau2)
        if scale == "log":
            return math.exp(-zq * spread), math.exp(zq * spread)
        return max(0.0, 1 - zq * spread) ** 2, (1 + zq * spread) ** 2

    def row(x: float) -> RatioLimit:
        l2, u2 = limits_at(x, TWO_SIGMA)
        l3, u3 = limits_at(x, THREE_SIGMA)
        return RatioLimit(x, *(v * multiplier for v in (l2, u2, l3, u3)))

    organisations = []
    for name, oi, ei, ri, zi in zip(names, o, e, ratio, z, strict=True):
        lim = row(float(ei))
        value = float(ri) * multiplier
        if value > lim.upper_3s or value < lim.lower_3s:
            level: str | None = "0.001"
        elif value > lim.upper_2s or value < lim.lower_2s:
            level = "0.025"
        else:
            level = None
        side = "High" if value > multiplier else "Low"
        adjusted_z = float(zi) / math.sqrt(phi) if adjustment == "multiplicative" else float(zi)
        organisations.append(
            RatioOrganisation(
                name, float(oi), float(ei), value, adjusted_z,
                f"{side} ({level})" if level else "Not significant",
            )
        )  # fmt: skip
    grid = np.geomspace(max(1.0, float(e.min()) / 2), float(e.max()) * 1.1, points)
    return RatioFunnel(
        multiplier,
        adjustment,
        scale,
        phi,
        tau2,
        tuple(row(float(x)) for x in grid),
        tuple(organisations),
    )
