"""Drawing SPC, run and funnel charts (matplotlib, Agg backend) and describing them in words.

Charts follow Making Data Count conventions: grey common-cause points, blue improvement,
orange concern, purple neutral; a solid mean line, dashed process limits broken at each rebase,
a red dashed target, and the variation and assurance icons top right. Every figure carries a
title, axis labels and a text description (:func:`alt_text`) that is also written into the
saved file's metadata, so the chart can be read without seeing it (WCAG 2.2 1.1.1).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from fivesafes.stats.funnel import FunnelResult
from fivesafes.stats.icons import draw_icon, icon_description
from fivesafes.stats.palette import COLOURS, SpcColours
from fivesafes.stats.run_chart import RunChartResult
from fivesafes.stats.spc_model import ImprovementDirection, PointType, SpcPoint, SpcResult

_CHART_NAMES = {"xmr": "XmR", "p": "p", "u": "u", "c": "c"}

Result = SpcResult | RunChartResult | FunnelResult


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def alt_text(result: Result, *, title: str = "", y_label: str = "value") -> str:
    """A plain-English summary of a chart for screen readers and captions."""
    lead = f"{title}. " if title else ""
    if isinstance(result, SpcResult):
        return lead + _spc_text(result, y_label)
    if isinstance(result, RunChartResult):
        return lead + _run_text(result, y_label)
    return lead + _funnel_text(result)


def _spc_text(result: SpcResult, y_label: str) -> str:
    pts = result.points
    name = _CHART_NAMES[result.chart]
    parts = [f"{name} chart of {y_label} with {len(pts)} points from {pts[0].x} to {pts[-1].x}."]
    for g in result.groups:
        where = (
            f"Group {g.group + 1} ({g.first_x} to {g.last_x})"
            if len(result.groups) > 1
            else ("The process")
        )
        kind = "trial limits" if g.trial_limits else "limits"
        why = "one point" if g.points_in_limits < 2 else "its baseline does not vary"
        limits = (
            f"no limits ({why})"
            if math.isnan(g.lower)
            else f"{kind} {_fmt(g.lower)} to {_fmt(g.upper)}"
        )
        parts.append(
            f"{where} has mean {_fmt(g.centre)}, {limits}, "
            f"{g.common_cause} common-cause points, {g.special_cause_improvement} improvement, "
            f"{g.special_cause_concern} concern and {g.special_cause_neutral} neutral "
            "special-cause points."
        )
    latest = result.latest
    parts.append(
        f"The latest point is {_fmt(latest.value)}: {latest.special_cause_type.lower()}. "
        f"Variation: {icon_description(result.variation).lower()}."
    )
    if result.assurance is not None and result.target is not None:
        parts.append(f"Target {_fmt(result.target)}: {icon_description(result.assurance).lower()}.")
    return " ".join(parts)


def _run_text(result: RunChartResult, y_label: str) -> str:
    shifts = sum(p.shift for p in result.points)
    trends = sum(p.trend for p in result.points)
    verdict = "shows a non-random pattern" if result.non_random else "shows only random variation"
    return (
        f"Run chart of {y_label} with {len(result.points)} points around a median of "
        f"{_fmt(result.median)}. {shifts} points are in a shift and {trends} in a trend; "
        f"there are {result.runs} runs. The chart {verdict}."
    )


def _funnel_text(result: FunnelResult) -> str:
    counts: dict[str, int] = {}
    for o in result.organisations:
        counts[o.significance] = counts.get(o.significance, 0) + 1
    spread = "; ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    adjust = (
        f" Limits widened for overdispersion (phi {result.phi:.2f})."
        if (result.overdispersion)
        else ""
    )
    return (
        f"Funnel plot of {len(result.organisations)} organisations' {result.statistic}s around "
        f"an average of {_fmt(result.baseline)}, with 95% and 99.8% limits. {spread}.{adjust}"
    )


def _finish(fig: Figure, description: str, path: str | Path | None) -> Figure:
    fig.set_label(description)
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save as PNG or SVG (by suffix) with the chart's description as file metadata."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in {".png", ".svg"}:
        raise ValueError(f"{out}: charts are written as .png or .svg")
    title = fig.axes[0].get_title() if fig.axes else ""
    fig.savefig(out, dpi=80, metadata={"Title": title, "Description": fig.get_label()})
    return out


BREAK_LINES = ("both", "limits", "process", "none")
"""Which lines break at a rebase, as ``plot(ptd_spc(...), break_lines=...)``: both the limits
(with the mean) and the process line, only one of them, or none (the Excel tool)."""
MAX_DATE_TICKS = 30
"""Up to this many points each gets a tick (as ptd_create_ggplot() does); beyond it the labels
would overlap on an 8-inch chart, and matplotlib chooses the ticks."""


def _default_title(result: SpcResult, y_label: str) -> str:
    """ptd_create_ggplot()'s title: "SPC Chart of Y, starting 02/01/2020"."""
    first = result.points[0].x
    start = f", starting {first:%d/%m/%Y}" if isinstance(first, dt.date) else ""
    return f"SPC Chart of {y_label}{start}"


