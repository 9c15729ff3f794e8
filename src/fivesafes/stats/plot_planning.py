"""Drawing the planning, evaluation and safety analyses, each with its description in words.

Like :mod:`fivesafes.stats.plotting`: a matplotlib ``Figure`` (Agg) whose label is the alt text
(what the chart shows, in words, so it can be read without seeing it: WCAG 2.2 1.1.1), the
accessible palette, and a ``gid`` on each meaningful artist so tests and SVG readers can find
what was drawn. Colour never carries meaning alone: better and worse are also said in the
legend, the alt text and the tables beside each chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from fivesafes.stats.area_profile import AreaProfile
from fivesafes.stats.bed_occupancy import DAYS, SEASONS
from fivesafes.stats.breakdown import Breakdown
from fivesafes.stats.cusum import CusumResult, VladResult
from fivesafes.stats.inequality import InequalityIndex, cumulative_midpoints
from fivesafes.stats.its import ItsResult
from fivesafes.stats.palette import COLOURS
from fivesafes.stats.ratios import RatioFunnel
from fivesafes.stats.waiting_list import WaitingListSimulation
from fivesafes.stats.workforce import WorkforceProjection

VERDICT_COLOURS = {
    "Better": COLOURS.improvement,
    "Worse": COLOURS.concern,
    "Higher": COLOURS.neutral,
    "Lower": COLOURS.neutral,
    "Similar": "#ffffff",
    "Not compared": "#ffffff",
}
"""Fingertips' convention: blue better, orange worse (our accessible shades), white similar."""


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _finish(fig: Figure, text: str) -> Figure:
    fig.set_label(text)
    return fig


def plot_spine(profile: AreaProfile, *, title: str | None = None) -> Figure:
    """The local area's spine chart: per indicator the range of areas (worst to best, the
    middle half darker), England at the centre line, the area as a dot coloured by its
    comparison with England."""
    rows = profile.spine
    verdict = {r.indicator: r.verdict for r in profile.rows if r.area == profile.local_area}
    height = 1.3 + 0.55 * max(1, len(rows))  # inches; margins fixed in inches below, so that
    fig = Figure(figsize=(8, height))  # one indicator's title and labels are not cut off
    ax = fig.add_subplot()
    for k, row in enumerate(rows):
        y = len(rows) - 1 - k
        ax.add_patch(Rectangle((row.worst_at, y - 0.3), row.best_at - row.worst_at, 0.6,
                               facecolor="#d8dde0", gid=f"range-{k}"))  # fmt: skip
        ax.add_patch(Rectangle((row.q25_at, y - 0.3), row.q75_at - row.q25_at, 0.6,
                               facecolor="#aeb7bd", gid=f"middle-{k}"))  # fmt: skip
        if row.local_at is not None:
            colour = VERDICT_COLOURS.get(verdict.get(row.indicator, "Not compared"), "#ffffff")
            ax.scatter([row.local_at], [y], s=80, color=colour, edgecolor="#212b32", zorder=3,
                       gid=f"area-{k}")  # fmt: skip
    ax.axvline(0.5, color=COLOURS.mean_line, linewidth=1.5, gid="england")
    ax.set_yticks(range(len(rows)), [r.indicator for r in reversed(rows)])
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks([0, 0.5, 1], ["Worst", "England", "Best"])
    name = title or f"{profile.local_area} compared with England"
    ax.set_title(name)
    fig.subplots_adjust(left=0.35, bottom=0.5 / height, top=1 - 0.4 / height)
    parts = [
        f"{r.indicator}: {profile.local_area} "
        + ("not published" if r.local is None else f"{_fmt(r.local)}")
        + f" against England {_fmt(r.england)} ({verdict.get(r.indicator, 'Not compared')}); "
        f"areas range from {_fmt(r.worst)} (worst) to {_fmt(r.best)} (best)"
        for r in rows
    ]
    similar = (
        f" Most similar areas: {', '.join(a for a, _ in profile.similar)}."
        if profile.similar
        else ""
    )
    drawn = "; ".join(parts) if parts else "No indicator has a published value beside England's"
    return _finish(fig, f"{name}. Spine chart. {drawn}." + similar)


