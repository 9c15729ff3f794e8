"""Area profiles: comparison with England, the spine chart's scale, similar areas.

The spine chart's scale is that of fingertipscharts' ``spine_rescaler``
(ukhsa-collaboration/fingertipscharts, R/utils.R): for a high-is-good indicator the scale runs
from ``England − reach`` to ``England + reach``, ``reach`` the farther of the lowest and highest
areas from England, and the centiles are R's ``quantile()``; the worked numbers below follow it
by hand. Two independent checks: the centiles against the Fingertips service's own unit
tests, and the rescaled positions against the picture fingertipscharts' own test drew (its
snapshot SVG, read off by hand, from its test data rebuilt with R's generator). No published
numbers were found for a nearest-neighbour model (CIPFA's model is sold, not published), so
the similar-areas test is worked by hand and by property.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from r_rng import RRandom

from fivesafes.stats import dsr, proportion
from fivesafes.stats.area_profile import (
    Polarity,
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


FINGERTIPSCHARTS_SVG = {
    1: (227.55, 299.22, 473.91, 684.96, 298.22, 387.03),
    2: (93.66, 325.92, 475.24, 571.08, 496.50, 342.39),
    3: (93.66, 314.80, 461.82, 522.48, 425.45, 386.02),
    4: (213.31, 306.61, 481.96, 684.96, 388.30, 327.07),
    5: (228.22, 306.48, 469.02, 684.96, 357.38, 411.89),
    6: (255.37, 321.41, 451.86, 684.96, 315.72, 416.35),
}
"""fingertipscharts' snapshot ``tests/testthat/_snaps/area-profiles/ap-without-data-table.svg``
(ukhsa-collaboration/fingertipscharts, as last changed in commit 886502b), read off by hand:
for each indicator, the x (in points) where its worst-to-25th bar starts, where the
25th-to-75th and 75th-to-best bars start, where the best bar ends, the centre of the local
area's circle (AC122) and of the comparator's diamond (PAC12). The spine runs from x = 93.66
(0) to 684.96 (1); England's line is drawn at 389.31, the middle."""
SVG_LEFT, SVG_RIGHT, SVG_ENGLAND = 93.66, 684.96, 389.31
POLARITY: dict[int, Polarity] = {
    1: "no_judgement",
    2: "low_is_good",
    3: "low_is_good",
    4: "high_is_good",
    5: "no_judgement",
    6: "high_is_good",
}
"""create_test_data()'s polarities: "Not applicable", "RAG - Low is good" twice, "RAG - High is
good", "BOB - Blue orange blue", "RAG - High is good"; only "Low is good" is mirrored."""


@pytest.mark.parametrize("indicator", sorted(FINGERTIPSCHARTS_SVG))
def test_spine_positions_match_fingertipscharts_own_snapshot(indicator: int) -> None:
    """fingertipscharts tests ``area_profiles()`` by picture: its test "area profiles without
    data table draws correctly" (``tests/testthat/test-area-profiles.R``) draws the spine chart
    of ``create_test_data()`` for local area AC122 against England (C001) with PAC12 as
    comparator, and the snapshot above is what its ``spine_rescaler`` made of it. We rebuild
    that data as R does — ``set.seed(42)`` (R 4's branch of ``create_test_data``, whose
    ``R.Version()$minor >= 6.0`` compares strings), then ``Count = sample(20:500, 600, T)`` and
    ``Denominator = sample(500:1000, 600, T)``, 100 areas per indicator in turn; each value is
    100 x count / denominator, England's and PAC12's (areas AC120 to AC129) the same of the
    summed counts — and our rescaled positions must land where fingertipscharts drew them.
    The coordinates are printed to 0.01 pt on a 591.30 pt spine, so each position is good to
    about 2e-5."""
    rng = RRandom(42)
    counts = np.array(rng.sample(range(20, 501), 600), dtype=float)
    denominators = np.array(rng.sample(range(500, 1001), 600), dtype=float)
    block = slice(100 * (indicator - 1), 100 * indicator)
    count, denominator = counts[block], denominators[block]
    values = list(100 * count / denominator)
    england = 100 * count.sum() / denominator.sum()
    pac12 = 100 * count[20:30].sum() / denominator[20:30].sum()
    pole = POLARITY[indicator]
    row = spine_row("x", values, england, values[22], pole)
    comparator = spine_row("x", values, england, pac12, pole)
    got = (row.worst_at, row.q25_at, row.q75_at, row.best_at, row.local_at, comparator.local_at)
    drawn = [(x - SVG_LEFT) / (SVG_RIGHT - SVG_LEFT) for x in FINGERTIPSCHARTS_SVG[indicator]]
    assert got == pytest.approx(drawn, abs=3e-5)
    at_england = spine_row("x", values, england, england, pole).local_at
    assert at_england == pytest.approx((SVG_ENGLAND - SVG_LEFT) / (SVG_RIGHT - SVG_LEFT), abs=3e-5)


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