def _stretches(result: SpcResult, broken: bool) -> list[list[SpcPoint]]:
    """The points joined by one line: each group's when the line breaks, else all of them."""
    if not broken:
        return [list(result.points)]
    return [[p for p in result.points if p.group == g.group] for g in result.groups]


def plot_spc(
    result: SpcResult,
    *,
    title: str | None = None,
    y_label: str = "Value",
    x_label: str = "Period",
    path: str | Path | None = None,
    icons: bool = True,
    break_lines: str = "both",
    label_limits: bool = False,
    percentage_y_axis: bool = False,
    x_axis_date_format: str = "%d/%m/%y",
    colours: SpcColours = COLOURS,
) -> Figure:
    """Draw an XmR, p, u or c chart; optionally save it to ``path`` (.png or .svg).

    What is drawn follows ``plot(ptd_spc(...))``: dashed process limits and a solid mean per
    rebased group, the process line (also broken at each rebase unless ``break_lines`` says
    otherwise), points coloured by type, the target and trajectory, a caption when a group has
    trial limits, and the icons top right. ``label_limits`` labels the latest limits and mean
    on a right-hand axis; ``percentage_y_axis`` shows proportions as percentages. Each artist
    carries a ``gid``, its SVG id (``upl-0``, ``lpl-0``, ``mean-0``, ``value-line-0``, one of
    each per stretch of line; ``points``, ``target``, ``trajectory``, ``caption``) so tests,
    and anyone reading the SVG, can find what was drawn.
    """
    if break_lines not in BREAK_LINES:
        raise ValueError(
            f"break_lines must be one of {', '.join(BREAK_LINES)}; got {break_lines!r}"
        )
    title = _default_title(result, y_label) if title is None else title
    point_colour = _point_colours(colours)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in result.points]
    step = result.chart in {"p", "u"}  # their limits change at each denominator
    for k, pts in enumerate(_stretches(result, break_lines in {"both", "limits"})):
        gx = [p.x for p in pts]
        for gid, attr, style in (
            ("upl", "upper", "--"),
            ("lpl", "lower", "--"),
            ("mean", "centre", "-"),
        ):
            colour = colours.mean_line if gid == "mean" else colours.limits
            ys = [getattr(p, attr) for p in pts]
            style_kw: dict[str, Any] = {"color": colour, "linestyle": style, "linewidth": 1.2}
            (line,) = (
                ax.step(gx, ys, where="mid", **style_kw) if step else ax.plot(gx, ys, **style_kw)
            )
            line.set_gid(f"{gid}-{k}")
    for k, pts in enumerate(_stretches(result, break_lines in {"both", "process"})):
        (line,) = ax.plot([p.x for p in pts], [p.value for p in pts], color=colours.value_line,
                          linewidth=1.5, zorder=1)  # fmt: skip
        line.set_gid(f"value-line-{k}")
    dots = ax.scatter(xs, [p.value for p in result.points], s=28, zorder=3,
                      c=[point_colour[p.point_type] for p in result.points])  # fmt: skip
    dots.set_gid("points")
    if result.target is not None:
        ax.axhline(result.target, color=colours.target, linestyle=":", linewidth=1.2).set_gid(
            "target"
        )
    planned = [(p.x, p.trajectory) for p in result.points if p.trajectory is not None]
    if planned:
        (line,) = ax.plot([x for x, _ in planned], [v for _, v in planned],
                          color=colours.neutral, linestyle="--", linewidth=1.2)  # fmt: skip
        line.set_gid("trajectory")
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(axis="y", color="#EEEEEE")
    if percentage_y_axis:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    if isinstance(xs[0], dt.date):
        if len(xs) <= MAX_DATE_TICKS:
            ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(DateFormatter(x_axis_date_format))
    fig.autofmt_xdate(rotation=45)
    if label_limits:
        _label_limits(ax, result, percentage_y_axis)
    ax.legend(handles=_spc_legend(result, colours), loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=8, frameon=False)  # fmt: skip
    if result.has_trial_limits:
        threshold = result.settings.get("trial_limits_below", "enough")
        fig.text(0.01, 0.01, f"Some trial limits rest on groups of fewer than {threshold} "
                 "points; they will become more reliable as more data is added.",
                 fontsize=8).set_gid("caption")  # fmt: skip
    fig.subplots_adjust(right=0.8, bottom=0.25 if result.has_trial_limits else 0.2)
    if icons:
        chosen = [result.variation] + ([result.assurance] if result.assurance else [])
        for i, icon in enumerate(chosen):
            icon_ax = fig.add_axes((0.82 + 0.085 * i, 0.2, 0.08, 0.14))
            icon_ax.set_label(f"icon:{icon.value}")
            draw_icon(icon_ax, icon, colours)
    return _finish(fig, alt_text(result, title=title, y_label=y_label), path)


