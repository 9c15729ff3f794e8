"""Turning released measures into figures with the ``stats`` stage: an SPC chart per group (its
suppressed periods drawn as gaps), and, when there are groups, their values with confidence
intervals and a funnel plot in the latest period that publishes two or more of them.

Figures are written as SVG files beside the page (``figures/``, ``icons/``) so the dashboard is
one folder that opens offline. Each figure keeps the table it came from, so the page can print
its provenance under it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from matplotlib.figure import Figure

from fivesafes.dashboards.measures import (
    ALL,
    RATE_PER,
    Kind,
    Measure,
    Series,
    month_label,
    period_value,
)
from fivesafes.stats import (
    AssuranceIcon,
    FunnelResult,
    ImprovementDirection,
    IndicatorValue,
    SpcResult,
    VariationIcon,
    alt_text,
    p_chart,
    plot_funnel,
    plot_spc,
    proportion,
    proportion_funnel,
    rate,
    rate_funnel,
    save_figure,
    write_icon,
    xmr,
)
from fivesafes.stats.area_profile import Polarity
from fivesafes.stats.icons import icon_description
from fivesafes.stats.palette import COLOURS

FIGURES = "figures"
ICONS = "icons"


@dataclass(frozen=True)
class Settings:
    """What the released numbers cannot say themselves: which way is better, and any target
    (in the figure's display unit: percent or per 1,000), by measure name; for the
    decision-maker sections, the local area to profile and which way is better for each of
    its indicators, the date of a change to evaluate per measure, the waiting list's target,
    horizon, runs and planned change in capacity, a bed base, and for workforce planning the
    yearly growth in demand and the published workforce statistics to read."""

    improvement: Mapping[str, ImprovementDirection]
    targets: Mapping[str, float]
    local_area: str | None = None
    polarity: Mapping[str, Polarity] = field(default_factory=dict)
    changes: Mapping[str, str] = field(default_factory=dict)
    waiting_target_weeks: float = 18
    waiting_weeks_ahead: int = 26
    waiting_runs: int = 100
    capacity_change: float = 0.0
    beds: float | None = None
    demand_growth: float = 0.03
    published: tuple[Path, ...] = ()
    """Published workforce statistics files (organisation-level, already public)."""


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


@dataclass(frozen=True)
class GroupFigure:
    """One group's SPC chart, icons and latest value."""

    series: Series
    spc: SpcResult
    chart: Image
    variation: Image
    assurance: Image | None
    latest: IndicatorValue


@dataclass(frozen=True)
class Comparison:
    """The groups side by side in one period: each value with its 95% confidence interval,
    and a funnel plot against the average; ``left_out`` are the groups suppressed then."""

    period: str
    values: tuple[tuple[str, IndicatorValue], ...]
    intervals: Image
    funnel: Image
    funnel_result: FunnelResult
    left_out: tuple[str, ...]


@dataclass(frozen=True)
class MeasureFigures:
    measure: Measure
    groups: tuple[GroupFigure, ...]
    comparison: Comparison | None


MIN_SPC_POINTS = 6
"""Fewer published periods than this make no SPC chart (the limits would say nothing); the
measure is still shown as values with intervals."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


def _icon(out: Path, icon: VariationIcon | AssuranceIcon) -> Image:
    path = out / ICONS / f"{type(icon).__name__.lower()}-{icon.value}.svg"
    if not path.exists():
        write_icon(icon, path)
    return Image(f"{ICONS}/{path.name}", icon_description(icon))


def _spc(measure: Measure, series: Series, settings: Settings) -> SpcResult:
    direction = settings.improvement.get(measure.name, ImprovementDirection.NEUTRAL)
    months = [period_value(p) for p in series.periods]
    target = settings.targets.get(measure.name)
    if measure.kind is Kind.PROPORTION:
        return p_chart(
            series.numerators,
            series.denominators,
            months,
            improvement_direction=direction,
            target=None if target is None else target / 100,
        )
    rates = [n / d * RATE_PER for n, d in zip(series.numerators, series.denominators, strict=True)]
    return xmr(rates, months, improvement_direction=direction, target=target)


def _value(measure: Measure, numerator: float, denominator: float) -> IndicatorValue:
    if measure.kind is Kind.PROPORTION:
        return proportion(numerator, denominator, multiplier=100)
    return rate(numerator, denominator, multiplier=RATE_PER)


def gap_note(hidden: tuple[str, ...]) -> str:
    """What a chart with suppressed periods says about them, in words."""
    if not hidden:
        return ""
    months = ", ".join(month_label(p) for p in hidden)
    return (
        f"Suppressed by the output checkers and shown as a gap: {months}. "
        "The limits are worked out from the published periods only."
    )


def _show_gaps(fig: Figure, hidden: tuple[str, ...]) -> None:
    """Break every line of the chart at each suppressed period and mark the period, so a
    hidden count is seen as missing, never as a point joined to its neighbours."""
    ax = fig.axes[0]
    # matplotlib plots dates as it plots numbers; its stubs say only numbers
    gaps: list[Any] = [period_value(p) for p in hidden]
    for line in ax.get_lines():
        # get_xdata gives back the sequence the line was drawn from; its stubs say any ArrayLike
        xs: list[Any] = list(cast(Sequence[Any], line.get_xdata()))
        ys: list[Any] = list(cast(Sequence[Any], line.get_ydata()))
        inside = [g for g in gaps if len(xs) > 1 and xs[0] < g < xs[-1]]
        if inside:
            points = sorted([*zip(xs, ys, strict=True), *((g, math.nan) for g in inside)])
            line.set_data([x for x, _ in points], [y for _, y in points])
    for gap in gaps:
        ax.axvline(gap, color=COLOURS.common_cause, linestyle=(0, (1, 3)), linewidth=1)
        ax.annotate(
            "suppressed",
            (gap, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            ha="right",
            va="bottom",
            color="#425563",
        )
    fig.set_label(f"{fig.get_label()} {gap_note(hidden)}")


def _group(measure: Measure, series: Series, settings: Settings, out: Path) -> GroupFigure:
    spc = _spc(measure, series, settings)
    title = measure.title if series.group == ALL else f"{measure.title}: {series.group}"
    y_label = "Proportion" if measure.kind is Kind.PROPORTION else f"Rate {measure.kind.unit}"
    fig = plot_spc(spc, title=title, y_label=y_label, x_label="Month")
    if series.hidden:
        _show_gaps(fig, series.hidden)
    path = out / FIGURES / f"{_slug(measure.name)}--{_slug(series.group)}.svg"
    save_figure(fig, path)
    return GroupFigure(
        series,
        spc,
        Image(f"{FIGURES}/{path.name}", str(fig.get_label())),
        _icon(out, spc.variation),
        _icon(out, spc.assurance) if spc.assurance else None,
        _value(measure, series.numerators[-1], series.denominators[-1]),
    )


def _shown_in(measure: Measure) -> tuple[str, list[tuple[str, float, float]]] | None:
    """The latest period in which two or more groups were published, and their counts."""
    periods = sorted({p for s in measure.series for p in s.periods}, reverse=True)
    for period in periods:
        shown = [
            (
                s.group,
                s.numerators[s.periods.index(period)],
                s.denominators[s.periods.index(period)],
            )
            for s in measure.series
            if period in s.periods
        ]
        if len(shown) >= 2:
            return period, shown
    return None


def _draw_intervals(
    measure: Measure, values: list[tuple[str, IndicatorValue]], title: str, average: float
) -> Figure:
    """Each group's value as a point with its 95% confidence interval, beside the average."""
    fig = Figure(figsize=(8, 0.9 + 0.45 * len(values)))
    ax = fig.add_subplot()
    for k, (_, v) in enumerate(values):
        assert v.value is not None and v.lower is not None and v.upper is not None
        ax.plot([v.lower, v.upper], [k, k], color=COLOURS.limits, linewidth=2)
        ax.plot([v.value], [k], "o", color=COLOURS.mean_line)
    ax.axvline(average, color=COLOURS.target, linestyle=":", linewidth=1.2)
    ax.set_yticks(range(len(values)), [g for g, _ in values])
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{measure.kind.unit}: value (dot), 95% confidence interval (bar), average (dotted)"
    )
    ax.set_title(title)
    ax.grid(axis="x", color="#EEEEEE")
    fig.subplots_adjust(left=0.3, bottom=0.5 / (0.9 + 0.45 * len(values)) + 0.1)
    described = "; ".join(
        f"{g} {v.value:.1f} ({v.lower:.1f} to {v.upper:.1f})"
        for g, v in values
        if v.value is not None and v.lower is not None and v.upper is not None
    )
    fig.set_label(
        f"{title}. Each group's value {measure.kind.unit} with its 95% confidence interval, "
        f"against the average of all groups shown ({average:.1f}): {described}."
    )
    return fig


