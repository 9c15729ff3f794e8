"""Health and social care together: what happened after discharge from hospital.

Drawn from the released counts of a discharge study (``examples/discharge-to-social-care``):

* ``discharge_outcomes.csv`` (``period, discharged,
  social_care_within_28_days, readmitted_within_30_days``) and
  ``discharge_outcomes_by_<group>.csv`` (the same by a group): each outcome as a percentage
  of the people discharged, with Wilson 95% limits; readmissions may come in a table of their
  own, ``discharge_readmissions.csv`` (``period, discharged, readmitted_within_30_days``),
  released apart because they are few;
* ``days_to_first_service.csv`` (``days_to_first_service, people``): how long people waited.

A suppressed count leaves its group's outcome "not published". Areas (``local_authority_code``)
are too many for bars side by side: their outcomes get a table of their own, with the counts,
and a funnel plot, which is how a commissioner compares councils whose numbers of people
differ tenfold (a small council's high share may be chance; the funnel's limits say when not).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import (
    Figured,
    Section,
    count,
    number,
    period,
    table_html,
    write_figure,
)
from fivesafes.stats import proportion
from fivesafes.stats.funnel import proportion_funnel
from fivesafes.stats.indicators import IndicatorValue
from fivesafes.stats.plot_planning import plot_counts, plot_proportions
from fivesafes.stats.plotting import plot_funnel

OUTCOMES = {
    "social_care_within_28_days": "Social care service within 28 days",
    "readmitted_within_30_days": "Readmitted within 30 days",
}
AREAS = {"local_authority_code": "Local authority"}
"""Group columns naming areas: shown as a table and a funnel, not as bars."""


def _rows(table: ReleasedTable, group: str | None) -> list[tuple[str, dict[str, float | None]]]:
    return [
        (r[group] if group else "All", {c: count(r.get(c)) for c in ("discharged", *OUTCOMES)})
        for r in table.rows
    ]


def discharge_section(tables: Mapping[str, ReleasedTable], out: Path) -> Section | None:
    """Outcomes after discharge, in all and by any group released."""
    overall = tables.get("discharge_outcomes")
    if overall is None or not overall.rows:
        return None
    grouped: list[ReleasedTable] = []
    areas: list[ReleasedTable] = []
    for stem, table in sorted(tables.items()):
        if stem.startswith("discharge_outcomes_by_") and table.rows:
            (areas if _group(table) in AREAS else grouped).append(table)
    used = [overall, *grouped, *areas]
    groups = _rows(overall, None)
    readmissions = tables.get("discharge_readmissions")
    if readmissions is not None and readmissions.rows:
        used.append(readmissions)
        (row,) = readmissions.rows[:1]
        groups[0][1]["readmitted_within_30_days"] = count(row.get("readmitted_within_30_days"))
    for table in grouped:
        groups += _rows(table, _group(table))
    figures, facts = [], []
    for column, words in OUTCOMES.items():
        shown = []
        for name, counts in groups:
            n, d = counts[column], counts["discharged"]
            if n is None or not d:
                facts.append((f"{words}: {name}", "not published", ""))
                continue
            v = proportion(n, d, multiplier=100)
            shown.append((name, v.value or 0.0, v.lower or 0.0, v.upper or 0.0))
            facts.append((f"{words}: {name}", *_share(v)))
        if shown:
            figures.append(
                write_figure(plot_proportions(shown, title=words), out, f"discharge-{column}")
            )
    days = tables.get("days_to_first_service")
    if days is not None and days.rows:
        used.append(days)
        published = [(r["days_to_first_service"], count(r["people"])) for r in days.rows]
        order = {"0-7": 0, "8-28": 1, "over 28": 2, "no service": 3}
        bars = sorted(
            ((c, n) for c, n in published if n is not None), key=lambda item: order.get(item[0], 9)
        )
        if bars:
            figures.append(
                write_figure(
                    plot_counts(
                        bars,
                        title="Days from discharge to the first social care service",
                        y_label="people",
                    ),
                    out,
                    "discharge-days",
                )
            )
    start, end = period(overall.rows[0]["period"])
    parts = (
        f"<p>People aged 65 and over discharged from hospital between {start} and {end}, "
        "followed "
        "into their local authority's adult social care records through the pseudonym (no NHS "
        "number is used or held).</p>",
        table_html("Outcomes after discharge", ("Outcome: group", "Percentage", "95% CI"), facts),
        *(f.html() for f in figures),
    )
    for table in areas:
        html, funnel = _areas(table, out)
        parts += (html, *(f.html() for f in funnel))
        figures += funnel
    return Section(
        "discharge",
        "Health and social care: after discharge from hospital",
        parts,
        tuple(used),
        tuple(figures),
    )


def _share(v: IndicatorValue) -> tuple[str, str]:
    """A percentage and its limits as the tables show them."""
    return f"{v.value:.1f}%", f"{v.lower:.1f} to {v.upper:.1f}"


def _group(table: ReleasedTable) -> str:
    return next(iter(table.rows[0]))


def _areas(table: ReleasedTable, out: Path) -> tuple[str, list[Figured]]:
    """One area group's table (people discharged, those with a service within 28 days, the
    share with its Wilson limits) and, when at least two areas' counts are published and some
    person had a service, their funnel around the areas' pooled share."""
    column = _group(table)
    words, rows, shown = AREAS[column], [], []
    for name, counts in _rows(table, column):
        n, d = counts["social_care_within_28_days"], counts["discharged"]
        if n is None or not d:
            rows.append((name, number(d, 0), "not published", "not published", ""))
            continue
        v = proportion(n, d, multiplier=100)
        rows.append((name, number(d, 0), number(n, 0), *_share(v)))
        shown.append((name, n, d))
    html = table_html(
        f"Social care service within 28 days of discharge, by {words.lower()}",
        (words, "Discharged", "Service within 28 days", "Percentage", "95% CI"),
        rows,
    )
    if len(shown) < 2 or not any(n for _, n, _ in shown):
        return html, []  # no funnel to draw: its average would be nothing
    names, numerators, denominators = zip(*shown, strict=True)
    result = proportion_funnel(numerators, denominators, names, multiplier=100)
    title = f"Social care service within 28 days, by {words.lower()}"
    figure = plot_funnel(result, title=title, y_label="%", x_label="People discharged")
    return html, [write_figure(figure, out, f"discharge-{column}-funnel")]
