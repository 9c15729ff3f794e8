"""Property-based checks of the invariants the methods promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats import wilson_interval, xmr
from fivesafes.stats.spc_rules import run_membership, trend_membership

# eighths between -1e4 and 1e4 are exact in binary, so a shift changes no moving range
# (with arbitrary floats a shift can round two values together, turning a series constant)
eighths = st.integers(-80_000, 80_000).map(lambda k: k / 8)
series = st.lists(eighths, min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(series, eighths, st.booleans())
def test_xmr_limits_shift_with_the_series(values: list[float], shift: float, screen: bool) -> None:
    base = xmr(values, screen_outliers=screen)
    moved = xmr([v + shift for v in values], screen_outliers=screen)
    for a, b in zip(base.groups, moved.groups, strict=True):
        assert b.centre == pytest.approx(a.centre + shift, abs=1e-6)
        # no limits (a constant series, screened) stays no limits
        assert b.lower == pytest.approx(a.lower + shift, abs=1e-6, nan_ok=True)
        assert b.upper == pytest.approx(a.upper + shift, abs=1e-6, nan_ok=True)
    assert [p.special_cause_type for p in base.points] == [
        p.special_cause_type for p in moved.points
    ]


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(1, 200))
def test_xmr_of_a_constant_series_never_signals(value: float, n: int) -> None:
    """Every point equal: each sits on its mean (exactly, as R computes it), so nothing fires,
    whatever the value or length, screened or not."""
    constant = [value] * n
    for screen in (True, False):
        result = xmr(constant, screen_outliers=screen)
        assert {p.centre for p in result.points} == {value}
        assert not any(p.special_cause for p in result.points)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([-1, 0, 1]), max_size=30), st.integers(2, 9))
def test_a_run_never_fires_on_fewer_points_than_its_length(sides: list[int], length: int) -> None:
    member = run_membership(sides, length)
    s = np.asarray(sides)
    i = 0
    while i < len(sides):
        j = i
        while j < len(sides) and member[j] == member[i] and (not member[i] or s[j] == s[i]):
            j += 1
        if member[i]:
            assert j - i >= length and s[i] != 0
        i = j


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=30), st.integers(3, 9))
def test_a_trend_never_fires_on_fewer_points_than_its_length(
    values: list[int], length: int
) -> None:
    member, direction = trend_membership(values, length)
    assert member.sum() == 0 or member.sum() >= length
    # every member point has a neighbour step in its trend's direction
    for i in np.flatnonzero(member):
        assert direction[i] in (-1, 1)
    if len(values) < length:
        assert not member.any()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 10**7),
    st.integers(1, 10**7),
    st.sampled_from([0.9, 0.95, 0.998, 95, 99.8]),
)
def test_wilson_limits_stay_inside_zero_and_one(x: int, n: int, confidence: float) -> None:
    x = min(x, n)
    lower, upper = wilson_interval(x, n, confidence)
    assert 0.0 <= lower <= x / n <= upper <= 1.0
