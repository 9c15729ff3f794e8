"""What every SPC chart shares: ordering, rebasing into groups, frozen and trial limits, the
rules, point types and icons. Chart types (XmR, p, u, c) differ only in how a group's centre line
and 3σ half-width are computed, which they pass in as a :class:`LimitMethod`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from fivesafes.stats.spc_model import (
    ImprovementDirection,
    PointType,
    SpcGroup,
    SpcPoint,
    SpcResult,
    assurance_icon,
    point_type,
    variation_icon,
)
from fivesafes.stats.spc_rules import FloatArray, Numbers, RuleSettings, classify

#: Limits may be frozen on no fewer than 12 points (Making Data Count; ptd_spc() refuses fewer).
TRIAL_LIMIT_POINTS = 12
#: A group of fewer points than this has trial limits. NHSRplotthedots' code warns below 13
#: (``ptd_spc.warning_threshold``) although its messages say "n < 12"; 12 is Making Data
#: Count's own wording, and ``trial_limits_below=12`` gives it.
SHORT_GROUP_POINTS = 13


@dataclass(frozen=True, slots=True)
class GroupLimits:
    """A group's centre line and the 3σ half-width at each of its points (constant for XmR and
    c charts, varying with the denominator for p and u charts), with any natural bounds.

    ``near_half_width`` is the 2σ half-width; when ``None`` it is two thirds of the 3σ one. The
    XmR chart gives it itself so that it is rounded as NHSRplotthedots rounds it."""

    centre: float
    half_width: FloatArray
    floor: float | None = None
    ceiling: float | None = None
    near_half_width: FloatArray | None = None


class LimitMethod(Protocol):
    """Computes a group's limits from the points used to set them (``fixed_*``, the first
    ``fix_after_n_points`` of the group) for all the group's points (``denominators``)."""

    def __call__(
        self,
        fixed_values: FloatArray,
        fixed_denominators: FloatArray | None,
        denominators: FloatArray | None,
        n_points: int,
    ) -> GroupLimits: ...


@dataclass(frozen=True, slots=True)
class ChartOptions:
    """Options common to all SPC charts (see :func:`fivesafes.stats.xmr` for their meaning)."""

    improvement_direction: ImprovementDirection = ImprovementDirection.INCREASE
    target: float | None = None
    rebase_at: tuple[Any, ...] = ()
    fix_after_n_points: int | None = None
    rules: RuleSettings = field(default_factory=RuleSettings)
    strict_rebase: bool = False
    trial_limits_below: int = SHORT_GROUP_POINTS
    assurance_needs_limits: bool = False
    trajectory: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.fix_after_n_points is not None and self.fix_after_n_points < TRIAL_LIMIT_POINTS:
            raise ValueError(
                f"fix_after_n_points must be at least {TRIAL_LIMIT_POINTS} "
                f"(got {self.fix_after_n_points}); fewer points give only trial limits"
            )
        if self.trial_limits_below < 1:
            raise ValueError(
                f"trial_limits_below must be 1 or more (got {self.trial_limits_below})"
            )


