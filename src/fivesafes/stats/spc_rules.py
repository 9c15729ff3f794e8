"""Making Data Count special-cause rules, applied to one group of points.

The rules and their order of precedence are those of NHS England's Making Data Count guidance
("Plot the dots") as implemented by the NHS-R Community's NHSRplotthedots R package, so that a
point here gets the same label it gets there:

1. a point beyond a process limit;
2. a trend: ``trend_length`` (7) points in a row each strictly higher (or lower) than the last;
3. two out of three consecutive points beyond 2σ (the "near" limits), all three on the same
   side of the mean;
4. a run (shift): ``run_length`` (7) points in a row on the same side of the mean.

A point exactly on the mean breaks a run, and two equal consecutive values break a trend.
The functions here take plain arrays for a single group (one set of limits) so that XmR and
attribute charts share them; limits may vary point by point (p, u and c charts).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


class Rule(StrEnum):
    """Which rule made a point special cause (in order of precedence)."""

    BEYOND_LIMITS = "beyond_limits"
    TREND = "trend"
    TWO_OF_THREE = "two_of_three"
    RUN = "run"


def run_membership(sides: ArrayLike, length: int) -> BoolArray:
    """Points that belong to a run of at least ``length`` equal, non-zero ``sides``.

    ``sides`` is the sign of each point relative to the centre line (-1, 0, +1); zeros (points on
    the centre line) never belong to a run and split runs.
    """
    s = np.asarray(sides, dtype=float)
    member = np.zeros(s.shape, dtype=bool)
    start = 0
    for i in range(1, len(s) + 1):
        if i == len(s) or s[i] != s[start]:
            if s[start] != 0 and i - start >= length:
                member[start:i] = True
            start = i
    return member


def trend_membership(values: ArrayLike, length: int) -> tuple[BoolArray, NDArray[np.int8]]:
    """Points that belong to ``length`` or more points each strictly above (below) the last.

    Returns the membership mask and, for member points, the trend's direction (+1 rising,
    -1 falling; 0 for non-members). A point that ends a rise and starts a fall (a peak inside
    two trends) takes the direction of the step after it, as NHSRplotthedots does.
    """
    y = np.asarray(values, dtype=float)
    steps = np.sign(np.diff(y)).astype(np.int8)
    member = np.zeros(y.shape, dtype=bool)
    # a run of (length - 1) equal non-zero steps covers `length` points
    step_runs = run_membership(steps, length - 1) if len(steps) else np.zeros(0, dtype=bool)
    for i in np.flatnonzero(step_runs):
        member[i] = member[i + 1] = True
    direction = np.zeros(y.shape, dtype=np.int8)
    for i in np.flatnonzero(member):
        if i + 1 < len(y) and member[i + 1] and step_runs[i]:
            direction[i] = steps[i]
        else:
            direction[i] = steps[i - 1]
    return member, direction


def two_of_three_membership(near: ArrayLike, sides: ArrayLike) -> BoolArray:
    """Near-limit points that sit in a window of three consecutive points where at least two are
    near a limit and all three lie on the same side of the centre line."""
    n = np.asarray(near, dtype=bool)
    s = np.asarray(sides, dtype=float)
    member = np.zeros(n.shape, dtype=bool)
    for start in range(len(n) - 2):
        window = slice(start, start + 3)
        if n[window].sum() >= 2 and abs(s[window].sum()) == 3:
            member[window] |= n[window]
    return member


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Options that change how the rules fire."""

    run_length: int = 7
    trend_length: int = 7
    # Making Data Count's rule counts points "close to" a limit; some analysts also count points
    # already beyond the limit towards the two-of-three rule.
    two_of_three_includes_beyond: bool = False

    def __post_init__(self) -> None:
        if self.run_length < 2 or self.trend_length < 3:
            raise ValueError("run_length must be >= 2 and trend_length >= 3")


@dataclass(frozen=True, slots=True)
class PointSignal:
    """The special-cause verdict for one point: the rule that fired (highest precedence),
    every rule that fired, and the direction of the signal (+1 high, -1 low, 0 none)."""

    rule: Rule | None
    rules: tuple[Rule, ...]
    direction: int
    label: str


def classify(
    values: ArrayLike,
    centre: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    near_lower: ArrayLike,
    near_upper: ArrayLike,
    settings: RuleSettings = RuleSettings(),
) -> list[PointSignal]:
    """Apply the rules to one group of points with (possibly varying) limits."""
    y = np.asarray(values, dtype=float)
    shape = y.shape
    centre_a, lo, hi, nlo, nhi = (
        np.broadcast_to(np.asarray(a, dtype=float), shape)
        for a in (centre, lower, upper, near_lower, near_upper)
    )
    sides = np.sign(y - centre_a)
    beyond = (y > hi) | (y < lo)
    near = (y > nhi) | (y < nlo)
    if not settings.two_of_three_includes_beyond:
        near &= ~beyond
    trend, trend_dir = trend_membership(y, settings.trend_length)
    two_three = two_of_three_membership(near, sides)
    run = run_membership(sides, settings.run_length)

    out: list[PointSignal] = []
    for i in range(len(y)):
        fired = tuple(
            rule
            for rule, hit in (
                (Rule.BEYOND_LIMITS, beyond[i]),
                (Rule.TREND, trend[i]),
                (Rule.TWO_OF_THREE, two_three[i]),
                (Rule.RUN, run[i]),
            )
            if hit
        )
        rule = fired[0] if fired else None
        direction = int(trend_dir[i]) if rule is Rule.TREND else int(sides[i]) if rule else 0
        out.append(PointSignal(rule, fired, direction, _label(rule, direction, settings)))
    return out


def _label(rule: Rule | None, direction: int, settings: RuleSettings) -> str:
    """The NHSRplotthedots wording of the special-cause type, e.g. ``"7 Points Above CL"``."""
    above = "Above" if direction > 0 else "Below"
    match rule:
        case Rule.BEYOND_LIMITS:
            return "Above UCL" if direction > 0 else "Below LCL"
        case Rule.TREND:
            way = "Increasing" if direction > 0 else "Decreasing"
            return f"{settings.trend_length} Point Trend ({way})"
        case Rule.TWO_OF_THREE:
            return f"2 in 3 {above} CL"
        case Rule.RUN:
            return f"{settings.run_length} Points {above} CL"
    return "Common Cause"