def _point_colours(colours: SpcColours) -> dict[PointType, str]:
    return {
        PointType.COMMON_CAUSE: colours.common_cause,
        PointType.IMPROVEMENT: colours.improvement,
        PointType.CONCERN: colours.concern,
        PointType.NEUTRAL_HIGH: colours.neutral,
        PointType.NEUTRAL_LOW: colours.neutral,
    }


def _spc_legend(result: SpcResult, colours: SpcColours) -> list[Line2D]:
    """One entry per kind of point the direction allows (ptd_create_ggplot()'s colour scale),
    then the lines."""
    kinds = (
        (("Common cause", colours.common_cause), ("Neither", colours.neutral))
        if result.improvement_direction is ImprovementDirection.NEUTRAL
        else (
            ("Common cause", colours.common_cause),
            ("Improvement", colours.improvement),
            ("Concern", colours.concern),
        )
    )
    legend = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=label)
        for label, colour in kinds
    ]
    legend += [
        Line2D([], [], color=colours.mean_line, label="Mean"),
        Line2D([], [], color=colours.limits, linestyle="--", label="Process limits"),
    ]
    if result.target is not None:
        legend.append(Line2D([], [], color=colours.target, linestyle=":", label="Target"))
    if any(p.trajectory is not None for p in result.points):
        legend.append(Line2D([], [], color=colours.neutral, linestyle="--", label="Trajectory"))
    return legend


def _label_limits(ax: Axes, result: SpcResult, percent: bool) -> None:
    """The latest lower limit, mean and upper limit as ticks of a right-hand axis."""
    latest = result.latest
    ticks = [v for v in (latest.lower, latest.centre, latest.upper) if math.isfinite(v)]
    right = ax.secondary_yaxis("right")
    right.set_yticks(ticks, [f"{v:.1%}" if percent else _fmt(v) for v in ticks])
    right.set_gid("limit-labels")


def plot_run_chart(
    result: RunChartResult,
    *,
    title: str = "Run chart",
    y_label: str = "Value",
    x_label: str = "Period",
    path: str | Path | None = None,
) -> Figure:
    """Draw a run chart: points on a line, the median, shifts and trends highlighted."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in result.points]
    ys = [p.value for p in result.points]
    ax.plot(xs, ys, color=COLOURS.value_line, linewidth=1.5)
    ax.axhline(result.median, color=COLOURS.mean_line, linewidth=1.2, label="Median")
    colours = [
        COLOURS.neutral if p.shift or p.trend else COLOURS.common_cause for p in result.points
    ]
    ax.scatter(xs, ys, c=colours, s=28, zorder=3)
    ax.legend(
        handles=[
            Line2D([], [], color=COLOURS.mean_line, label="Median"),
            Line2D([], [], marker="o", linestyle="", color=COLOURS.neutral, label="Shift or trend"),
        ],
        fontsize=8,
        frameon=False,
    )
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    fig.autofmt_xdate()
    return _finish(fig, alt_text(result, title=title, y_label=y_label), path)


def plot_funnel(
    result: FunnelResult,
    *,
    title: str = "Funnel plot",
    y_label: str | None = None,
    x_label: str = "Denominator",
    path: str | Path | None = None,
    higher_is_better: bool | None = None,
) -> Figure:
    """Draw a funnel plot with 95% and 99.8% limits and organisations coloured by significance:
    purple outside the limits, or blue (better) and orange (worse) when ``higher_is_better``
    says which way is better."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    den = [limit.denominator for limit in result.limits]
    for attr, style, label in (
        ("lower_2s", "--", "95% limits"),
        ("upper_2s", "--", None),
        ("lower_3s", ":", "99.8% limits"),
        ("upper_3s", ":", None),
    ):
        ax.plot(den, [getattr(limit, attr) for limit in result.limits], color="#555555",
                linestyle=style, linewidth=1.1, label=label)  # fmt: skip
    ax.axhline(result.baseline, color=COLOURS.mean_line, linewidth=1.2, label="Average")
    if higher_is_better is None:
        colour = {"High": COLOURS.neutral, "Low": COLOURS.neutral}
    else:
        better, worse = COLOURS.improvement, COLOURS.concern
        colour = (
            {"High": better, "Low": worse} if higher_is_better else {"High": worse, "Low": better}
        )
    orgs = result.organisations
    ax.scatter(
        [o.denominator for o in orgs],
        [o.value for o in orgs],
        c=[
            colour.get(o.significance.split()[0], COLOURS.common_cause)
            for o in result.organisations
        ],
        s=30,
        zorder=3,
        edgecolor="white",
        linewidth=0.5,
    )
    ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label or result.statistic)
    ax.legend(fontsize=8, frameon=False)
    return _finish(fig, alt_text(result, title=title), path)
