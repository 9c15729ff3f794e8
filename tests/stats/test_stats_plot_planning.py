"""The planning, evaluation and safety charts draw their results: read from the artists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from fivesafes.stats import (
    dsr,
    interrupted_time_series,
    poisson_cusum_weights,
    project_workforce,
    proportion,
    ratio_funnel,
    sii,
    simulate_waiting_list,
    vlad,
)
from fivesafes.stats.area_profile import area_profile
from fivesafes.stats.breakdown import breakdown
from fivesafes.stats.cusum import cusum_path
from fivesafes.stats.palette import COLOURS
from fivesafes.stats.plot_planning import (
    plot_breakdown,
    plot_cusum,
    plot_inequality,
    plot_its,
    plot_occupancy,
    plot_projection,
    plot_ratio_funnel,
    plot_spine,
    plot_vlad,
    plot_waiting_list,
)

MONTHS = [dt.date(2022 + i // 12, i % 12 + 1, 1) for i in range(24)]


def _by_gid(fig: Figure, gid: str) -> list[object]:
    ax = fig.axes[0]
    return [a for a in [*ax.get_lines(), *ax.collections, *ax.patches, *ax.images]
            if a.get_gid() == gid]  # fmt: skip


def test_spine_draws_ranges_england_and_the_area_in_its_verdict_colour() -> None:
    values = {
        "screening (%)": {
            a: proportion(n, 1000, multiplier=100)
            for a, n in {"North": 700, "South": 820, "East": 760}.items()
        }
    }
    england = {"screening (%)": proportion(2280, 3000, multiplier=100)}
    profile = area_profile(values, england, "North", polarity={"screening (%)": "high_is_good"})
    fig = plot_spine(profile)
    (rng,) = _by_gid(fig, "range-0")
    row = profile.spine[0]
    assert rng.get_x() == pytest.approx(row.worst_at)  # type: ignore[attr-defined]
    assert rng.get_width() == pytest.approx(row.best_at - row.worst_at)  # type: ignore[attr-defined]
    (england_line,) = _by_gid(fig, "england")
    assert list(england_line.get_xdata()) == [0.5, 0.5]  # type: ignore[attr-defined]
    (dot,) = _by_gid(fig, "area-0")
    assert dot.get_offsets()[0][0] == pytest.approx(row.local_at)  # type: ignore[attr-defined]
    assert to_hex(dot.get_facecolor()[0]) == to_hex(COLOURS.concern)  # type: ignore[attr-defined]
    assert "North 70 against England 76 (Worse)" in fig.get_label()


def test_a_spine_with_nothing_published_says_so() -> None:
    values = {"screening (%)": {"North": proportion(5, 1000, multiplier=100)}}
    profile = area_profile(values, {}, "North")  # no England value: nothing to place
    assert profile.spine == ()
    label = plot_spine(profile).get_label()
    assert "Spine chart. No indicator has a published value beside England's." in label


def test_breakdown_chart_draws_each_group_its_interval_and_the_total() -> None:
    rows = [
        {"ethnic_group": "Asian or Asian British", "population": 400, "flu": 100},
        {"ethnic_group": "Mixed or multiple", "population": 40, "flu": None},
        {"ethnic_group": "White", "population": 2000, "flu": 800},
    ]
    result = breakdown(rows, "ethnic_group", "flu")
    fig = plot_breakdown(result, title="Flu vaccination by ethnic group")
    (dot,) = _by_gid(fig, "group-0")
    assert dot.get_offsets()[0][0] == pytest.approx(25.0)  # type: ignore[attr-defined]
    (interval,) = _by_gid(fig, "interval-2")
    low, high = interval.get_xdata()  # type: ignore[attr-defined]
    assert (low, high) == (pytest.approx(result.groups[2].value.lower),
                           pytest.approx(result.groups[2].value.upper))  # fmt: skip
    (unpublished,) = [t for t in fig.axes[0].texts if t.get_gid() == "unpublished-1"]
    assert _by_gid(fig, "group-1") == [] and unpublished.get_text() == "not published"
    assert _by_gid(fig, "total") == []  # a group suppressed: no total to draw
    label = fig.get_label()
    assert (
        "Asian or Asian British 25 (95% CI" in label and "Mixed or multiple not published" in label
    )
    whole = breakdown([r for r in rows if r["flu"] is not None], "ethnic_group", "flu")
    fig = plot_breakdown(whole, title="Flu vaccination by ethnic group")
    (total,) = _by_gid(fig, "total")
    assert list(total.get_xdata()) == [pytest.approx(900 / 2400 * 100)] * 2  # type: ignore[attr-defined]
    assert "All groups together: 37.5." in fig.get_label()


def test_inequality_chart_draws_the_sii_line() -> None:
    pops = [1000] * 10
    values = [30 - 2 * i for i in range(10)]
    index = sii(values, pops, standard_errors=[1.0] * 10, repetitions=1000)
    fig = plot_inequality(values, pops, index, title="Admissions", y_label="%")
    (line,) = _by_gid(fig, "sii-line")
    start, end = line.get_ydata()  # type: ignore[attr-defined]
    assert end - start == pytest.approx(index.sii)
    assert index.sii == pytest.approx(-20, rel=1e-9)  # 2 a decile over ten deciles
    assert "SII -20" in fig.get_label()


def test_its_chart_draws_the_fit_and_the_counterfactual() -> None:
    rng = np.random.default_rng(0)
    y = [50 + 0.2 * i - (6 if i >= 12 else 0) + rng.normal(0, 1) for i in range(24)]
    result = interrupted_time_series(y, MONTHS, change_at=MONTHS[12])
    fig = plot_its(result, title="Admissions", y_label="per 1,000")
    (counter,) = _by_gid(fig, "counterfactual")
    assert list(counter.get_ydata()) == [p.counterfactual for p in result.points[12:]]  # type: ignore[attr-defined]
    (after,) = _by_gid(fig, "fit-after")
    assert list(after.get_ydata()) == [p.fitted for p in result.points[12:]]  # type: ignore[attr-defined]
    assert "level change of" in fig.get_label() and "Newey-West" in fig.get_label()


def test_cusum_and_vlad_charts() -> None:
    expected = [20.0] * 24
    observed = [20.0] * 12 + [40.0] * 12
    up = cusum_path(poisson_cusum_weights(observed, expected, 2), 3.0, x=MONTHS)
    down = cusum_path(poisson_cusum_weights(observed, expected, 0.5), 3.0, x=MONTHS)
    fig = plot_cusum(up, down, title="Deaths")
    (path,) = _by_gid(fig, "cusum-up")
    assert list(path.get_ydata()) == [p.value for p in up.points]  # type: ignore[attr-defined]
    (below,) = _by_gid(fig, "cusum-down")
    assert list(below.get_ydata()) == [-p.value for p in down.points]  # type: ignore[attr-defined]
    (marks,) = _by_gid(fig, "signals-up")
    assert len(marks.get_offsets()) == len(up.signals) > 0  # type: ignore[attr-defined]
    assert f"{len(up.signals)} signal(s) of deterioration" in fig.get_label()
    chart = vlad(expected, observed, MONTHS)
    line = _by_gid(plot_vlad(chart, title="Deaths"), "vlad")[0]
    assert line.get_ydata()[-1] == pytest.approx(-240)  # type: ignore[attr-defined]


def test_ratio_funnel_colours_high_organisations_as_concern() -> None:
    funnel = ratio_funnel([100, 150, 180, 80, 120, 225], [108, 112, 165, 95, 100, 220],
                          list("abcdef"), adjustment="additive")  # fmt: skip
    fig = plot_ratio_funnel(funnel, title="SHMI")
    (dots,) = _by_gid(fig, "organisations")
    colours = [to_hex(c) for c in dots.get_facecolor()]  # type: ignore[attr-defined]
    for o, c in zip(funnel.organisations, colours, strict=True):
        assert c == to_hex(COLOURS.concern if o.significance.startswith("High")
                           else COLOURS.improvement if o.significance.startswith("Low")
                           else COLOURS.common_cause)  # fmt: skip
    assert "tau squared" in fig.get_label()


def test_waiting_list_chart_draws_median_and_band() -> None:
    sim = simulate_waiting_list(50, 48, 20, initial_waits_weeks=[4.0] * 300, runs=8)
    fig = plot_waiting_list(sim, title="List")
    top = fig.axes[0]
    (median,) = [line for line in top.get_lines() if line.get_gid() == "size"]
    assert list(median.get_ydata()) == [w.size_median for w in sim.weeks]
    assert any(c.get_gid() == "size-band" for c in top.collections)
    assert "8 runs" in fig.get_label()


def test_occupancy_heatmap_and_projection() -> None:
    cells = [("Winter", "Monday", 9.5), ("Summer", "Sunday", 4.0)]
    fig = plot_occupancy(cells, title="Beds", unit="beds occupied")
    (grid,) = _by_gid(fig, "grid")
    data = grid.get_array()  # type: ignore[attr-defined]
    assert data[0, 0] == 9.5 and data[2, 6] == 4.0
    assert "highest on Mondays in Winter (9.5)" in fig.get_label()
    projection = project_workforce(100, 12, demand_growth=0.1, leaver_rate=0.1,
                                   joiners_per_month=0.5)  # fmt: skip
    figure = plot_projection(projection, "Apr 2025", title="Nurses")
    (needed,) = _by_gid(figure, "needed")
    assert list(needed.get_ydata()) == [m.needed_fte for m in projection.months]  # type: ignore[attr-defined]
    assert "a gap of" in figure.get_label()


def test_dsr_profiles_draw() -> None:
    """A DSR profile (the board pack's case) draws with a dot for each published indicator."""
    values = {"deaths": {a: dsr([c] * 19, [1000] * 19) for a, c in (("A", 30), ("B", 10))}}
    profile = area_profile(values, {"deaths": dsr([40] * 19, [2000] * 19)}, "A",
                           polarity={"deaths": "low_is_good"})  # fmt: skip
    assert _by_gid(plot_spine(profile), "area-0")


def test_proportions_and_counts_charts() -> None:
    from fivesafes.stats.plot_planning import plot_counts, plot_proportions

    rows = [("All", 15.0, 12.0, 18.6), ("More deprived", 12.0, 8.5, 16.6)]
    fig = plot_proportions(rows, title="Care within 28 days")
    bars = [p for p in fig.axes[0].patches if p.get_gid() == "bars"]
    assert [b.get_width() for b in bars] == [15.0, 12.0]  # type: ignore[attr-defined]
    assert "More deprived 12.0% (95% CI 8.5 to 16.6)" in fig.get_label()
    counts = plot_counts([("0-7", 12), ("no service", 234)], title="Days", y_label="people")
    bars = [p for p in counts.axes[0].patches if p.get_gid() == "bars"]
    assert [b.get_height() for b in bars] == [12, 234]  # type: ignore[attr-defined]


def _spine_of(n: int) -> Figure:
    values = {
        f"indicator {k}": {a: proportion(x + k, 1000, multiplier=100)
                           for a, x in {"North": 700, "South": 820, "East": 760}.items()}
        for k in range(n)
    }  # fmt: skip
    england = {i: proportion(2280, 3000, multiplier=100) for i in values}
    return plot_spine(area_profile(values, england, "North"), title="North against England")


def _proportions_of(n: int) -> Figure:
    from fivesafes.stats.plot_planning import plot_proportions

    rows = [(f"Group {k}", 10.0 + k, 8.0 + k, 12.0 + k) for k in range(n)]
    return plot_proportions(rows, title="Readmitted within 30 days")


@pytest.mark.parametrize("draw", [_spine_of, _proportions_of])
@pytest.mark.parametrize("rows", [1, 2, 5])
def test_a_chart_of_rows_keeps_its_title_and_labels_inside_the_picture(
    draw: Any, rows: int
) -> None:
    """With one row (readmissions in all on the discharge page, one indicator on a spine)
    the title and the axis label were cut off; at any number of rows all text lies inside."""
    fig = draw(rows)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays the axis labels out where the picture has them
    renderer = canvas.get_renderer()
    box = fig.bbox
    ax = fig.axes[0]
    for text in (ax.title, ax.xaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()):
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, text.get_text()
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, text.get_text()
