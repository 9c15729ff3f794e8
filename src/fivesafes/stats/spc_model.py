"""The tidy results every SPC chart returns, and the Making Data Count vocabulary they use.

Names follow NHSRplotthedots (``point_type``, ``special_cause_type``, ``common_cause``,
``consistent_pass``...) so analysts moving from ``ptd_spc()`` recognise the columns; the results
are frozen dataclasses with ``to_records()`` giving plain dicts (no pandas).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from fivesafes.stats.spc_rules import Rule


class ImprovementDirection(StrEnum):
    """Which way is better for the measure; ``NEUTRAL`` means neither (e.g. activity counts)."""

    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"

    @property
    def sign(self) -> int:
        return {"increase": 1, "decrease": -1, "neutral": 0}[self.value]


class PointType(StrEnum):
    """How a point is coloured: common cause, or special cause read through the direction."""

    COMMON_CAUSE = "common_cause"
    IMPROVEMENT = "special_cause_improvement"
    CONCERN = "special_cause_concern"
    NEUTRAL_HIGH = "special_cause_neutral_high"
    NEUTRAL_LOW = "special_cause_neutral_low"


class VariationIcon(StrEnum):
    """The Making Data Count variation icon, chosen from the latest point."""

    COMMON_CAUSE = "common_cause"
    IMPROVEMENT_HIGH = "improvement_high"
    IMPROVEMENT_LOW = "improvement_low"
    CONCERN_HIGH = "concern_high"
    CONCERN_LOW = "concern_low"
    NEUTRAL_HIGH = "neutral_high"
    NEUTRAL_LOW = "neutral_low"


class AssuranceIcon(StrEnum):
    """Whether the process, as it stands, will meet a target: always (pass), never (fail), or
    sometimes (hit or miss, called ``inconsistent`` in NHSRplotthedots)."""

    PASS = "consistent_pass"
    FAIL = "consistent_fail"
    HIT_OR_MISS = "inconsistent"


def point_type(signal_direction: int, direction: ImprovementDirection) -> PointType:
    """Turn a special-cause signal (+1 high, -1 low, 0 none) into improvement/concern/neutral."""
    if signal_direction == 0:
        return PointType.COMMON_CAUSE
    if direction is ImprovementDirection.NEUTRAL:
        return PointType.NEUTRAL_HIGH if signal_direction > 0 else PointType.NEUTRAL_LOW
    better = signal_direction * direction.sign > 0
    return PointType.IMPROVEMENT if better else PointType.CONCERN


def variation_icon(latest: PointType, direction: ImprovementDirection) -> VariationIcon:
    """The variation icon for the latest point (high/low says which side the signal is on)."""
    higher_is_better = direction is not ImprovementDirection.DECREASE
    match latest:
        case PointType.COMMON_CAUSE:
            return VariationIcon.COMMON_CAUSE
        case PointType.NEUTRAL_HIGH:
            return VariationIcon.NEUTRAL_HIGH
        case PointType.NEUTRAL_LOW:
            return VariationIcon.NEUTRAL_LOW
        case PointType.IMPROVEMENT:
            return (
                VariationIcon.IMPROVEMENT_HIGH
                if higher_is_better
                else VariationIcon.IMPROVEMENT_LOW
            )
    return VariationIcon.CONCERN_LOW if higher_is_better else VariationIcon.CONCERN_HIGH


def assurance_icon(
    target: float | None,
    lower: float,
    upper: float,
    direction: ImprovementDirection,
    *,
    needs_limits: bool = False,
) -> AssuranceIcon | None:
    """Compare a target with the latest process limits. No icon without a target or direction.

    Without limits (NaN: a one-point group, or a constant baseline with outliers screened) the
    target is neither above nor below them, so ptd_calculate_assurance_type() says
    ``inconsistent``, as this does; ``needs_limits=True`` gives no icon instead."""
    if target is None or direction is ImprovementDirection.NEUTRAL:
        return None
    if needs_limits and (math.isnan(lower) or math.isnan(upper)):
        return None
    increasing = direction is ImprovementDirection.INCREASE
    if target > upper:
        return AssuranceIcon.FAIL if increasing else AssuranceIcon.PASS
    if target < lower:
        return AssuranceIcon.PASS if increasing else AssuranceIcon.FAIL
    return AssuranceIcon.HIT_OR_MISS


@dataclass(frozen=True, slots=True)
class SpcPoint:
    """One point of an SPC chart with its group's limits and its verdict."""

    index: int
    x: Any
    value: float
    group: int
    centre: float
    lower: float
    upper: float
    near_lower: float
    near_upper: float
    special_cause: bool
    rule: Rule | None
    rules: tuple[Rule, ...]
    special_cause_type: str
    point_type: PointType
    trial_limits: bool
    denominator: float | None = None
    trajectory: float | None = None


@dataclass(frozen=True, slots=True)
class SpcGroup:
    """One rebased stretch of the chart: its limits and how many points of each kind it holds.

    For p and u charts the limits vary with the denominator; ``lower``/``upper`` then hold the
    limits of the group's last point.
    """

    group: int
    first_x: Any
    last_x: Any
    n: int
    points_in_limits: int
    centre: float
    lower: float
    upper: float
    trial_limits: bool
    common_cause: int
    special_cause_improvement: int
    special_cause_concern: int
    special_cause_neutral: int


@dataclass(frozen=True, slots=True)
class SpcResult:
    """A whole chart: points, groups and the two icons."""

    chart: str
    points: tuple[SpcPoint, ...]
    groups: tuple[SpcGroup, ...]
    improvement_direction: ImprovementDirection
    target: float | None
    variation: VariationIcon
    assurance: AssuranceIcon | None
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What ptd_spc() would warn about (short groups), and rebase points that were ignored."""

    @property
    def latest(self) -> SpcPoint:
        return self.points[-1]

    @property
    def has_trial_limits(self) -> bool:
        return any(g.trial_limits for g in self.groups)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per point, with enum values as strings (ready for CSV or JSON)."""
        records = []
        for p in self.points:
            row = asdict(p)
            row["rule"] = p.rule.value if p.rule else None
            row["rules"] = [r.value for r in p.rules]
            row["point_type"] = p.point_type.value
            records.append(row)
        return records

    def summary(self) -> list[dict[str, Any]]:
        """One dict per group like ``summary(ptd_spc(...))``: limits, counts, the point type of
        the group's last point (``variation_type``) and, for the latest group only, the
        assurance type."""
        rows = []
        for g in self.groups:
            row = asdict(g)
            last_point = [p for p in self.points if p.group == g.group][-1]
            row["variation_type"] = last_point.point_type.value
            is_latest = g is self.groups[-1]
            row["assurance_type"] = self.assurance.value if is_latest and self.assurance else None
            rows.append(row)
        return rows
