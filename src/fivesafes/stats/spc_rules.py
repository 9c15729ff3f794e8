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

Which way a trend point points is NHSRplotthedots' rule by default (``TrendLabel.NEXT_STEP``):
a trend point whose next point is also in a trend takes the sign of the step to that next
point, any other the sign of the step that reached it; a step that is not a rise reads as
"Decreasing". Where two trends meet across a flat or backward step this can name the wrong
direction (a rising trend's last point, followed by a level step into a second rising trend,
is "Decreasing"); ``TrendLabel.OWN_TREND`` gives each point the direction of a trend it is
part of instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
Numbers = Sequence[float] | NDArray[np.floating[Any]] | NDArray[np.integer[Any]]
"""What the charts take as data: a list of numbers or a numpy array of them."""


class TrendLabel(StrEnum):
    """How the direction of a trend point is read (see the module docstring)."""

    NEXT_STEP = "next_step"
    OWN_TREND = "own_trend"

    @classmethod
    def parse(cls, value: TrendLabel | str) -> TrendLabel:
        """The member named by ``value``, or a one-line error saying which names there are."""
        try:
            return cls(value)
        except ValueError:
            names = " or ".join(repr(m.value) for m in cls)
            raise ValueError(f"trend_label must be {names} (got {value!r})") from None


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

    Returns the membership mask and, for member points, the direction of the trend each
    belongs to (+1 rising, -1 falling; 0 for non-members). A peak inside two trends takes the
    direction of the trend after it.
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


def next_step_direction(values: ArrayLike, member: ArrayLike) -> NDArray[np.int8]:
    """NHSRplotthedots' direction of each trend point: the sign of the step to the next point
    when that point is in a trend too, else of the step that reached it (0 before the first
    point), read as +1 for a rise and -1 for anything else; 0 for non-members."""
    y = np.asarray(values, dtype=float)
    m = np.asarray(member, dtype=bool)
    steps = np.sign(np.diff(y))
    after = np.append(steps, steps[-1:]) if steps.size else np.zeros(y.shape)
    before = np.insert(steps, 0, 0.0)
    both = m & np.append(m[1:], False)
    step = np.where(both, after, before)
    return np.where(m, np.where(step == 1, 1, -1), 0).astype(np.int8)


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
    trend_label: TrendLabel = TrendLabel.NEXT_STEP

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
    trend, own_direction = trend_membership(y, settings.trend_length)
    if settings.trend_label is TrendLabel.NEXT_STEP:
        trend_dir = next_step_direction(y, trend)
    else:
        trend_dir = own_direction
    two_three = two_of_three_membership(near, sides)
    run = run_membership(sides, settings.run_length)
    return label_points(sides, beyond, trend, trend_dir, two_three, run, settings)


def label_points(
    sides: ArrayLike,
    beyond: ArrayLike,
    trend: ArrayLike,
    trend_direction: ArrayLike,
    two_of_three: ArrayLike,
    run: ArrayLike,
    settings: RuleSettings = RuleSettings(),
) -> list[PointSignal]:
    """Each point's verdict from which rules it is part of, in order of precedence; a signal's
    side is the point's side of the mean (its trend's direction for a trend)."""
    s = np.asarray(sides, dtype=float)
    masks = [np.asarray(m, dtype=bool) for m in (beyond, trend, two_of_three, run)]
    t_dir = np.asarray(trend_direction)
    rules = (Rule.BEYOND_LIMITS, Rule.TREND, Rule.TWO_OF_THREE, Rule.RUN)
    out: list[PointSignal] = []
    for i in range(len(s)):
        fired = tuple(rule for rule, mask in zip(rules, masks, strict=True) if mask[i])
        rule = fired[0] if fired else None
        direction = int(t_dir[i]) if rule is Rule.TREND else int(s[i]) if rule else 0
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
