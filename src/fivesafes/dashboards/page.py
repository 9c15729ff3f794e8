"""The dashboard page: plain HTML, no scripts, built to WCAG 2.2 AA.

One ``h1``, then ``h2`` per section and ``h3``/``h4`` inside, never skipping a level; every
image has alt text saying what the chart shows; tables have captions and header cells with
scope; icons are always next to their meaning in words. Every figure carries its provenance:
the release, the file's hash, how it was published, the disclosure checks it passed, who
approved it, and its ledger entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fivesafes.dashboards.figures import (
    Comparison,
    GroupFigure,
    Image,
    MeasureFigures,
    period_label,
)
from fivesafes.dashboards.measures import ALL, month_label
from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import Section
from fivesafes.dashboards.style import STYLESHEET
from fivesafes.stats import AssuranceIcon, IndicatorValue, VariationIcon


def _signal(icon: VariationIcon | AssuranceIcon) -> str:
    if icon in (AssuranceIcon.PASS,) or icon.value.startswith("improvement"):
        return "improvement"
    if icon in (AssuranceIcon.FAIL,) or icon.value.startswith("concern"):
        return "concern"
    if icon.value.startswith("neutral"):
        return "neutral"
    return "common"


def _img(image: Image, css: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return f'<img src="{escape(image.src)}" alt="{escape(image.alt)}"{css_attr}>'


def _icon_cell(image: Image | None, icon: VariationIcon | AssuranceIcon | None) -> str:
    if image is None or icon is None:
        return "<td>No target set</td>"
    words = f'<span class="signal-{_signal(icon)}">{escape(image.alt)}</span>'
    # the words say what the icon says, so the icon itself is decoration for screen readers
    return f'<td><img src="{escape(image.src)}" alt="" class="icon">{words}</td>'


def _value(value: IndicatorValue, unit: str) -> str:
    if value.value is None:
        return escape(value.note or "not published")
    interval = f"{value.lower:.1f} to {value.upper:.1f}" if value.lower is not None else ""
    return f"{value.value:.1f} {escape(unit)} (95% CI {interval}; {escape(value.method)})"


def _name(mf: MeasureFigures, g: GroupFigure) -> str:
    title = mf.measure.title
    return title if g.series.group == ALL else f"{title}: {g.series.group}"


def _summary(figures: Sequence[MeasureFigures]) -> str:
    rows = []
    for mf in figures:
        for g in mf.groups:
            rows.append(
                "<tr>"
                f'<th scope="row">{escape(_name(mf, g))}</th>'
                f"<td>{escape(month_label(g.series.periods[-1]))}</td>"
                f"<td>{_value(g.latest, mf.measure.kind.unit)}</td>"
                f"{_icon_cell(g.variation, g.spc.variation)}"
                f"{_icon_cell(g.assurance, g.spc.assurance)}"
                "</tr>"
            )
    return (
        "<table><caption>Latest month, variation and assurance for each measure</caption>"
        '<thead><tr><th scope="col">Measure</th><th scope="col">Latest month</th>'
        '<th scope="col">Value</th><th scope="col">Variation</th>'
        '<th scope="col">Assurance</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def provenance(table: ReleasedTable) -> str:
    """Where a figure's numbers come from, as a definition list."""
    checks = "; ".join(
        f"{rule} {'passed' if ok else 'failed'} ({summary})" for rule, ok, summary in table.checks
    )
    approvals = ", ".join(f"{a.person_id} ({a.voted_at})" for a in table.approvals)
    ledger = "not found" if table.ledger_index is None else f"entry {table.ledger_index}"
    items = (
        ("Release", f"<code>{escape(table.release_id)}</code>, published {table.published_at}"),
        ("File", f"<code>{escape(table.path)}</code> sha256 <code>{table.sha256}</code>"),
        ("Published as", escape(table.published_as.replace("_", " "))),
        ("Disclosure checks", f"{escape(table.profile)} profile: {escape(checks)}"),
        ("Approved by", escape(approvals)),
        ("Ledger", escape(ledger)),
    )
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="provenance">{body}</dl>'


def _group_section(mf: MeasureFigures, g: GroupFigure) -> str:
    return (
        f"<h4>{escape(mf.measure.title if g.series.group == ALL else g.series.group)}</h4>"
        f"<figure>{_img(g.chart)}<figcaption>{escape(g.chart.alt)}</figcaption></figure>"
    )


