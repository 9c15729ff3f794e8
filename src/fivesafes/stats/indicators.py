"""Public-health indicator methods: proportions, crude rates and directly standardised rates
with the confidence limits used by the Fingertips indicators (OHID, formerly Public Health
England), implemented from the published formulas:

* Wilson score interval for proportions — Wilson EB (1927) JASA 22:209-212.
* Exact Poisson limits from the chi-square distribution for counts under 10, and Byar's
  approximation otherwise — Breslow & Day (1987) *Statistical Methods in Cancer Research*
  vol. II, p. 69.
* Directly standardised rates with Dobson's method — Dobson et al. (1991) Stat Med 10:457-462,
  using the European Standard Population 2013 (Eurostat 2013) by default; not calculated when
  the total count is under 10.

Results agree with the test values published with the R package PHEindicatormethods
(``phe_proportion``, ``phe_rate``, ``calculate_dsr``); see ``tests/stats/test_indicators.py``.
Confidence levels may be given as 0.95 or 95 (as in PHEindicatormethods); 95% and 99.8% are
the levels Fingertips publishes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

#: European Standard Population 2013: 0-4, 5-9, ..., 85-89, 90+ (19 five-year bands).
ESP2013: tuple[int, ...] = (
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
)  # fmt: skip
ESP2013_BANDS: tuple[str, ...] = (*tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)), "90+")


def esp2013_weights(bands: Sequence[str]) -> tuple[int, ...]:
    """ESP 2013 collapsed to broader bands (``"0-64"``, ``"65+"``...) by adding the weights of
    the five-year bands inside each: the standard to use when counts are too small for the 19
    bands. Each band must start and end on a five-year edge (ending at 90+ for the last)."""
    weights = []
    for band in bands:
        text = band.strip()
        try:
            if text.endswith("+"):
                low, high = int(text[:-1]), 200
            else:
                low_text, high_text = text.split("-")
                low, high = int(low_text), int(high_text) + 1
        except ValueError:
            raise ValueError(f"age band {band!r} is not like '0-64' or '65+'") from None
        if low % 5 or (high != 200 and (high % 5 or high > 90)) or low >= high:
            raise ValueError(f"age band {band!r} does not fall on the ESP 2013 five-year bands")
        weights.append(sum(w for i, w in enumerate(ESP2013) if low <= 5 * i < high))
    return tuple(weights)


#: Below this many events, rates use exact Poisson limits and DSRs are not published.
SMALL_COUNT = 10


def normalise_confidence(confidence: float) -> float:
    """Accept 0.95 or 95; refuse levels outside 90%–100% as PHEindicatormethods does."""
    level = confidence / 100 if confidence > 1 else confidence
    if not 0.9 <= level <= 1:
        raise ValueError("confidence level must be between 90 and 100 or between 0.9 and 1")
    return level


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(1 - (1 - normalise_confidence(confidence)) / 2))


def _label(level: float) -> str:
    return f"{level * 100:g}%"


def _check_count(x: float) -> None:
    if x < 0:
        raise ValueError("observed events must all be greater than or equal to zero")


def wilson_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``x / n`` (always inside [0, 1])."""
    _check_count(x)
    if n <= 0:
        raise ValueError("sample sizes must all be greater than zero")
    if x > n:
        raise ValueError(
            "numerators must be less than or equal to denominator for a Wilson score to be "
            "calculated"
        )
    if normalise_confidence(confidence) == 1:
        return 0.0, 1.0
    z = _z(confidence)
    p = x / n
    centre = 2 * x + z**2
    spread = z * math.sqrt(z**2 + 4 * x * (1 - p))
    denominator = 2 * (n + z**2)
    # at x = 0 and x = n the bounds are exactly 0 and 1; rounding would miss them by an ulp
    lower = 0.0 if x == 0 else max(0.0, (centre - spread) / denominator)
    upper = 1.0 if x == n else min(1.0, (centre + spread) / denominator)
    return lower, upper


def byars_interval(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson limits for an observed count ``x``."""
    _check_count(x)
    z = _z(confidence)
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3 if x > 0 else 0.0
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return max(lower, 0.0), upper


def exact_poisson_interval(x: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) Poisson limits for a count ``x`` from chi-square quantiles."""
    _check_count(x)
    alpha = 1 - normalise_confidence(confidence)
    lower = float(stats.chi2.ppf(alpha / 2, 2 * x)) / 2 if x > 0 else 0.0
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * x + 2)) / 2
    return lower, upper


