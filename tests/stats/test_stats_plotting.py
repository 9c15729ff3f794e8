"""What the charts draw: the plotted data of their matplotlib artists (line data, limit values,
point colours, which icons, captions, alt text), never pixels.

The SPC chart is checked against what ``plot(ptd_spc(...))`` draws in NHSRplotthedots 0.2.2
(tests/testthat/test-ptd_create_ggplot.R, R/ptd_create_ggplot.R, R/geom_ptd_icon.R), each test
naming what it follows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.ticker import PercentFormatter
from PIL import Image
from r_rng import RRandom

from fivesafes.stats import (
    AssuranceIcon,
    PointType,
    VariationIcon,
    alt_text,
    p_chart,
    plot_funnel,
    plot_run_chart,
    plot_spc,
    proportion_funnel,
    run_chart,
    write_icon,
    xmr,
)
from fivesafes.stats.icons import draw_icon, icon_colour
from fivesafes.stats.palette import COLOURS, MDC_COLOURS

MONTHS = [dt.date(2023 + i // 12, i % 12 + 1, 1) for i in range(24)]
VALUES = [50, 52, 49, 51, 48, 50, 53, 47, 51, 50, 49, 52, 55, 56, 57, 58, 59, 60, 61, 58, 59, 60,
          62, 61]  # fmt: skip
DAYS = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(1, 41)]


def _lines(fig: Figure, gid: str) -> list[Line2D]:
    """The lines drawn for ``gid`` (``upl``, ``value-line``...; numbered per stretch)."""
    lines = fig.axes[0].get_lines()
    return [line for line in lines if re.fullmatch(rf"{gid}(-\d+)?", line.get_gid() or "")]


def _points(fig: Figure) -> PathCollection:
    (dots,) = [c for c in fig.axes[0].collections if c.get_gid() == "points"]
    assert isinstance(dots, PathCollection)
    return dots


def _icons(fig: Figure) -> list[str]:
    return [ax.get_label() for ax in fig.axes if ax.get_label().startswith("icon:")]


def _caption(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.texts if t.get_gid() == "caption"]


def _rnorm(n: int) -> list[float]:
    return list(RRandom(123).rnorm(n))


# --- the SPC chart, as ptd_create_ggplot() draws it -----------------------------------------


def test_spc_chart_has_r_default_title_and_the_layers_of_ptd_create_ggplot() -> None:
    # test-ptd_create_ggplot.R "it returns a ggplot object": title "SPC Chart of Y, starting
    # 02/01/2020", axis labels, no caption; layers: limits, mean, process line, points, icons
    result = xmr(_rnorm(20), DAYS[:20])
    fig = plot_spc(result, y_label="Y", x_label="X")
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
        "SPC Chart of Y, starting 02/01/2020",
        "X",
        "Y",
    )
    assert _caption(fig) == []
    gids = {line.get_gid() for line in ax.get_lines()}
    assert gids == {"upl-0", "lpl-0", "mean-0", "value-line-0"}  # no target, no trajectory
    assert _icons(fig) == ["icon:common_cause"]


def test_limit_lines_carry_the_group_limits_and_the_process_line_the_values() -> None:
    x = [dt.date(2020, 1, 2) + dt.timedelta(days=i) for i in range(20)]
    result = xmr(_rnorm(20), x)
    fig = plot_spc(result)
    g = result.groups[0]
    for gid, expected in (("upl", g.upper), ("lpl", g.lower), ("mean", g.centre)):
        (line,) = _lines(fig, gid)
        assert list(line.get_xdata()) == x
        assert list(line.get_ydata()) == [expected] * 20
        assert line.get_linestyle() == ("-" if gid == "mean" else "--")
    (process,) = _lines(fig, "value-line")
    assert list(process.get_ydata()) == [p.value for p in result.points]
    assert np.asarray(_points(fig).get_offsets())[:, 1].tolist() == [p.value for p in result.points]


@pytest.mark.parametrize(
    ("break_lines", "limit_pieces", "process_pieces"),
    [("both", 2, 2), ("limits", 2, 1), ("process", 1, 2), ("none", 1, 1)],
)
def test_lines_break_at_a_rebase_like_ptd_create_ggplot(
    break_lines: str, limit_pieces: int, process_pieces: int
) -> None:
    # test-ptd_create_ggplot.R "it breaks lines": 20 days, rebase 2020-01-12 (groups of 10),
    # layers 1, 2, 5 (limits and mean) grouped by rebase_group for "both" and "limits", layer 6
    # (the process line) for "both" and "process"; ptd_spc.warning_threshold = 10 there
    x = DAYS[:20]
    result = xmr(_rnorm(20), x, rebase_at=[dt.date(2020, 1, 12)], trial_limits_below=10)
    fig = plot_spc(result, break_lines=break_lines)
    for gid in ("upl", "lpl", "mean"):
        pieces = _lines(fig, gid)
        assert len(pieces) == limit_pieces
        assert [len(p.get_xdata()) for p in pieces] == [20 // limit_pieces] * limit_pieces
    assert len(_lines(fig, "value-line")) == process_pieces
    if limit_pieces == 2:
        first, second = _lines(fig, "upl")
        assert set(first.get_ydata()) == {result.groups[0].upper}
        assert set(second.get_ydata()) == {result.groups[1].upper}
    assert _caption(fig) == []


def test_unknown_break_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="break_lines must be one of both, limits"):
        plot_spc(xmr(_rnorm(20)), break_lines="limit")


def test_special_cause_points_are_drawn_in_their_colours() -> None:
    # test-ptd_create_ggplot.R "it sets the colour of the points based on the type": the MDC
    # colours are #a6a6a6 (common cause), #00b0f0 (improvement), #e46c0a (concern), #490092
    # (neutral)
    values = [1.0, 2.0] * 8 + [10.0]
    for direction, kind, colour in (
        ("increase", PointType.IMPROVEMENT, "#00b0f0"),
        ("decrease", PointType.CONCERN, "#e46c0a"),
        ("neutral", PointType.NEUTRAL_HIGH, "#490092"),
    ):
        result = xmr(values, improvement_direction=direction)
        assert result.latest.point_type is kind
        drawn = [to_hex(c) for c in _points(plot_spc(result, colours=MDC_COLOURS)).get_facecolor()]
        assert drawn == ["#a6a6a6"] * 16 + [colour]
        # the default palette keeps the hues, darker for contrast
        default = [to_hex(c) for c in _points(plot_spc(result)).get_facecolor()]
        assert default[-1] == to_hex(icon_colour(result.variation)) and default[0] == "#8a8a8a"


def test_legend_lists_the_kinds_the_direction_allows() -> None:
    # ptd_create_ggplot(): colours_subset is common cause and neutral for a neutral direction,
    # common cause, improvement and concern otherwise
    def labels(direction: str) -> list[str]:
        legend = plot_spc(xmr(VALUES, MONTHS, improvement_direction=direction)).axes[0].legend_
        assert legend is not None
        return [t.get_text() for t in legend.get_texts()]

    assert labels("neutral")[:2] == ["Common cause", "Neither"]
    assert labels("increase")[:3] == ["Common cause", "Improvement", "Concern"]
    assert "Neither" not in labels("decrease")


def test_short_rebase_group_has_a_caption_like_ptd_create_ggplot() -> None:
    # test-ptd_create_ggplot.R "a plot with short rebase group has a warning caption": 40 days
    # from 2020-01-02; a rebase on 2020-01-20 leaves no short group, on 2020-02-02 it does
    values = _rnorm(40)
    assert _caption(plot_spc(xmr(values, DAYS, rebase_at=[dt.date(2020, 1, 20)]))) == []
    (caption,) = _caption(plot_spc(xmr(values, DAYS, rebase_at=[dt.date(2020, 2, 2)])))
    assert caption.startswith("Some trial limits rest on groups of fewer than 13 points")


def test_icons_chosen_and_none_when_switched_off() -> None:
    # test-ptd_create_ggplot.R "it doesn't add icons if icons_position is 'none'"; the icons
    # are the variation icon, then the assurance icon when there is a target (R/geom_ptd_icon.R)
    result = xmr(VALUES, MONTHS, target=55, improvement_direction="increase")
    assert (result.variation, result.assurance) == (
        VariationIcon.IMPROVEMENT_HIGH,
        AssuranceIcon.HIT_OR_MISS,
    )
    assert _icons(plot_spc(result)) == ["icon:improvement_high", "icon:inconsistent"]
    assert _icons(plot_spc(result, icons=False)) == []


def test_label_limits_puts_the_latest_limits_on_a_right_hand_axis() -> None:
    # test-ptd_create_ggplot.R "it creates a secondary y axis": its breaks are lpl, mean_col
    # and upl
    result = xmr(_rnorm(20), DAYS[:20])
    fig = plot_spc(result, label_limits=True)
    (right,) = [c for c in fig.axes[0].child_axes if c.get_gid() == "limit-labels"]
    g = result.groups[0]
    assert list(right.get_yticks()) == pytest.approx([g.lower, g.centre, g.upper])
    assert [t.get_text() for t in right.get_yticklabels()] == [
        f"{g.lower:.3g}",
        f"{g.centre:.3g}",
        f"{g.upper:.3g}",
    ]
    percent = plot_spc(
        p_chart([5, 7, 6, 9], [50, 60, 55, 52]), label_limits=True, percentage_y_axis=True
    )
    assert isinstance(percent.axes[0].yaxis.get_major_formatter(), PercentFormatter)


def test_every_date_is_a_tick_in_r_date_format() -> None:
    # test-ptd_create_ggplot.R "it sets the x_axis_breaks correctly": breaks at every x,
    # labels "%d/%m/%y" unless told otherwise
    fig = plot_spc(xmr(_rnorm(20), DAYS[:20]))
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["02/01/20", "03/01/20"] and len(labels) == 20
    iso = plot_spc(xmr(_rnorm(20), DAYS[:20]), x_axis_date_format="%Y-%m-%d")
    iso.canvas.draw()
    assert iso.axes[0].get_xticklabels()[0].get_text() == "2020-01-02"


def test_target_and_trajectory_lines() -> None:
    result = xmr(VALUES, MONTHS, target=55, trajectory=[50 + i / 2 for i in range(24)])
    fig = plot_spc(result)
    (target,) = _lines(fig, "target")
    assert set(target.get_ydata()) == {55}
    (path,) = _lines(fig, "trajectory")
    assert list(path.get_ydata()) == [50 + i / 2 for i in range(24)]


def test_a_chart_without_limits_draws_none_and_says_why() -> None:
    result = xmr([87.3] * 20, DAYS[:20])
    fig = plot_spc(result)
    assert all(math.isnan(v) for v in _lines(fig, "upl")[0].get_ydata())
    assert "no limits (its baseline does not vary)" in fig.get_label()
    one = xmr([1.0, 2.0, 3.0, 9.0], rebase_at=[3])
    assert "no limits (one point)" in alt_text(one)


def test_p_chart_limits_are_steps_at_each_denominator() -> None:
    result = p_chart([5, 7, 6, 9], [50, 60, 55, 52])
    fig = plot_spc(result)
    (upper,) = _lines(fig, "upl")
    assert upper.get_drawstyle() == "steps-mid"
    assert list(upper.get_ydata()) == [p.upper for p in result.points]
    assert len({p.upper for p in result.points}) == 4


def test_alt_text_summarises_the_chart() -> None:
    result = xmr(VALUES, MONTHS, target=55)
    text = alt_text(result, title="Patients seen", y_label="patients")
    assert text.startswith("Patients seen. XmR chart of patients with 24 points")
    assert f"mean {result.groups[0].centre:.3g}" in text
    assert "The latest point is 61" in text and "Target 55" in text
    fig = plot_spc(result, title="Patients seen", y_label="patients")
    assert fig.get_label() == text


# --- run chart and funnel ----------------------------------------------------------------------


def test_run_chart_draws_the_median_and_marks_shifts() -> None:
    result = run_chart(VALUES, MONTHS)
    fig = plot_run_chart(result)
    ax = fig.axes[0]
    (median,) = [line for line in ax.get_lines() if line.get_label() == "Median"]
    assert set(median.get_ydata()) == {result.median}
    colours = [to_hex(c) for c in ax.collections[0].get_facecolor()]
    expected = [
        to_hex(COLOURS.neutral if p.shift or p.trend else COLOURS.common_cause)
        for p in result.points
    ]
    assert colours == expected and to_hex(COLOURS.neutral) in colours
    assert fig.get_label() == alt_text(result, title="Run chart", y_label="Value")


def test_funnel_draws_its_limits_and_colours_significant_organisations() -> None:
    funnel = proportion_funnel([50, 520, 600, 400], [100, 1000, 1000, 800])
    fig = plot_funnel(funnel, higher_is_better=True)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["95% limits"].get_ydata()) == [lim.lower_2s for lim in funnel.limits]
    assert list(lines["99.8% limits"].get_ydata()) == [lim.lower_3s for lim in funnel.limits]
    assert set(lines["Average"].get_ydata()) == {funnel.baseline}
    colours = [to_hex(c) for c in ax.collections[0].get_facecolor()]
    side = {"High": COLOURS.improvement, "Low": COLOURS.concern}
    expected = [
        to_hex(side.get(o.significance.split()[0], COLOURS.common_cause))
        for o in funnel.organisations
    ]
    assert colours == expected
    assert "High" in funnel.organisations[2].significance
    assert ax.get_xscale() == "log" and "organisations" in fig.get_label()


# --- icons -------------------------------------------------------------------------------------


@pytest.mark.parametrize("icon", [*VariationIcon, *AssuranceIcon])
def test_each_icon_draws_its_ring_and_mark(icon: VariationIcon | AssuranceIcon) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    draw_icon(ax, icon)
    (ring,) = [p for p in ax.patches if isinstance(p, Circle)]
    assert to_hex(ring.get_edgecolor()) == to_hex(icon_colour(icon))
    letters = [t.get_text() for t in ax.texts]
    expected = {"common_cause": []} | {
        "consistent_pass": ["P"],
        "consistent_fail": ["F"],
        "inconsistent": ["?"],
    }
    if icon.value in expected:
        assert letters == expected[icon.value]
    else:
        assert letters == [icon.value.rsplit("_", 1)[1][0].upper()]  # H or L
    if icon is VariationIcon.COMMON_CAUSE:
        assert len(ax.collections) == 1  # the line of dots


@pytest.mark.parametrize("icon", [*VariationIcon, *AssuranceIcon])
def test_every_icon_file_names_its_meaning(
    tmp_path: Path, icon: VariationIcon | AssuranceIcon
) -> None:
    out = write_icon(icon, tmp_path / f"{icon.value}.svg")
    svg = out.read_text()
    assert svg.startswith("<?xml") and "<dc:title>" in svg
    assert write_icon(icon, tmp_path / "icon.png").exists()
    assert Image.open(tmp_path / "icon.png").text["Title"]  # type: ignore[attr-defined]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        write_icon(VariationIcon.COMMON_CAUSE, tmp_path / "icon.gif")
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plot_spc(xmr(VALUES), path=tmp_path / "chart.pdf")


def test_saved_charts_carry_their_title_and_description(tmp_path: Path) -> None:
    result = xmr(VALUES, MONTHS, target=55, improvement_direction="increase")
    plot_spc(result, title="Patients seen", y_label="Patients", path=tmp_path / "c.png")
    png = Image.open(tmp_path / "c.png").text  # type: ignore[attr-defined]
    assert png["Title"] == "Patients seen"
    assert png["Description"] == alt_text(result, title="Patients seen", y_label="Patients")
    plot_spc(result, title="Patients seen", path=tmp_path / "c.svg")
    svg = (tmp_path / "c.svg").read_text()
    assert "<dc:title>Patients seen</dc:title>" in svg
    ids = re.findall(r'<g id="([a-z-]+[0-9]*)"', svg)
    drawn = ["value-line-0", "upl-0", "lpl-0", "mean-0", "target", "points"]
    assert [i for i in ids if i in drawn] == drawn  # each once, in z-order


def test_documentation_gallery_draws_every_chart_and_icon(tmp_path: Path) -> None:
    from fivesafes.stats.gallery import write_gallery

    written = write_gallery(tmp_path)
    names = sorted(p.stem for p in written)
    icons = sorted(f"icon_{i.value}" for i in [*VariationIcon, *AssuranceIcon])
    planning = ["spine", "breakdown", "sii", "its", "cusum", "vlad", "ratio_funnel",
                "waiting_list", "occupancy", "discharge", "workforce"]  # fmt: skip
    charts = ["xmr", "p_chart", "u_chart", "c_chart", "run_chart", "funnel", *planning]
    assert names == sorted([*charts, *icons])
    descriptions = {p.stem: Image.open(p).text.get("Description", "") for p in written}  # type: ignore[attr-defined]
    assert descriptions["xmr"].startswith("Median wait for first appointment (days). XmR chart")
    assert "Group 2" in descriptions["xmr"]  # the rebase drew a second group
    assert descriptions["funnel"].startswith("Screening uptake by practice. Funnel plot")
    assert "Spine chart" in descriptions["spine"] and "signal(s)" in descriptions["cusum"]
    assert "White 74" in descriptions["breakdown"]
    assert "All groups together" in descriptions["breakdown"]
    assert "highest on Mondays in Winter" in descriptions["occupancy"]
    assert descriptions["discharge"].count("95% CI") == 2
