"""Turning released measures into figures with the ``stats`` stage: an SPC chart per group, the
latest value with its confidence interval, and a funnel comparing groups in the latest period.

Figures are written as SVG files beside the page (``figures/``, ``icons/``) so the dashboard is
one folder that opens offline. Each figure keeps the table it came from, so the page can print
its provenance under it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fivesafes.dashboards.measures import RATE_PER, Kind, Measure, Series, month_label, period_value
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
from fivesafes.stats.icons import icon_description

FIGURES = "figures"
ICONS = "icons"


@dataclass(frozen=True)
class Settings:
    """What the released numbers cannot say themselves: which way is better, and any target
    (in the figure's display unit: percent or per 1,000), by measure name."""

    improvement: Mapping[str, ImprovementDirection]
    targets: Mapping[str, float]


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
class MeasureFigures:
    measure: Measure
    groups: tuple[GroupFigure, ...]
    funnel: Image | None
    funnel_result: FunnelResult | None
    funnel_period: str | None


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


def _latest(measure: Measure, series: Series) -> IndicatorValue:
    n, d = series.numerators[-1], series.denominators[-1]
    if measure.kind is Kind.PROPORTION:
        return proportion(n, d, multiplier=100)
    return rate(n, d, multiplier=RATE_PER)


def _group(measure: Measure, series: Series, settings: Settings, out: Path) -> GroupFigure:
    spc = _spc(measure, series, settings)
    title = f"{measure.title}: {series.group}"
    y_label = "Proportion" if measure.kind is Kind.PROPORTION else f"Rate {measure.kind.unit}"
    fig = plot_spc(spc, title=title, y_label=y_label, x_label="Month")
    path = out / FIGURES / f"{_slug(measure.name)}--{_slug(series.group)}.svg"
    save_figure(fig, path)
    return GroupFigure(
        series,
        spc,
        Image(f"{FIGURES}/{path.name}", alt_text(spc, title=title, y_label=y_label)),
        _icon(out, spc.variation),
        _icon(out, spc.assurance) if spc.assurance else None,
        _latest(measure, series),
    )


def _funnel(measure: Measure, out: Path) -> tuple[Image, FunnelResult, str] | None:
    """The groups compared in the latest period every group has, when there are two or more."""
    common = set.intersection(*(set(s.periods) for s in measure.series))
    if len(measure.series) < 2 or not common:
        return None
    period = max(common)
    picks = [(s.group, s.periods.index(period)) for s in measure.series]
    num = [s.numerators[i] for s, (_, i) in zip(measure.series, picks, strict=True)]
    den = [s.denominators[i] for s, (_, i) in zip(measure.series, picks, strict=True)]
    labels = [g for g, _ in picks]
    if measure.kind is Kind.PROPORTION:
        result = proportion_funnel(num, den, labels)
    else:
        result = rate_funnel(num, den, labels, multiplier=RATE_PER)
    title = f"{measure.title}, {month_label(period)}"
    fig = plot_funnel(result, title=title, y_label=measure.kind.unit)
    path = out / FIGURES / f"{_slug(measure.name)}--funnel.svg"
    save_figure(fig, path)
    return Image(f"{FIGURES}/{path.name}", alt_text(result, title=title)), result, period


def measure_figures(measure: Measure, settings: Settings, out: Path) -> MeasureFigures:
    """Draw every figure of ``measure`` into ``out`` and return what the page needs."""
    (out / FIGURES).mkdir(parents=True, exist_ok=True)
    (out / ICONS).mkdir(parents=True, exist_ok=True)
    groups = tuple(_group(measure, s, settings, out) for s in measure.series if s.periods)
    funnel = _funnel(measure, out)
    if funnel is None:
        return MeasureFigures(measure, groups, None, None, None)
    return MeasureFigures(measure, groups, *funnel)