@dataclass(frozen=True, slots=True)
class Interval:
    """One confidence interval at one level (on the same scale as the value)."""

    confidence: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    """An indicator with its confidence intervals and the method behind them.

    ``value`` and the limits are ``None`` when the indicator is not published, with the reason
    in ``note`` (e.g. a DSR from fewer than 10 events).
    """

    statistic: str
    numerator: float
    denominator: float
    value: float | None
    intervals: tuple[Interval, ...]
    method: str
    multiplier: float
    note: str | None = None

    @property
    def lower(self) -> float | None:
        """Lower limit at the first requested confidence level."""
        return self.intervals[0].lower

    @property
    def upper(self) -> float | None:
        """Upper limit at the first requested confidence level."""
        return self.intervals[0].upper

    def interval(self, confidence: float) -> Interval:
        level = normalise_confidence(confidence)
        for item in self.intervals:
            if math.isclose(item.confidence, level):
                return item
        raise KeyError(f"no {_label(level)} interval was calculated")

    def to_record(self) -> dict[str, Any]:
        """A flat dict with PHEindicatormethods-style names (``lower95_0cl``...)."""
        record: dict[str, Any] = {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
        }
        for item in self.intervals:
            tag = f"{item.confidence * 100:.1f}".replace(".", "_")
            record[f"lower{tag}cl"] = item.lower
            record[f"upper{tag}cl"] = item.upper
        record["confidence"] = ", ".join(_label(i.confidence) for i in self.intervals)
        record.update(statistic=self.statistic, method=self.method, note=self.note)
        return record


def _levels(confidence: float | Sequence[float]) -> tuple[float, ...]:
    items = (confidence,) if isinstance(confidence, int | float) else tuple(confidence)
    if not items:
        raise ValueError("at least one confidence level is needed")
    return tuple(normalise_confidence(c) for c in items)


def proportion(
    numerator: float,
    denominator: float,
    *,
    multiplier: float = 1,
    confidence: float | Sequence[float] = 0.95,
) -> IndicatorValue:
    """A proportion (or percentage with ``multiplier=100``) with Wilson score limits,
    like ``phe_proportion``."""
    intervals = tuple(
        Interval(level, *(v * multiplier for v in wilson_interval(numerator, denominator, level)))
        for level in _levels(confidence)
    )
    statistic = "percentage" if multiplier == 100 else f"proportion of {multiplier:g}"
    return IndicatorValue(
        statistic,
        numerator,
        denominator,
        numerator / denominator * multiplier,
        intervals,
        "Wilson",
        multiplier,
    )


def rate(
    numerator: float,
    denominator: float,
    *,
    multiplier: float = 100_000,
    confidence: float | Sequence[float] = 0.95,
) -> IndicatorValue:
    """A crude rate per ``multiplier`` with exact Poisson limits under 10 events and Byar's
    method otherwise, like ``phe_rate``."""
    _check_count(numerator)
    if denominator <= 0:
        raise ValueError("denominators must be greater than zero")
    small = numerator < SMALL_COUNT
    limits = exact_poisson_interval if small else byars_interval
    scale = multiplier / denominator
    intervals = tuple(
        Interval(level, *(v * scale for v in limits(numerator, level)))
        for level in _levels(confidence)
    )
    return IndicatorValue(
        f"rate per {multiplier:g}",
        numerator,
        denominator,
        numerator * scale,
        intervals,
        "Exact" if small else "Byars",
        multiplier,
    )


def dsr(
    counts: Sequence[float],
    populations: Sequence[float],
    standard: Sequence[float] = ESP2013,
    *,
    multiplier: float = 100_000,
    confidence: float | Sequence[float] = 0.95,
) -> IndicatorValue:
    """A directly standardised rate with Dobson limits, like ``calculate_dsr``.

    ``counts``, ``populations`` and ``standard`` are aligned by age band (by default the 19
    bands of :data:`ESP2013_BANDS`). With a total count under 10 the value and limits are
    ``None`` and ``note`` says why.
    """
    x, n, w = (np.asarray(a, dtype=float) for a in (counts, populations, standard))
    if not x.shape == n.shape == w.shape:
        raise ValueError(
            f"counts, populations and standard must have one value per age band "
            f"(got {x.size}, {n.size} and {w.size})"
        )
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValueError("counts must all be zero or more")
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("populations must all be greater than zero")
    levels = _levels(confidence)
    total = float(x.sum())
    statistic = f"dsr per {multiplier:g}"
    if total < SMALL_COUNT:
        return IndicatorValue(
            statistic,
            total,
            float(n.sum()),
            None,
            tuple(Interval(level, None, None) for level in levels),
            "Dobson",
            multiplier,
            note=f"dsr NA for total count < {SMALL_COUNT}",
        )
    value = float((w * x / n).sum() / w.sum())
    variance = float((w**2 * x / n**2).sum() / w.sum() ** 2)
    step = math.sqrt(variance / total)
    intervals = []
    for level in levels:
        low_count, high_count = byars_interval(total, level)
        intervals.append(
            Interval(
                level,
                (value + step * (low_count - total)) * multiplier,
                (value + step * (high_count - total)) * multiplier,
            )
        )
    return IndicatorValue(
        statistic, total, float(n.sum()), value * multiplier, tuple(intervals), "Dobson", multiplier
    )
