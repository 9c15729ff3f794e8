"""Run charts: the data around its median, with the NHS run-chart rules.

Rules, as in NHS England's "Run charts" guidance (Making Data Count / Improvement Academy,
after Perla, Provost & Murray 2011, "The run chart", BMJ Qual Saf 20:46-51):

* shift — ``shift_length`` (6) or more consecutive points all above or all below the median;
  points on the median neither count nor break the shift;
* trend — ``trend_length`` (5) or more consecutive points all going up or all going down;
  a repeated value neither counts nor breaks the trend;
* runs — too few or too many runs (crossings of the median) for the number of useful
  observations (those not on the median), judged against the 5% limits of the number of runs
  under randomness (normal approximation to the Swed-Eisenhart distribution).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fivesafes.stats.spc_chart import as_values
from fivesafes.stats.spc_rules import FloatArray, Numbers, run_membership


@dataclass(frozen=True, slots=True)
class RunChartPoint:
    index: int
    x: Any
    value: float
    median: float
    shift: bool
    trend: bool


@dataclass(frozen=True, slots=True)
class RunChartResult:
    points: tuple[RunChartPoint, ...]
    median: float
    useful_observations: int
    runs: int
    runs_lower_limit: int | None
    runs_upper_limit: int | None
    shift_length: int
    trend_length: int

    @property
    def too_few_runs(self) -> bool:
        return self.runs_lower_limit is not None and self.runs < self.runs_lower_limit

    @property
    def too_many_runs(self) -> bool:
        return self.runs_upper_limit is not None and self.runs > self.runs_upper_limit

    @property
    def non_random(self) -> bool:
        """Any signal of a non-random pattern."""
        return (
            self.too_few_runs or self.too_many_runs or any(p.shift or p.trend for p in self.points)
        )

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.points]


def _mask_ignoring(flags_on: FloatArray, keep: np.ndarray, length: int) -> np.ndarray:
    """Run membership among the kept positions only, mapped back to all positions (the
    ignored ones are flagged when they sit inside a flagged stretch)."""
    positions = np.flatnonzero(keep)
    sub = run_membership(flags_on[positions], length)
    out = np.zeros(flags_on.shape, dtype=bool)
    for a, b, hit_a, hit_b in zip(positions, positions[1:], sub, sub[1:], strict=False):
        if hit_a and hit_b:
            out[a : b + 1] = True
    out[positions[sub]] = True
    return out


def runs_limits(useful: int) -> tuple[int | None, int | None]:
    """Fewest and most runs expected (5% two-sided) for ``useful`` observations split about
    evenly either side of the median; ``None`` below 10 observations, where the test is not
    meaningful."""
    if useful < 10:
        return None, None
    a = useful // 2
    b = useful - a
    mean = 1 + 2 * a * b / useful
    sd = math.sqrt(2 * a * b * (2 * a * b - useful) / (useful**2 * (useful - 1)))
    return math.ceil(mean - 1.96 * sd), math.floor(mean + 1.96 * sd)


def run_chart(
    values: Numbers,
    x: Sequence[Any] | None = None,
    *,
    shift_length: int = 6,
    trend_length: int = 5,
) -> RunChartResult:
    """A run chart of ``values`` in the order given (``x`` labels the points)."""
    y = as_values(values)
    xs = list(range(y.size)) if x is None else list(x)
    if len(xs) != y.size:
        raise ValueError("values and x must have the same length")
    median = float(np.median(y))
    sides = np.sign(y - median)
    off_median = sides != 0
    shift = (
        _mask_ignoring(sides, off_median, shift_length)
        if off_median.any()
        else np.zeros(y.size, dtype=bool)
    )
    # a trend of k points is k - 1 steps in one direction; repeated values are skipped
    steps = np.sign(np.diff(y))
    trend = np.zeros(y.size, dtype=bool)
    if steps.size and (steps != 0).any():
        step_member = _mask_ignoring(steps, steps != 0, trend_length - 1)
        for i in np.flatnonzero(step_member):
            trend[i] = trend[i + 1] = True
    useful_sides = sides[off_median]
    runs = int(1 + np.count_nonzero(np.diff(useful_sides))) if useful_sides.size else 0
    low, high = runs_limits(int(useful_sides.size))
    points = tuple(
        RunChartPoint(i, xs[i], float(y[i]), median, bool(shift[i]), bool(trend[i]))
        for i in range(y.size)
    )
    return RunChartResult(
        points, median, int(useful_sides.size), runs, low, high, shift_length, trend_length
    )