def plot_breakdown(breakdown: Breakdown, *, title: str, x_label: str = "%") -> Figure:
    """Each group's value as a dot with its 95% interval, the value for all groups as a
    dashed line; a group not published is named on its row, with no dot."""
    groups = breakdown.groups
    fig = Figure(figsize=(8, 1.2 + 0.5 * len(groups)))
    ax = fig.add_subplot()
    total = breakdown.total.value.value
    if total is not None:
        ax.axvline(total, color=COLOURS.mean_line, linestyle="--", linewidth=1.5, gid="total",
                   label=f"All: {_fmt(total)}")  # fmt: skip
    published = [(k, g) for k, g in enumerate(groups) if g.value.value is not None]
    for k, g in published:
        y = len(groups) - 1 - k
        v, low, high = g.value.value, g.value.lower, g.value.upper
        assert v is not None
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color=COLOURS.common_cause, linewidth=3,
                    gid=f"interval-{k}")  # fmt: skip
        ax.scatter([v], [y], s=60, color=COLOURS.neutral, edgecolor="#212b32", zorder=3,
                   gid=f"group-{k}")  # fmt: skip
    if not published:
        ax.set_xlim(0, 1)
    for k, g in enumerate(groups):
        if g.value.value is None:
            ax.annotate("not published", (0.01, len(groups) - 1 - k), xycoords=("axes fraction",
                        "data"), va="center", gid=f"unpublished-{k}")  # fmt: skip
    ax.set_yticks(range(len(groups)), [g.group for g in reversed(groups)])
    ax.set_xlabel(x_label)
    ax.set_title(title)
    if total is not None:  # beside the axes: inside, it would hide the last group's dot
        ax.legend(loc="lower left", bbox_to_anchor=(1.01, 0), fontsize="small", frameon=False)
    fig.subplots_adjust(left=0.3, right=0.82, bottom=0.15 + 0.3 / max(1, len(groups)))

    def said(g: Any) -> str:
        v = g.value
        if v.value is None:
            return f"{g.group} not published"
        interval = "" if v.lower is None else f" (95% CI {_fmt(v.lower)} to {_fmt(v.upper)})"
        return f"{g.group} {_fmt(v.value)}{interval}"

    overall = "" if total is None else f" All groups together: {_fmt(total)}."
    return _finish(fig, f"{title}. " + "; ".join(said(g) for g in groups) + "." + overall)


def plot_inequality(
    values: Sequence[float],
    populations: Sequence[float],
    index: InequalityIndex,
    *,
    title: str,
    y_label: str,
    x_label: str = "IMD decile (1 = most deprived)",
) -> Figure:
    """Each deprivation quantile's value at its population midpoint, with the fitted line
    whose slope is the SII."""
    x = cumulative_midpoints(populations)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.bar(x, values, width=np.asarray(populations) / np.sum(populations) * 0.9,
           color=COLOURS.common_cause, gid="quantiles")  # fmt: skip
    if index.multiplier > 0:
        # the line's value at the most deprived end (0), on the chart's scale; its slope is
        # the SII (phe_sii()'s intercept is unscaled unless the fit was transformed)
        start = index.intercept * (1 if index.transform else index.multiplier)
        ax.plot([0, 1], [start, start + index.sii], color=COLOURS.mean_line, linewidth=2,
                gid="sii-line")  # fmt: skip
    ax.set_xlim(0, 1)
    ticks = list(x)
    ax.set_xticks(ticks, [str(i + 1) for i in range(len(ticks))])
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    iv = index.intervals[0]
    text = (
        f"{title}. Bar chart of {y_label} in {index.quantiles} deprivation groups from most to "
        f"least deprived, with the fitted line of the slope index of inequality: SII "
        f"{_fmt(index.sii)} (95% CI {_fmt(iv.sii_lower)} to {_fmt(iv.sii_upper)}), the gap "
        f"between the least and most deprived ends; RII {index.rii:.2f}."
    )
    return _finish(fig, text)


