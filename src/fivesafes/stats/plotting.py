"""Drawing SPC, run and funnel charts (matplotlib, Agg backend) and describing them in words.

Charts follow Making Data Count conventions: grey common-cause points, blue improvement,
orange concern, purple neutral; a solid mean line, dashed process limits broken at each rebase,
a red dashed target, and the variation and assurance icons top right. Every figure carries a
title, axis labels and a text description (:func:`alt_text`) that is also written into the
saved file's metadata, so the chart can be read without seeing it (WCAG 2.2 1.1.1).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fivesafes.stats.funnel import FunnelResult
from fivesafes.stats.icons import draw_icon, icon_description
from fivesafes.stats.palette import COLOURS
from fivesafes.stats.run_chart import RunChartResult
from fivesafes.stats.spc_model import PointType, SpcResult

_POINT_COLOUR = {
    PointType.COMMON_CAUSE: COLOURS.common_cause,
    PointType.IMPROVEMENT: COLOURS.improvement,
    PointType.CONCERN: COLOURS.concern,
    PointType.NEUTRAL_HIGH: COLOURS.neutral,
    PointType.NEUTRAL_LOW: COLOURS.neutral,
}
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
        limits = (
            "no limits (one point)"
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


def plot_spc(
    result: SpcResult,
    *,
    title: str = "SPC chart",
    y_label: str = "Value",
    x_label: str = "Period",
    path: str | Path | None = None,
    icons: bool = True,
) -> Figure:
    """Draw an XmR, p, u or c chart; optionally save it to ``path`` (.png or .svg)."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in result.points]
    ax.plot(xs, [p.value for p in result.points], color=COLOURS.value_line, linewidth=1.5, zorder=1)
    step = result.chart in {"p", "u"}
    for g in result.groups:
        pts = [p for p in result.points if p.group == g.group]
        gx = [p.x for p in pts]
        draw = ax.step if step else ax.plot
        kwargs = {"where": "mid"} if step else {}
        draw(gx, [p.centre for p in pts], color=COLOURS.mean_line, linewidth=1.2, **kwargs)
        for attr in ("lower", "upper"):
            draw(gx, [getattr(p, attr) for p in pts], color=COLOURS.limits, linestyle="--",
                 linewidth=1.2, **kwargs)  # fmt: skip
    ax.scatter(xs, [p.value for p in result.points], s=28, zorder=3,
               c=[_POINT_COLOUR[p.point_type] for p in result.points])  # fmt: skip
    if result.target is not None:
        ax.axhline(result.target, color=COLOURS.target, linestyle=":", linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(axis="y", color="#EEEEEE")
    fig.autofmt_xdate()
    legend = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=label)
        for label, colour in (
            ("Common cause", COLOURS.common_cause),
            ("Improvement", COLOURS.improvement),
            ("Concern", COLOURS.concern),
            ("Neither", COLOURS.neutral),
        )
    ]
    legend += [
        Line2D([], [], color=COLOURS.mean_line, label="Mean"),
        Line2D([], [], color=COLOURS.limits, linestyle="--", label="Process limits"),
    ]
    if result.target is not None:
        legend.append(Line2D([], [], color=COLOURS.target, linestyle=":", label="Target"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)  # fmt: skip
    if result.has_trial_limits:
        fig.text(0.01, 0.01, "Some limits are trial limits (fewer than 12 points).", fontsize=8)
    fig.subplots_adjust(right=0.8, bottom=0.2)
    if icons:
        chosen = [result.variation] + ([result.assurance] if result.assurance else [])
        for i, icon in enumerate(chosen):
            draw_icon(fig.add_axes((0.82 + 0.085 * i, 0.2, 0.08, 0.14)), icon)
    return _finish(fig, alt_text(result, title=title, y_label=y_label), path)


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
