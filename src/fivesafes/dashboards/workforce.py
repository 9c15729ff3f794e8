"""Workforce planning, from published workforce statistics.

Workforce returns are statistics about organisations that NHS England already publishes
(*NHS Workforce Statistics*, *NHS Vacancy Statistics*, *NHS Sickness Absence Rates*); no patient
is in them, so they reach the board as published files (``--published FILE``) rather than
through the environment's release of study outputs. They are read as strictly as any input:
a file must have every column of the layout below, and a value that does not parse stops the
build with the file, line and column named.

    month, organisation_code, region, staff_group, fte, headcount, joiners, leavers,
    stable_headcount, headcount_year_ago, vacancies_fte, sickness_fte_days_lost,
    fte_days_available

Drawn: monthly p charts of turnover (leavers over average headcount), vacancy and sickness
absence rates for all staff; the stability index; FTE per 1,000 registered patients by month
(when the board pack's released ``admissions_by_month`` gives the registered population) and
by region (with the released ``profile_region`` populations, or the board pack's
``profile_icb_code`` ones summed into each ICB's region; a region with a suppressed count is
not published); and a projection of FTE needed
against demand growth from FTE in post under the last year's leaver and joiner rates, the gap
shaded.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fivesafes.dashboards.measures import month_label, period_value
from fivesafes.dashboards.released import DashboardError, ReleasedTable
from fivesafes.dashboards.sections import Section, count, table_html, write_figure
from fivesafes.model.lookups import load_icbs
from fivesafes.stats import p_chart, plot_spc, project_workforce, stability_index, xmr
from fivesafes.stats.plot_planning import plot_projection

NUMBERS = (
    "fte",
    "headcount",
    "joiners",
    "leavers",
    "stable_headcount",
    "headcount_year_ago",
    "vacancies_fte",
    "sickness_fte_days_lost",
    "fte_days_available",
)
COLUMNS = ("month", "organisation_code", "region", "staff_group", *NUMBERS)
PROJECTION_MONTHS = 36


@dataclass(frozen=True)
class PublishedFile:
    """A published statistics file: where it is, its hash, and its rows."""

    path: Path
    sha256: str
    rows: tuple[dict[str, str], ...]


def read_published(path: Path) -> PublishedFile:
    """Read and check one published workforce file, or fail naming what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DashboardError(f"{path}: cannot be read ({exc.strerror})") from None
    reader = csv.DictReader(data.decode("utf-8").splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise DashboardError(f"{path} line 1: missing column {', '.join(missing)}")
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            date.fromisoformat(row["month"])
        except ValueError:
            raise DashboardError(
                f"{path} line {line}, column month: {row['month']!r} is not a date as YYYY-MM-DD"
            ) from None
        for column in NUMBERS:
            if count(row[column]) is None:
                raise DashboardError(
                    f"{path} line {line}, column {column}: {row[column]!r} is "
                    "not a number of zero or more"
                ) from None
        rows.append(row)
    if not rows:
        raise DashboardError(f"{path}: no rows")
    return PublishedFile(path, hashlib.sha256(data).hexdigest(), tuple(rows))


def _totals(rows: Sequence[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Each month's sums over every organisation and staff group."""
    totals: dict[str, dict[str, float]] = {}
    for row in rows:
        month = totals.setdefault(row["month"], dict.fromkeys(NUMBERS, 0.0))
        for column in NUMBERS:
            month[column] += count(row[column]) or 0.0
    return dict(sorted(totals.items()))


def workforce_section(
    published: Sequence[PublishedFile],
    tables: Mapping[str, ReleasedTable],
    out: Path,
    demand_growth: float,
) -> Section | None:
    """The workforce measures of every published file, summed over organisations."""
    if not published:
        return None
    rows = [r for f in published for r in f.rows]
    totals = _totals(rows)
    months = list(totals)
    xs = [period_value(m) for m in months]
    t = list(totals.values())
    average = [(a["headcount"] + b["headcount"]) / 2 for a, b in itertools.pairwise(t)]
    figures = [
        write_figure(
            plot_spc(
                p_chart(
                    [m["leavers"] for m in t[1:]], average, xs[1:], improvement_direction="decrease"
                ),
                title="Turnover: leavers over average headcount",
                y_label="Proportion leaving a month",
                x_label="Month",
            ),
            out,
            "workforce-turnover",
        ),
        write_figure(
            plot_spc(
                p_chart(
                    [m["vacancies_fte"] for m in t],
                    [m["vacancies_fte"] + m["fte"] for m in t],
                    xs,
                    improvement_direction="decrease",
                ),
                title="Vacancy rate: vacant FTE over planned FTE",
                y_label="Proportion",
                x_label="Month",
            ),
            out,
            "workforce-vacancy",
        ),
        write_figure(
            plot_spc(
                p_chart(
                    [m["sickness_fte_days_lost"] for m in t],
                    [m["fte_days_available"] for m in t],
                    xs,
                    improvement_direction="decrease",
                ),
                title="Sickness absence: FTE days lost over FTE days available",
                y_label="Proportion",
                x_label="Month",
            ),
            out,
            "workforce-sickness",
        ),
    ]
    used: list[ReleasedTable] = []
    population = tables.get("admissions_by_month")
    if population is not None:
        registered = {r["month"]: count(r["population"]) for r in population.rows}
        per = [
            (x, m["fte"] / (registered[k] or 1) * 1000)
            for k, x, m in zip(months, xs, t, strict=True)
            if registered.get(k)
        ]
        if len(per) >= 2:
            used.append(population)
            figures.append(
                write_figure(
                    plot_spc(
                        xmr([v for _, v in per], [x for x, _ in per]),
                        title="FTE per 1,000 registered patients",
                        y_label="FTE per 1,000",
                        x_label="Month",
                    ),
                    out,
                    "workforce-per-1000",
                )
            )
    latest = t[-1]
    last_year = t[-12:]
    leaver_rate = sum(m["leavers"] for m in last_year) / (
        sum(m["headcount"] for m in last_year) / len(last_year)
    )
    fte_per_head = latest["fte"] / latest["headcount"]
    joiners = sum(m["joiners"] for m in last_year) / len(last_year) * fte_per_head
    projection = project_workforce(
        latest["fte"],
        PROJECTION_MONTHS,
        demand_growth=demand_growth,
        leaver_rate=min(leaver_rate, 0.99),
        joiners_per_month=joiners,
        fte_needed_now=latest["fte"] + latest["vacancies_fte"],
    )
    figures.append(
        write_figure(
            plot_projection(
                projection, month_label(months[-1]), title="FTE needed against FTE projected"
            ),
            out,
            "workforce-projection",
        )
    )
    stability = stability_index(latest["stable_headcount"], latest["headcount_year_ago"])
    regional = _by_region(rows, months[-1], tables, used)
    facts = [
        ("Staff in post (FTE)", f"{latest['fte']:,.1f}"),
        ("Headcount", f"{latest['headcount']:,.0f}"),
        ("Turnover in the last 12 months", f"{100 * leaver_rate:.1f}%"),
        (
            "Stability index",
            f"{stability.value:.1f}% (95% CI {stability.lower:.1f} to {stability.upper:.1f})",
        ),
        (
            "Vacancy rate",
            f"{100 * latest['vacancies_fte'] / (latest['fte'] + latest['vacancies_fte']):.1f}%",
        ),
        (
            "Sickness absence rate",
            f"{100 * latest['sickness_fte_days_lost'] / latest['fte_days_available']:.1f}%",
        ),
        (
            f"Gap in {PROJECTION_MONTHS} months at {demand_growth:.0%} demand growth a year",
            f"{projection.final_gap:,.1f} FTE",
        ),
    ]
    sources = "".join(
        f"<li><code>{f.path.name}</code> sha256 <code>{f.sha256}</code> ({len(f.rows):,} rows)</li>"
        for f in published
    )
    parts = (
        f"<p>Published workforce statistics for {month_label(months[0])} to "
        f"{month_label(months[-1])}, all organisations and staff groups together. They are "
        "statistics about organisations, already public, so they come from these files, not "
        f"from a release of study outputs:</p><ul>{sources}</ul>",
        table_html(f"The workforce in {month_label(months[-1])}", ("Measure", "Value"), facts),
        regional,
        *(f.html() for f in figures),
    )
    return Section("workforce", "Workforce planning", parts, tuple(used), tuple(figures))


def _registered_by_region(
    tables: Mapping[str, ReleasedTable], used: list[ReleasedTable]
) -> dict[str, float | None]:
    """Registered patients by region from the released profile: by region, or by ICB summed
    into each ICB's region (every ICB lies in one region); a region with a suppressed count
    is None, never guessed. Empty when neither profile was released."""
    by_region = tables.get("profile_region")
    profile = by_region or tables.get("profile_icb_code")
    if profile is None:
        return {}
    used.append(profile)
    icbs = load_icbs()
    region_of = dict(zip(icbs["icb_code"].to_pylist(), icbs["region"].to_pylist(), strict=True))
    people: dict[str, float | None] = {}
    for r in profile.rows:
        if by_region is not None:
            region = r["region"]
        elif r["icb_code"] in region_of:
            region = region_of[r["icb_code"]]
        else:
            raise DashboardError(f"{profile.stem}: {r['icb_code']!r} is not an ICB code")
        n, so_far = count(r["population"]), people.get(region, 0.0)
        people[region] = None if n is None or so_far is None else so_far + n
    return people


def _by_region(
    rows: Sequence[dict[str, str]],
    month: str,
    tables: Mapping[str, ReleasedTable],
    used: list[ReleasedTable],
) -> str:
    """FTE per 1,000 registered patients by region in ``month``, from the released profile's
    populations; empty without them."""
    people = _registered_by_region(tables, used)
    if not people:
        return ""
    fte: dict[str, float] = {}
    for r in rows:
        if r["month"] == month:
            fte[r["region"]] = fte.get(r["region"], 0.0) + (count(r["fte"]) or 0.0)
    shown = []
    for region in sorted(people):
        registered = people[region]
        if registered is None:
            shown.append((region, f"{fte.get(region, 0.0):,.1f}", "not published", "not published"))
        elif registered:
            per = fte.get(region, 0.0) / registered * 1000
            shown.append(
                (region, f"{fte.get(region, 0.0):,.1f}", f"{registered:,.0f}", f"{per:.1f}")
            )
    return table_html(
        f"FTE per 1,000 registered patients by region, {month_label(month)}",
        ("Region", "FTE", "Registered patients", "FTE per 1,000"),
        shown,
    )