def _comparison_table(mf: MeasureFigures, c: Comparison) -> str:
    values = dict(c.values)
    rows = "".join(
        f'<tr><th scope="row">{escape(o.label)}</th><td>{o.numerator:,.0f}</td>'
        f"<td>{o.denominator:,.0f}</td><td>{_value(values[o.label], mf.measure.kind.unit)}</td>"
        f"<td>{escape(o.significance)}</td></tr>"
        for o in c.funnel_result.organisations
    )
    unit = escape(mf.measure.kind.unit)
    count, base = (escape(col) for col in mf.measure.kind.columns)
    period = escape(period_label(mf.measure, c.period))
    return (
        f"<table><caption>{escape(mf.measure.title)}, {period}: "
        f"each group against the average of {c.funnel_result.baseline:.1f} {unit}</caption>"
        f'<thead><tr><th scope="col">{escape(mf.measure.group_column or "Group")}</th>'
        f'<th scope="col">{count}</th><th scope="col">{base}</th>'
        f'<th scope="col">Value ({unit})</th><th scope="col">Against the funnel</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _comparison_section(mf: MeasureFigures, c: Comparison) -> list[str]:
    parts = [
        "<h3>Comparison between groups</h3>",
        f"<figure>{_img(c.intervals)}<figcaption>{escape(c.intervals.alt)}</figcaption></figure>",
        f"<figure>{_img(c.funnel)}<figcaption>{escape(c.funnel.alt)}</figcaption></figure>",
        _comparison_table(mf, c),
    ]
    if c.left_out:
        parts.append(
            f"<p>Not shown, suppressed by the output checkers in this period: "
            f"{escape(', '.join(c.left_out))}.</p>"
        )
    return parts


def _measure_section(mf: MeasureFigures, index: int) -> str:
    parts = [f'<section class="card" aria-labelledby="m{index}"><h2 id="m{index}">',
             f"{escape(mf.measure.title)}</h2>"]  # fmt: skip
    if mf.measure.suppressed_rows:
        parts.append(
            f"<p>{mf.measure.suppressed_rows} row(s) were suppressed by the output checkers: "
            "they are gaps in the charts, never zeros.</p>"
        )
    if mf.comparison is not None:
        parts += _comparison_section(mf, mf.comparison)
    if mf.groups:
        parts.append("<h3>Statistical process control charts</h3>")
        parts += [_group_section(mf, g) for g in mf.groups]
    parts += ["<h3>Where these figures come from</h3>", provenance(mf.measure.table), "</section>"]
    return "".join(parts)


def _planning_section(section: Section, index: int) -> str:
    unique = {t.path: t for t in section.tables}.values()
    sources = "".join(f"<h4>{escape(t.path)}</h4>{provenance(t)}" for t in unique)
    return (
        f'<section class="card" aria-labelledby="p{index}"><h2 id="p{index}">'
        f"{escape(section.title)}</h2>{''.join(section.parts)}"
        f"<h3>Where these figures come from</h3>{sources}</section>"
    )


def render_page(
    project_id: str,
    figures: Sequence[MeasureFigures],
    other_tables: Sequence[ReleasedTable],
    built_at: str,
    sections: Sequence[Section] = (),
) -> str:
    """The whole page as a string."""
    releases = (
        {mf.measure.table.release_id for mf in figures}
        | {t.release_id for t in other_tables}
        | {t.release_id for s in sections for t in s.tables}
    )
    others = "".join(
        f"<li><code>{escape(t.path)}</code> (release <code>{escape(t.release_id)}</code>)</li>"
        for t in other_tables
    )
    other_note = (
        "<h2>Other released tables</h2><p>Not monthly measures, so not charted:</p>"
        f"<ul>{others}</ul>"
        if others
        else ""
    )
    sections_html = "".join(_measure_section(mf, i) for i, mf in enumerate(figures))
    sections_html += "".join(_planning_section(s, i) for i, s in enumerate(sections))
    charted = any(mf.groups for mf in figures)
    summary = _summary(figures) if charted else "<p>No monthly measures have been released.</p>"
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(project_id)}: dashboard of released outputs</title>"
        f"<style>{STYLESHEET}</style></head><body>"
        '<a class="skip-link" href="#maincontent">Skip to main content</a>'
        '<header class="header"><div class="width"><p>fivesafes released outputs</p></div></header>'
        '<main id="maincontent" class="width">'
        f"<h1>{escape(project_id)}</h1>"
        f'<p class="lede">Built {escape(built_at)} from {len(releases)} signed, verified '
        "release(s) only: nothing here was read from the data store.</p>"
        "<h2>Summary for boards</h2>"
        f"{summary}{sections_html}{other_note}</main>"
        '<footer><div class="width"><p>Charts follow the NHS Making Data Count method. '
        "Each release was checked for disclosure risk and approved by two output checkers."
        "</p></div></footer></body></html>"
    )