def plot_its(result: ItsResult, *, title: str, y_label: str, x_label: str = "Period") -> Figure:
    """The series with the fitted segments and, after the change, the counterfactual: the
    pre-change line carried on."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in result.points]
    ax.plot(xs, [p.value for p in result.points], "o", color=COLOURS.common_cause,
            gid="values")  # fmt: skip
    before = [p for p in result.points if not p.after]
    after = [p for p in result.points if p.after]
    ax.plot([p.x for p in before], [p.fitted for p in before], color=COLOURS.mean_line,
            linewidth=2, gid="fit-before")  # fmt: skip
    ax.plot([p.x for p in after], [p.fitted for p in after], color=COLOURS.improvement,
            linewidth=2, gid="fit-after")  # fmt: skip
    ax.plot([p.x for p in after], [p.counterfactual for p in after], color=COLOURS.mean_line,
            linestyle="--", linewidth=1.5, gid="counterfactual")  # fmt: skip
    ax.axvline(result.change_at, color=COLOURS.target, linestyle=":", gid="change")
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    fig.autofmt_xdate()
    lc, sc = result.level_change, result.slope_change
    text = (
        f"{title}. Interrupted time series of {y_label} with {len(xs)} periods and a change at "
        f"{result.change_at}: a level change of {_fmt(lc.value)} (95% CI {_fmt(lc.lower)} to "
        f"{_fmt(lc.upper)}, p {lc.p_value:.3g}) and a slope change of {_fmt(sc.value)} per "
        f"period (95% CI {_fmt(sc.lower)} to {_fmt(sc.upper)}, p {sc.p_value:.3g}), with "
        f"Newey-West errors at lag {result.lag}. The dashed line is the trend before the change "
        "carried on."
    )
    return _finish(fig, text)


def plot_cusum(
    up: CusumResult, down: CusumResult | None, *, title: str, x_label: str = "Period"
) -> Figure:
    """A CUSUM looking for deterioration above zero and, drawn below zero, one looking for
    improvement, each with its threshold; signals are marked."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in up.points]
    ax.plot(xs, [p.value for p in up.points], color=COLOURS.concern, gid="cusum-up")
    ax.axhline(up.threshold, color=COLOURS.concern, linestyle="--", gid="threshold-up")
    marked = [p for p in up.points if p.signal]
    ax.scatter([p.x for p in marked], [p.value for p in marked], color=COLOURS.concern,
               marker="^", s=60, zorder=3, gid="signals-up")  # fmt: skip
    words = [f"{len(marked)} signal(s) of deterioration (threshold {_fmt(up.threshold)})"]
    if down is not None:
        ax.plot(xs, [-p.value for p in down.points], color=COLOURS.improvement, gid="cusum-down")
        ax.axhline(-down.threshold, color=COLOURS.improvement, linestyle="--",
                   gid="threshold-down")  # fmt: skip
        better = [p for p in down.points if p.signal]
        ax.scatter([p.x for p in better], [-p.value for p in better], color=COLOURS.improvement,
                   marker="v", s=60, zorder=3, gid="signals-down")  # fmt: skip
        words.append(f"{len(better)} of improvement (threshold {_fmt(down.threshold)})")
    ax.axhline(0, color="#aeb7bd", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel("CUSUM (log-likelihood ratio)")
    fig.autofmt_xdate()
    return _finish(fig, f"{title}. Risk-adjusted CUSUM over {len(xs)} periods: "
                        + " and ".join(words) + ".")  # fmt: skip


def plot_vlad(result: VladResult, *, title: str, x_label: str = "Period") -> Figure:
    """The running total of expected minus observed events."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    xs = [p.x for p in result.points]
    ax.plot(xs, [p.lives_saved for p in result.points], color=COLOURS.mean_line, gid="vlad")
    ax.axhline(0, color="#aeb7bd", linewidth=0.8)
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Expected minus observed (cumulative)")
    fig.autofmt_xdate()
    observed = sum(p.observed for p in result.points)
    expected = sum(p.expected for p in result.points)
    return _finish(fig, f"{title}. VLAD over {len(xs)} periods: {observed:,.0f} observed "
                        f"against {expected:,.1f} expected, {result.lives_saved:,.1f} fewer than "
                        "expected in all.")  # fmt: skip


def plot_ratio_funnel(result: RatioFunnel, *, title: str, x_label: str = "Expected") -> Figure:
    """Standardised ratios against expected counts with 95% and 99.8% limits around 1."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    e = [lim.expected for lim in result.limits]
    for attr, style, gid in (
        ("lower_2s", "--", "limit-95"),
        ("upper_2s", "--", "limit-95u"),
        ("lower_3s", ":", "limit-998"),
        ("upper_3s", ":", "limit-998u"),
    ):
        ax.plot(e, [getattr(lim, attr) for lim in result.limits], color="#555555",
                linestyle=style, gid=gid)  # fmt: skip
    ax.axhline(result.multiplier, color=COLOURS.mean_line, gid="target")
    colours = [COLOURS.concern if o.significance.startswith("High")
               else COLOURS.improvement if o.significance.startswith("Low")
               else COLOURS.common_cause for o in result.organisations]  # fmt: skip
    ax.scatter([o.expected for o in result.organisations],
               [o.ratio for o in result.organisations], c=colours, s=40, zorder=3,
               edgecolor="white", gid="organisations")  # fmt: skip
    for o in result.organisations:
        ax.annotate(o.label, (o.expected, o.ratio), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel("Observed / expected")
    adjust = (
        f" Limits widened for over-dispersion ({result.adjustment}: phi {result.phi:.2f}, "
        f"tau squared {result.tau2:.4f})."
        if result.adjustment
        else ""
    )
    spread: dict[str, int] = {}
    for o in result.organisations:
        spread[o.significance] = spread.get(o.significance, 0) + 1
    words = "; ".join(f"{k}: {v}" for k, v in sorted(spread.items()))
    text = (
        f"{title}. Funnel plot of {len(result.organisations)} standardised ratios against 1 "
        f"with 95% and 99.8% limits. {words}.{adjust}"
    )
    return _finish(fig, text)


def plot_waiting_list(
    sim: WaitingListSimulation, *, title: str, x_label: str = "Weeks ahead"
) -> Figure:
    """The simulated list size and the share within the target, each a median line in its
    5th to 95th centile band from the repeated runs."""
    fig = Figure(figsize=(8, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    weeks = [w.week for w in sim.weeks]
    top.fill_between(weeks, [w.size_low for w in sim.weeks], [w.size_high for w in sim.weeks],
                     color="#d8dde0", gid="size-band")  # fmt: skip
    top.plot(weeks, [w.size_median for w in sim.weeks], color=COLOURS.mean_line, gid="size")
    top.set_ylabel("Patients waiting")
    share = [[100 * getattr(w, a) for w in sim.weeks] for a in
             ("within_target_low", "within_target_median", "within_target_high")]  # fmt: skip
    bottom.fill_between(weeks, share[0], share[2], color="#d8dde0", gid="share-band")
    bottom.plot(weeks, share[1], color=COLOURS.improvement, gid="share")
    bottom.set_ylabel(f"% within {sim.target_weeks} weeks")
    bottom.set_xlabel(x_label)
    top.set_title(title)
    last = sim.weeks[-1]
    text = (
        f"{title}. Simulation of the waiting list over {len(weeks)} weeks ({sim.runs} runs) "
        f"with demand {sim.demand:.0f} and capacity {sim.capacity:.0f} a week: after "
        f"{len(weeks)} weeks about {last.size_median:,.0f} patients wait (90% of runs "
        f"{last.size_low:,.0f} to {last.size_high:,.0f}) and "
        f"{100 * last.within_target_median:.0f}% have waited under {sim.target_weeks} weeks."
    )
    return _finish(fig, text)


def plot_occupancy(
    cells: Sequence[tuple[str, str, float]], *, title: str, unit: str, value_format: str = ".1f"
) -> Figure:
    """A heatmap of a value by day of week (columns) and season (rows), each cell written."""
    grid = np.full((len(SEASONS), len(DAYS)), np.nan)
    for season_name, weekday, value in cells:
        grid[SEASONS.index(season_name), DAYS.index(weekday)] = value
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="Blues", aspect="auto")
    image.set_gid("grid")
    for i in range(len(SEASONS)):
        for j in range(len(DAYS)):
            if not math.isnan(grid[i, j]):
                dark = grid[i, j] > np.nanmean(grid)
                ax.text(j, i, format(grid[i, j], value_format), ha="center", va="center",
                        fontsize=8, color="white" if dark else "#212b32")  # fmt: skip
    ax.set_xticks(range(len(DAYS)), [d[:3] for d in DAYS])
    ax.set_yticks(range(len(SEASONS)), list(SEASONS))
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=unit)
    peak = max(cells, key=lambda c: c[2])
    low = min(cells, key=lambda c: c[2])
    return _finish(fig, f"{title}. Heatmap of {unit} by day of week and season: highest on "
                        f"{peak[1]}s in {peak[0]} ({format(peak[2], value_format)}), lowest on "
                        f"{low[1]}s in {low[0]} ({format(low[2], value_format)}).")  # fmt: skip


def plot_projection(
    projection: WorkforceProjection, start: Any, *, title: str, x_label: str = "Months ahead"
) -> Figure:
    """FTE needed against FTE projected, with the gap between them shaded."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    months = [m.month for m in projection.months]
    needed = [m.needed_fte for m in projection.months]
    projected = [m.projected_fte for m in projection.months]
    ax.plot(months, needed, color=COLOURS.mean_line, gid="needed")
    ax.plot(months, projected, color=COLOURS.improvement, gid="projected")
    ax.fill_between(months, projected, needed, where=[n > p for n, p in zip(needed, projected,
                    strict=True)], color=COLOURS.concern, alpha=0.3, gid="gap")  # fmt: skip
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel("FTE")
    ax.legend(["FTE needed", "FTE projected", "Gap"], fontsize=8, frameon=False)
    final = projection.months[-1]
    text = (
        f"{title}. Projection from {start} over {len(months)} months with demand growing "
        f"{100 * projection.demand_growth:.1f}% a year, {100 * projection.leaver_rate:.1f}% of "
        f"staff leaving a year and {projection.joiners:.1f} FTE joining a month: "
        f"{final.needed_fte:,.1f} FTE needed against {final.projected_fte:,.1f} projected, a "
        f"gap of {final.gap_fte:,.1f} FTE."
    )
    return _finish(fig, text)


def plot_proportions(
    rows: Sequence[tuple[str, float, float, float]], *, title: str, x_label: str = "%"
) -> Figure:
    """Each group's percentage as a bar with its 95% interval as a whisker: ``rows`` are
    (group, value, lower, upper) in percent."""
    height = 1.4 + 0.5 * max(1, len(rows))  # inches: the margins below are fixed in inches,
    fig = Figure(figsize=(8, height))  # so one row's title and axis label are not cut off
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    values = [v for _, v, _, _ in rows]
    ax.barh(ys, values, color=COLOURS.common_cause, gid="bars")
    ax.errorbar(values, ys, xerr=[[v - lo for _, v, lo, _ in rows],
                                  [hi - v for _, v, _, hi in rows]],
                fmt="none", ecolor=COLOURS.mean_line, capsize=4, gid="intervals")  # fmt: skip
    ax.set_yticks(ys, [g for g, _, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel(x_label)
    ax.set_title(title)
    fig.subplots_adjust(left=0.38, bottom=0.65 / height, top=1 - 0.4 / height)
    words = "; ".join(f"{g} {v:.1f}% (95% CI {lo:.1f} to {hi:.1f})" for g, v, lo, hi in rows)
    return _finish(fig, f"{title}. Bar chart with 95% confidence intervals: {words}.")


def plot_counts(rows: Sequence[tuple[str, float]], *, title: str, y_label: str) -> Figure:
    """Counts by category, in the order given."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.bar([c for c, _ in rows], [n for _, n in rows], color=COLOURS.improvement, gid="bars")
    ax.set_title(title)
    ax.set_ylabel(y_label)
    words = "; ".join(f"{c}: {n:,.0f}" for c, n in rows)
    return _finish(fig, f"{title}. Bar chart of {y_label}: {words}.")