def _comparison(measure: Measure, out: Path) -> Comparison | None:
    """The groups in the latest period with two or more of them published, when there is one."""
    found = _shown_in(measure)
    if found is None:
        return None
    period, shown = found
    labels = [g for g, _, _ in shown]
    num = [n for _, n, _ in shown]
    den = [d for _, _, d in shown]
    left_out = tuple(s.group for s in measure.series if s.group not in labels)
    if measure.kind is Kind.PROPORTION:
        result = proportion_funnel(num, den, labels)
    else:
        result = rate_funnel(num, den, labels, multiplier=RATE_PER)
    when = period_label(measure, period)
    values = [(g, _value(measure, n, d)) for g, n, d in shown]
    intervals = _draw_intervals(measure, values, f"{measure.title}, {when}", result.baseline)
    intervals_path = save_figure(intervals, out / FIGURES / f"{_slug(measure.name)}--ci.svg")
    title = f"{measure.title}, {when}"
    funnel = plot_funnel(result, title=title, y_label=measure.kind.unit)
    funnel_path = save_figure(funnel, out / FIGURES / f"{_slug(measure.name)}--funnel.svg")
    return Comparison(
        period,
        tuple(values),
        Image(f"{FIGURES}/{intervals_path.name}", str(intervals.get_label())),
        Image(f"{FIGURES}/{funnel_path.name}", alt_text(result, title=title)),
        result,
        left_out,
    )


def period_label(measure: Measure, period: str) -> str:
    """A period for people: a month as Apr 2023, an interval as its first and last day."""
    ends = {r.get("interval_end") for r in measure.table.rows if r.get("interval_start") == period}
    end = next(iter(ends)) if len(ends) == 1 else None
    if end:
        return f"{period_value(period):%d %b %Y} to {period_value(end):%d %b %Y}"
    return month_label(period)


def measure_figures(measure: Measure, settings: Settings, out: Path) -> MeasureFigures:
    """Draw every figure of ``measure`` into ``out`` and return what the page needs."""
    (out / FIGURES).mkdir(parents=True, exist_ok=True)
    (out / ICONS).mkdir(parents=True, exist_ok=True)
    groups = tuple(
        _group(measure, s, settings, out)
        for s in measure.series
        if len(s.periods) >= MIN_SPC_POINTS
    )
    return MeasureFigures(measure, groups, _comparison(measure, out))
