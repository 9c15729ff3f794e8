"""Health and social care together: what happened after discharge from hospital.

Drawn from the released counts of a discharge study (``examples/discharge-to-social-care``):

* ``discharge_outcomes.csv`` (``period, discharged,
  social_care_within_28_days, readmitted_within_30_days``) and
  ``discharge_outcomes_by_<group>.csv`` (the same by a group): each outcome as a percentage
  of the people discharged, with Wilson 95% limits; readmissions may come in a table of their
  own, ``discharge_readmissions.csv`` (``period, discharged, readmitted_within_30_days``),
  released apart because they are few;
* ``days_to_first_service.csv`` (``days_to_first_service, people``): how long people waited.

A suppressed count leaves its group's outcome "not published".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import Section, count, period, table_html, write_figure
from fivesafes.stats import proportion
from fivesafes.stats.plot_planning import plot_counts, plot_proportions

OUTCOMES = {
    "social_care_within_28_days": "Social care service within 28 days",
    "readmitted_within_30_days": "Readmitted within 30 days",
}


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
    grouped = [t for s, t in sorted(tables.items()) if s.startswith("discharge_outcomes_by_")]
    used = [overall, *grouped]
    groups = _rows(overall, None)
    readmissions = tables.get("discharge_readmissions")
    if readmissions is not None and readmissions.rows:
        used.append(readmissions)
        (row,) = readmissions.rows[:1]
        groups[0][1]["readmitted_within_30_days"] = count(row.get("readmitted_within_30_days"))
    for table in grouped:
        groups += _rows(table, next(iter(table.rows[0])))
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
            facts.append((f"{words}: {name}", f"{v.value:.1f}%", f"{v.lower:.1f} to {v.upper:.1f}"))
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
    return Section(
        "discharge",
        "Health and social care: after discharge from hospital",
        parts,
        tuple(used),
        tuple(figures),
    )
