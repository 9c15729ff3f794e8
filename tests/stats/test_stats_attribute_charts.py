"""p, u and c charts: limits from their textbook formulas, signals and rebasing."""

from __future__ import annotations

import math

import pytest

from fivesafes.stats import PointType, Rule, c_chart, p_chart, u_chart


def test_p_chart_limits_vary_with_the_denominator() -> None:
    num = [10, 12, 8, 40, 11]
    den = [100, 120, 80, 150, 100]
    result = p_chart(num, den)
    p_bar = sum(num) / sum(den)
    for point, n in zip(result.points, den, strict=True):
        half = 3 * math.sqrt(p_bar * (1 - p_bar) / n)
        assert point.centre == pytest.approx(p_bar)
        assert point.upper == pytest.approx(p_bar + half)
        assert point.lower == pytest.approx(max(0.0, p_bar - half))
        assert point.denominator == n
    assert result.points[3].rule is Rule.BEYOND_LIMITS
    assert result.points[3].point_type is PointType.IMPROVEMENT


def test_p_chart_limits_are_clipped_to_zero_and_one() -> None:
    result = p_chart([1, 9, 1, 9], [10, 10, 10, 10])
    assert all(p.lower >= 0.0 and p.upper <= 1.0 for p in result.points)


def test_u_chart() -> None:
    counts = [4, 6, 5, 20, 3]
    exposure = [1000, 1500, 1200, 1100, 900]
    result = u_chart(counts, exposure, improvement_direction="decrease")
    u_bar = sum(counts) / sum(exposure)
    point = result.points[1]
    assert point.upper == pytest.approx(u_bar + 3 * math.sqrt(u_bar / 1500))
    assert result.points[3].point_type is PointType.CONCERN


def test_c_chart_and_rebase() -> None:
    counts = [4, 5, 3, 6, 4, 5, 4, 3, 5, 4, 6, 5, 15, 14, 16, 15, 13, 14]
    result = c_chart(counts, rebase_at=[12])
    first, second = result.groups
    assert first.centre == pytest.approx(sum(counts[:12]) / 12)
    assert first.upper == pytest.approx(first.centre + 3 * math.sqrt(first.centre))
    assert second.centre == pytest.approx(sum(counts[12:]) / 6) and second.trial_limits
    assert not any(p.special_cause for p in result.points)
    unbased = c_chart(counts)
    assert any(p.rule is Rule.RUN for p in unbased.points)


def test_frozen_attribute_limits() -> None:
    counts = [4, 5, 3, 6, 4, 5, 4, 3, 5, 4, 6, 5, 9, 9]
    result = c_chart(counts, fix_after_n_points=12)
    assert result.groups[0].centre == pytest.approx(sum(counts[:12]) / 12)


def test_attribute_charts_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="exceed"):
        p_chart([5, 11], [10, 10])
    with pytest.raises(ValueError, match="greater than zero"):
        u_chart([1, 2], [0, 10])
    with pytest.raises(ValueError, match="zero or more"):
        c_chart([1, -2])