def as_values(values: Numbers, name: str = "values") -> FloatArray:
    """Values as a float array, refusing empty input and missing values with a clear error."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional sequence")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{bad}] is missing or not finite; SPC needs every value")
    return arr


def build_chart(
    chart: str,
    values: FloatArray,
    x: Sequence[Any] | None,
    denominators: FloatArray | None,
    method: LimitMethod,
    options: ChartOptions,
    settings: dict[str, Any],
) -> SpcResult:
    """Order the points by x, split them into rebased groups, compute limits and verdicts."""
    n = len(values)
    xs = list(range(n)) if x is None else list(x)
    if len(xs) != n or (denominators is not None and len(denominators) != n):
        raise ValueError("values, x and denominators must have the same length")
    if options.trajectory is not None and len(options.trajectory) != n:
        raise ValueError("trajectory must have one value per point")
    order = sorted(range(n), key=lambda i: xs[i])
    xs = [xs[i] for i in order]
    if any(a == b for a, b in itertools.pairwise(xs)):
        raise ValueError("x values must be distinct: one value per period")
    y = values[order]
    d = None if denominators is None else denominators[order]
    path = None if options.trajectory is None else [options.trajectory[i] for i in order]
    starts, warnings = _group_starts(xs, options.rebase_at, strict=options.strict_rebase)

    points: list[SpcPoint] = []
    groups: list[SpcGroup] = []
    for g, (lo, hi) in enumerate(zip(starts, [*starts[1:], n], strict=True)):
        gy = y[lo:hi]
        gd = None if d is None else d[lo:hi]
        fix = hi - lo if options.fix_after_n_points is None else options.fix_after_n_points
        limits = method(gy[:fix], None if gd is None else gd[:fix], gd, hi - lo)
        centre = np.full(hi - lo, limits.centre)
        near = limits.near_half_width
        near = 2.0 / 3.0 * limits.half_width if near is None else near
        upper, near_upper = centre + limits.half_width, centre + near
        lower, near_lower = centre - limits.half_width, centre - near
        if limits.floor is not None:
            lower, near_lower = (
                np.maximum(lower, limits.floor),
                np.maximum(near_lower, limits.floor),
            )
        if limits.ceiling is not None:
            upper = np.minimum(upper, limits.ceiling)
            near_upper = np.minimum(near_upper, limits.ceiling)
        signals = classify(gy, centre, lower, upper, near_lower, near_upper, options.rules)
        in_limits = min(fix, hi - lo)
        # like ptd_spc()'s short_group_warning, judged on the group's size
        trial = hi - lo < options.trial_limits_below
        group_points = [
            SpcPoint(
                index=lo + i,
                x=xs[lo + i],
                value=float(gy[i]),
                group=g,
                centre=float(centre[i]),
                lower=float(lower[i]),
                upper=float(upper[i]),
                near_lower=float(near_lower[i]),
                near_upper=float(near_upper[i]),
                special_cause=s.rule is not None,
                rule=s.rule,
                rules=s.rules,
                special_cause_type=s.label,
                point_type=point_type(s.direction, options.improvement_direction),
                trial_limits=trial,
                denominator=None if gd is None else float(gd[i]),
                trajectory=None if path is None else float(path[lo + i]),
            )
            for i, s in enumerate(signals)
        ]
        points.extend(group_points)
        groups.append(_summarise(g, group_points, in_limits, trial))

    if any(g.trial_limits for g in groups):
        warnings.append(
            f"Some groups have fewer than {options.trial_limits_below} points. These have "
            "trial limits, which will be revised with each additional point until "
            "fix_after_n_points is reached."
        )
    latest = points[-1]
    return SpcResult(
        chart=chart,
        points=tuple(points),
        groups=tuple(groups),
        improvement_direction=options.improvement_direction,
        target=options.target,
        variation=variation_icon(latest.point_type, options.improvement_direction),
        assurance=assurance_icon(
            options.target,
            latest.lower,
            latest.upper,
            options.improvement_direction,
            needs_limits=options.assurance_needs_limits,
        ),
        settings=settings,
        warnings=tuple(warnings),
    )


def _group_starts(
    xs: list[Any], rebase_at: Sequence[Any], *, strict: bool
) -> tuple[list[int], list[str]]:
    """Index of the first point of each group, and a warning for each rebase x that is not one
    of the chart's x values: ptd_spc() ignores those without a word; ``strict`` refuses them."""
    positions = {value: i for i, value in enumerate(xs)}
    starts = {0}
    warnings = []
    for r in rebase_at:
        if r in positions:
            starts.add(positions[r])
        elif strict:
            raise ValueError(f"rebase point {r!r} is not one of the chart's x values")
        else:
            warnings.append(f"rebase point {r!r} is not one of the chart's x values; ignored")
    return sorted(starts), warnings


def _summarise(g: int, pts: list[SpcPoint], in_limits: int, trial: bool) -> SpcGroup:
    kinds = [p.point_type for p in pts]
    return SpcGroup(
        group=g,
        first_x=pts[0].x,
        last_x=pts[-1].x,
        n=len(pts),
        points_in_limits=in_limits,
        centre=pts[-1].centre,
        lower=pts[-1].lower,
        upper=pts[-1].upper,
        trial_limits=trial,
        common_cause=kinds.count(PointType.COMMON_CAUSE),
        special_cause_improvement=kinds.count(PointType.IMPROVEMENT),
        special_cause_concern=kinds.count(PointType.CONCERN),
        special_cause_neutral=kinds.count(PointType.NEUTRAL_HIGH)
        + kinds.count(PointType.NEUTRAL_LOW),
    )
