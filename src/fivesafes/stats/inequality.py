"""The slope index of inequality (SII) and relative index of inequality (RII), as Fingertips
and PHEindicatormethods' ``phe_sii()`` compute them.

The quantiles of deprivation (5 to 100 of them, IMD deciles usually) are placed at the midpoint
of their share of the cumulative population, 0 to 1 from most to least deprived, and the
indicator is regressed on that position with each quantile weighted by its population (the
regression of √aᵢ·yᵢ on √aᵢ and √aᵢ·bᵢ without a constant, aᵢ its share of the population and
bᵢ its midpoint). The SII is the slope: the gap between the least and most deprived ends of the
line; the RII is the line's value at 1 over its value at 0.

Confidence limits are by simulation, as PHEindicatormethods does it: each quantile's value is
drawn ``repetitions`` times from a normal distribution with its standard error (on the log
scale for rates and the logit scale for proportions, then transformed back), the regression is
refitted to each draw, and the limits are the draws at the 2.5th and 97.5th centiles (for
95%). The draws come from a seeded generator, so a result is reproducible; with the default
100,000 repetitions they agree with R's to well within the 5% its own tests allow.

Source: Low A & Low A (2004) "Measuring the gap: quantifying and comparing local health
inequalities", J Public Health 26:388-395; PHE (2018) *Technical Guide: Calculating the slope
index of inequality*; PHEindicatormethods ``R/SII_function.R`` and ``R/utils.R``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from fivesafes.stats.indicators import normalise_confidence
from fivesafes.stats.spc_rules import FloatArray, Numbers

ValueType = Literal["normal", "rate", "proportion"]
MIN_QUANTILES, MAX_QUANTILES = 5, 100
MIN_REPETITIONS = 1000
_Z95 = float(stats.norm.ppf(0.975))
"""Standard errors are read from 95% limits whatever level is asked for, as phe_sii() does."""


@dataclass(frozen=True, slots=True)
class InequalityInterval:
    """The SII's (and RII's) limits at one confidence level."""

    confidence: float
    sii_lower: float
    sii_upper: float
    rii_lower: float | None
    rii_upper: float | None


@dataclass(frozen=True, slots=True)
class InequalityIndex:
    """The slope and relative indices of inequality with their simulated limits."""

    sii: float
    rii: float
    intercept: float
    intervals: tuple[InequalityInterval, ...]
    value_type: ValueType
    transform: bool
    multiplier: float
    repetitions: int
    quantiles: int

    @property
    def sii_lower(self) -> float:
        return self.intervals[0].sii_lower

    @property
    def sii_upper(self) -> float:
        return self.intervals[0].sii_upper

    def to_record(self) -> dict[str, Any]:
        """A flat dict with phe_sii()'s column names (``sii_lower95_0cl``...)."""
        record: dict[str, Any] = {"sii": self.sii, "rii": self.rii}
        for item in self.intervals:
            tag = f"{item.confidence * 100:.1f}".replace(".", "_")
            record[f"sii_lower{tag}cl"] = item.sii_lower
            record[f"sii_upper{tag}cl"] = item.sii_upper
            record[f"rii_lower{tag}cl"] = item.rii_lower
            record[f"rii_upper{tag}cl"] = item.rii_upper
        record.update(
            intercept=self.intercept,
            indicator_type=self.value_type,
            multiplier=self.multiplier,
            transform={"rate": "log", "proportion": "logit"}[self.value_type]
            if self.transform
            else "none",
            CI_method=f"simulation {self.repetitions} reps",
        )
        return record


def _forward(value_type: ValueType, v: FloatArray) -> FloatArray:
    if value_type == "rate":
        return np.log(v)
    if value_type == "proportion":
        return np.log(v / (1 - v))
    return v


def _back(value_type: ValueType, v: FloatArray) -> FloatArray:
    if value_type == "rate":
        return np.exp(v)
    if value_type == "proportion":
        odds: FloatArray = np.exp(v)
        return odds / (1 + odds)
    return v


