"""Area profiles: comparison with England, the spine chart's scale, similar areas.

The spine chart's scale is that of fingertipscharts' ``spine_rescaler``
(ukhsa-collaboration/fingertipscharts, R/utils.R): for a high-is-good indicator the scale runs
from ``England − reach`` to ``England + reach``, ``reach`` the farther of the lowest and highest
areas from England, and the centiles are R's ``quantile()``; the worked numbers below follow it
by hand. The centiles are also checked against the Fingertips service's own unit tests. No
published numbers were found for the rescaled positions (fingertipscharts tests its charts
only as pictures) nor for a nearest-neighbour model (CIPFA's is sold, not published), so those
tests are worked by hand and by property.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.stats import dsr, proportion
from fivesafes.stats.area_profile import (
    area_profile,
    compare_with_benchmark,
    judged,
    similar_areas,
    spine_row,
)


def test_an_interval_is_compared_with_the_benchmark() -> None:
    assert compare_with_benchmark(5.1, 6.0, 5.0) == "Higher"
    assert compare_with_benchmark(4.0, 4.9, 5.0) == "Lower"
    assert compare_with_benchmark(4.0, 5.0, 5.0) == "Similar"  # touching is not significant
    assert compare_with_benchmark(None, None, 5.0) == "Not compared"
    assert judged("Higher", "high_is_good") == "Better"
    assert judged("Higher", "low_is_good") == "Worse"
    assert judged("Lower", "no_judgement") == "Lower"


def test_spine_scale_is_centred_on_england() -> None:
    # areas 0, 2, 4, 6, 10 and England 4: reach max(4 - 0, 10 - 4) = 6, scale -2 to 10;
    # quantile(c(0, 2, 4, 6, 10), c(.25, .75)) is 2 and 6
    row = spine_row("x", [0, 2, 4, 6, 10], 4, 6, "high_is_good")
    assert (row.worst, row.q25, row.q75, row.best) == (0, 2, 6, 10)
    assert (row.worst_at, row.q25_at, row.q75_at, row.best_at) == pytest.approx(
        (2 / 12, 4 / 12, 8 / 12, 1.0)
    )
    assert row.local_at == pytest.approx(8 / 12)


@pytest.mark.parametrize(
    ("low", "high", "q25", "q75"),
    [(50, 60, 52.5, 57.5), (1, 100, 25.75, 75.25), (1, 17, 5, 13)],
)
def test_spine_centiles_match_fingertips_own_tests(
    low: int, high: int, q25: float, q75: float
) -> None:
    """The Fingertips service's own unit tests of the statistics behind its spine charts
    (ukhsa-collaboration/fingertips-open,
    ``PholioVisualisationWS/AnalysisTest/IndicatorStatsCalculatorTest.cs``:
    ``TestGetStatsFor50To60``, ``TestGetStatsFor1To100``, ``TestGetStatsFor1To17``): the areas'
    values are the whole numbers ``low`` to ``high`` and Fingertips expects these minimum, 25th
    and 75th percentiles and maximum. They are Fingertips' numbers, computed by its C#
    ``CalculatePercentile``, not by numpy; ours, through the spine row, must equal them. A
    low-is-good indicator puts the 75th percentile on the worst side, as Fingertips' spine
    chart (``IndicatorsUI/MainUI/angular-app/src/app/area-profile/spine-chart.classes.ts``)
    swaps them."""
    values = list(range(low, high + 1))
    england = (low + high) / 2
    row = spine_row("x", values, england, None, "high_is_good")
    assert (row.worst, row.q25, row.q75, row.best) == pytest.approx((low, q25, q75, high))
    mirrored = spine_row("x", values, england, None, "low_is_good")
    assert (mirrored.worst, mirrored.q25, mirrored.q75, mirrored.best) == pytest.approx(
        (high, q75, q25, low)
    )


def test_low_is_good_is_the_mirror_image() -> None:
    row = spine_row("x", [0, 2, 4, 6, 10], 4, 6, "low_is_good")
    assert (row.worst, row.q25, row.q75, row.best) == (10, 6, 2, 0)
    assert (row.worst_at, row.best_at) == pytest.approx((0.0, 10 / 12))
    assert row.local_at == pytest.approx(4 / 12)  # worse than England: left of the middle


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40),
    st.floats(-1e3, 1e3),
    st.sampled_from(["high_is_good", "low_is_good"]),
)
def test_england_is_always_in_the_middle_and_best_to_the_right(
    values: list[float], england: float, polarity: str
) -> None:
    row = spine_row("x", values, england, values[0], polarity)  # type: ignore[arg-type]
    assert spine_row("x", values, england, england, polarity).local_at == pytest.approx(  # type: ignore[arg-type]
        0.5
    )
    assert -1e-9 <= row.worst_at <= row.q25_at <= row.q75_at <= row.best_at <= 1 + 1e-9
    assert min(row.worst_at, 1 - row.best_at) == pytest.approx(0, abs=1e-9) or (
        row.worst == row.best
    )


def test_similar_areas_are_the_nearest_on_standardised_features() -> None:
    features = {
        "A": [10.0, 0.20],  # (% aged 65+, share in the most deprived quintile)
        "B": [11.0, 0.22],
        "C": [25.0, 0.05],
        "D": [10.5, 0.60],
        "E": [24.0, 0.07],
    }
    assert [a for a, _ in similar_areas(features, "A", 2)] == ["B", "D"]
    assert [a for a, _ in similar_areas(features, "C", 1)] == ["E"]
    (_, d_ab), *_ = similar_areas(features, "A", 1)
    (_, d_ba), *_ = similar_areas(features, "B", 1)
    assert d_ab == pytest.approx(d_ba)  # distance is symmetric
    # a feature in other units does not change the answer: it is standardised
    scaled = {k: [v[0] * 1000, v[1]] for k, v in features.items()}
    same, other = similar_areas(scaled, "A", 2), similar_areas(features, "A", 2)
    assert [a for a, _ in same] == [a for a, _ in other]
    assert [d for _, d in same] == pytest.approx([d for _, d in other])
    with pytest.raises(ValueError, match="no features"):
        similar_areas(features, "Z")


def test_a_profile_puts_each_area_beside_england() -> None:
    counts = {"North": [30] * 19, "South": [5] * 19, "East": [14] * 19}
    pops = [1000] * 19
    values = {
        "mortality (DSR)": {area: dsr(c, pops) for area, c in counts.items()},
        "screening (%)": {
            "North": proportion(700, 1000, multiplier=100),
            "South": proportion(820, 1000, multiplier=100),
            "East": proportion(760, 1000, multiplier=100),
        },
    }
    england = {
        "mortality (DSR)": dsr([49] * 19, [3000] * 19),
        "screening (%)": proportion(2280, 3000, multiplier=100),
    }
    profile = area_profile(
        values,
        england,
        "North",
        polarity={"mortality (DSR)": "low_is_good", "screening (%)": "high_is_good"},
        features={"North": [1, 2], "South": [5, 1], "East": [1.2, 2.1]},
    )
    by = {(r.area, r.indicator): r for r in profile.rows}
    assert by["North", "mortality (DSR)"].verdict == "Worse"
    assert by["South", "mortality (DSR)"].verdict == "Better"
    assert by["North", "screening (%)"].verdict == "Worse"
    assert by["South", "screening (%)"].comparison == "Higher"
    assert [r.indicator for r in profile.spine] == ["mortality (DSR)", "screening (%)"]
    assert profile.spine[1].local == pytest.approx(70.0)
    assert profile.similar[0][0] == "East"
    assert len(profile.to_records()) == 6 and profile.spine_records()[0]["england"] > 0