def cumulative_midpoints(populations: Numbers) -> FloatArray:
    """Each quantile's position: the midpoint of its share of the cumulative population."""
    share = np.asarray(populations, dtype=float) / float(np.sum(populations))
    before: FloatArray = np.concatenate([[0.0], np.cumsum(share)[:-1]])
    return share / 2 + before


def _inputs(
    values: Numbers | None,
    populations: Numbers,
    counts: Numbers | None,
    standard_errors: Numbers | None,
    lower_cl: Numbers | None,
    upper_cl: Numbers | None,
    value_type: ValueType,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Populations, values and standard errors (on the transformed scale), checked."""
    pop = np.asarray(populations, dtype=float)
    k = pop.size
    if not MIN_QUANTILES <= k <= MAX_QUANTILES:
        raise ValueError(f"need between {MIN_QUANTILES} and {MAX_QUANTILES} quantiles (got {k})")
    if np.any(~np.isfinite(pop)) or np.any(pop <= 0):
        raise ValueError("every quantile needs a population greater than zero")
    if values is None:
        if counts is None or value_type != "proportion":
            raise ValueError("give values, or counts for a proportion")
        if np.any(np.asarray(counts, dtype=float) <= 0):
            raise ValueError("every quantile needs a count greater than zero")
        values = np.asarray(counts, dtype=float) / pop
    v = np.asarray(values, dtype=float)
    if v.shape != pop.shape or not np.all(np.isfinite(v)):
        raise ValueError("need one finite value per quantile")
    if value_type == "proportion" and np.any((v < 0) | (v > 1)):
        raise ValueError("proportions must all be between 0 and 1")
    if standard_errors is not None:
        se = np.asarray(standard_errors, dtype=float)
        if se.shape != pop.shape or np.any(~np.isfinite(se)) or np.any(se < 0):
            raise ValueError("need one standard error of zero or more per quantile")
    elif lower_cl is not None and upper_cl is not None:
        lo, hi = (np.asarray(a, dtype=float) for a in (lower_cl, upper_cl))
        if lo.shape != pop.shape or hi.shape != pop.shape or not np.all(np.isfinite(lo + hi)):
            raise ValueError("need one lower and one upper confidence limit per quantile")
        if value_type == "proportion" and np.any((lo < 0) | (lo > 1) | (hi < 0) | (hi > 1)):
            raise ValueError("confidence limits of proportions must be between 0 and 1")
        se = (_forward(value_type, hi) - _forward(value_type, lo)) / _Z95 / 2
    else:
        raise ValueError("give standard errors, or lower and upper confidence limits")
    return pop, v, se


def _fit(sqrt_a: FloatArray, b_sqrt_a: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares (intercept, slope) of each column of ``y`` weighted by √a, no constant."""
    m = np.vstack([sqrt_a, b_sqrt_a])
    coefficients: FloatArray = np.linalg.solve(m @ m.T, m) @ (y * sqrt_a[:, None])
    return coefficients


def sii(
    values: Numbers | None,
    populations: Numbers,
    *,
    counts: Numbers | None = None,
    standard_errors: Numbers | None = None,
    lower_cl: Numbers | None = None,
    upper_cl: Numbers | None = None,
    value_type: ValueType = "normal",
    transform: bool = False,
    multiplier: float = 1,
    repetitions: int = 100_000,
    confidence: float | tuple[float, ...] = 0.95,
    seed: int = 0,
) -> InequalityIndex:
    """The SII and RII of ``values`` across quantiles ordered from most to least deprived,
    like ``phe_sii()``.

    Give each quantile's ``standard_errors``, or its 95% ``lower_cl`` and ``upper_cl``; for a
    proportion, ``counts`` may stand in for ``values``. ``value_type`` is ``"normal"`` (e.g.
    life expectancy), ``"rate"`` or ``"proportion"``; the latter two are simulated on the log
    or logit scale. ``transform=True`` fits the line on that scale too and transforms the SII
    back (the gap between the fitted ends). A negative ``multiplier`` reverses the polarity
    (and inverts the RII) for indicators where lower is worse.
    """
    if value_type not in ("normal", "rate", "proportion"):
        raise ValueError(f"value_type must be normal, rate or proportion (got {value_type!r})")
    if transform and value_type == "normal":
        raise ValueError("transform applies to rates and proportions only")
    if transform and standard_errors is not None:
        raise ValueError("with transform, give confidence limits rather than standard errors")
    if repetitions < MIN_REPETITIONS:
        raise ValueError(f"repetitions must be {MIN_REPETITIONS} or more (got {repetitions})")
    levels = tuple(
        normalise_confidence(c)
        for c in (confidence if isinstance(confidence, tuple) else (confidence,))
    )
    pop, v, se = _inputs(
        values, populations, counts, standard_errors, lower_cl, upper_cl, value_type
    )
    sqrt_a = np.sqrt(pop / pop.sum())
    b_sqrt_a = cumulative_midpoints(pop) * sqrt_a
    fitted_on = _forward(value_type, v) if transform else v
    intercept, slope = (float(c) for c in _fit(sqrt_a, b_sqrt_a, fitted_on[:, None])[:, 0])

    draws = np.random.default_rng(seed).normal(
        _forward(value_type, v)[:, None], se[:, None], size=(v.size, repetitions)
    )
    sim = _fit(sqrt_a, b_sqrt_a, draws if transform else _back(value_type, draws))
    sim_slopes = np.sort(sim[1] if transform else sim[1] * multiplier)
    sim_rii = np.sort((sim[1] + sim[0]) / sim[0])
    if multiplier < 0 and not transform:
        sim_rii = np.sort(1 / sim_rii)

    def at(sorted_draws: FloatArray, level: float) -> tuple[float, float]:
        tail = level + (1 - level) / 2
        lo, hi = round(repetitions * (1 - tail)), round(repetitions * tail)
        return float(sorted_draws[lo - 1]), float(sorted_draws[hi - 1])

    if not transform:
        intervals = tuple(
            InequalityInterval(level, *at(sim_slopes, level), *at(sim_rii, level))
            for level in levels
        )
        rii = (intercept + slope) / intercept
        return InequalityIndex(
            slope * multiplier,
            1 / rii if multiplier < 0 else rii,
            intercept,
            intervals,
            value_type,
            transform,
            multiplier,
            repetitions,
            v.size,
        )
    return _back_transformed(
        intercept, slope, sim_slopes, levels, at, value_type, multiplier, repetitions, v.size
    )


def _back_transformed(
    intercept: float,
    slope: float,
    sim_slopes: FloatArray,
    levels: tuple[float, ...],
    at: Any,
    value_type: ValueType,
    multiplier: float,
    repetitions: int,
    quantiles: int,
) -> InequalityIndex:
    """SII, RII and limits of a line fitted on the log or logit scale, on the natural scale:
    each limit of the slope is centred on the fitted line's midpoint, as phe_sii() does."""

    def back(x: float) -> float:
        return float(_back(value_type, np.asarray(x)))

    x0, x1 = intercept, intercept + slope
    half = (x0 + x1) / 2
    sii_value = (back(x1) - back(x0)) * multiplier
    ratio = back(x1) / back(x0)
    # phe_sii() swaps the limits below a multiplier of 1 for rates, of 0 for proportions
    swap = multiplier < 1 if value_type == "rate" else multiplier < 0
    intervals = []
    for level in levels:
        low_slope, high_slope = at(sim_slopes, level)
        ends = [(back(half - s / 2), back(half + s / 2)) for s in (low_slope, high_slope)]
        gaps = [(e1 - e0) * multiplier for e0, e1 in ends]
        ratios = [e1 / e0 for e0, e1 in ends]
        if swap:
            gaps.reverse()
            ratios = [1 / r for r in reversed(ratios)]
        intervals.append(InequalityInterval(level, gaps[0], gaps[1], ratios[0], ratios[1]))
    return InequalityIndex(
        sii_value,
        1 / ratio if multiplier < 0 else ratio,
        back(x0) * abs(multiplier),
        tuple(intervals),
        value_type,
        True,
        multiplier,
        repetitions,
        quantiles,
    )
