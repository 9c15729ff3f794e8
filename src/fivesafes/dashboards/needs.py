"""Local needs: the area profile (standardised rates against England, the spine chart, similar
areas) at the level of region, ICB, Sub ICB Location or local authority, inequality across
deprivation deciles (the slope and relative indices), and indicators by ethnic group or
deprivation quintile.

Drawn from released counts only:

* ``profile_<area>.csv`` — ``<area>, age_band, population`` and one count column per indicator,
  ``<area>`` one of ``region``, ``icb_code``, ``sub_icb_code``, ``local_authority_code``;
  ``profile_england.csv`` the same for England (without it, England is the sum of the areas when
  none of their counts was suppressed); ``deprivation_<area>.csv`` — ``<area>,
  most_deprived_40, population`` (for similar areas: the share living in IMD deciles 1-4).
  Each area's indicator is directly standardised to the European Standard Population 2013
  collapsed to the released age bands (Dobson limits);
* ``inequality_imd_decile.csv`` — ``imd_decile, population`` and one count column per indicator:
  each decile's percentage with Wilson limits, and the SII/RII across them;
* ``breakdown_<by>.csv`` — ``<by>, population`` (optionally ``age_band``) and one count column
  per indicator, ``<by>`` such as ``ethnic_group`` or ``imd_quintile``: each group's percentage
  with Wilson limits (or, by age band, its DSR with Dobson limits).

An area or decile with a suppressed count is "not published": its value is never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import (
    Figured,
    Section,
    count,
    number,
    table_html,
    write_figure,
)
from fivesafes.model.codes import ETHNIC_GROUP_ORDER
from fivesafes.model.lookups import area_names
from fivesafes.stats import breakdown, proportion, sii
from fivesafes.stats.area_profile import AREA_LEVELS, LEVEL_WORDS, Polarity, profile_at_level
from fivesafes.stats.plot_planning import plot_breakdown, plot_inequality, plot_spine

PER = 100_000
LABELS = ("age_band", "population", "imd_decile", "imd_quintile")


def indicator_words(column: str) -> str:
    return column.replace("_", " ")[:1].upper() + column.replace("_", " ")[1:]


def _counts(rows: Sequence[Mapping[str, str]], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Released rows with their counts read (None where suppressed), labels kept as text."""
    return [{k: (v if k in labels else count(v)) for k, v in r.items()} for r in rows]


def named(area: str) -> str:
    """An area as a reader knows it: its name and ONS code (a region is its own name)."""
    name = area_names().get(area)
    return area if name is None else f"{name} ({area})"


def profile_section(
    tables: Mapping[str, ReleasedTable],
    out: Path,
    local_area: str | None,
    polarity: Mapping[str, Polarity],
) -> Section | None:
    """The area profile, when a ``profile_<area>`` table was released: at the level its area
    column names (region, ICB, Sub ICB Location or local authority; see ``AREA_LEVELS``)."""
    stem = next(
        (s for s in sorted(tables) if s.startswith("profile_") and s != "profile_england"), None
    )
    if stem is None or not tables[stem].rows:
        return None
    table = tables[stem]
    area_col = next(iter(table.rows[0]))
    level = next((k for k, c in AREA_LEVELS.items() if c == area_col), None)
    if level is None:
        return None
    indicators = [c for c in table.rows[0] if c not in (area_col, *LABELS)]
    rows = _counts(table.rows, (area_col, "age_band"))
    areas: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        areas.setdefault(row[area_col], []).append(row)
    used = [table]
    england_table = tables.get("profile_england")
    england_rows = None
    if england_table is not None:
        used.append(england_table)
        england_rows = _counts(england_table.rows, ("age_band",))
    features = _features(areas, tables.get(f"deprivation_{area_col}"), used)
    profile = profile_at_level(
        rows,
        level,
        indicators,
        local_area,
        england_rows=england_rows,
        polarity=dict(polarity),
        features=features or None,
        neighbours=3,
        multiplier=PER,
    )
    local = profile.local_area
    words = LEVEL_WORDS[level]
    # an empty spine (no indicator with England's value and an area's) is said, not drawn
    spines: tuple[Figured, ...] = ()
    if profile.spine:
        chart = plot_spine(profile, title=f"{named(local)} compared with England")
        spines = (write_figure(chart, out, f"profile-{local}-spine"),)
    table_rows = [
        (
            f"{named(r.area)}: {indicator_words(r.indicator)}",
            number(r.value),
            "" if r.lower is None else f"{r.lower:,.1f} to {r.upper:,.1f}",
            number(r.england),
            r.verdict,
        )
        for r in profile.rows
    ]
    similar = (
        f"<p>Areas most like {named(local)} in age structure and deprivation: "
        + ", ".join(f"{named(a)} (distance {d:.2f})" for a, d in profile.similar)
        + ".</p>"
        if profile.similar
        else ""
    )
    parts = (
        f"<p>Directly standardised rates per {PER:,} (European Standard Population 2013, "
        f"collapsed to the released age bands) by {words}, each against England: an area is "
        "better or worse when its 95% confidence interval lies wholly on one side of the "
        "England value.</p>",
        *(spine.html() for spine in spines),
        ""
        if spines
        else f"<p>No spine chart for {named(local)}: no indicator has both a published "
        "England value and a published value for an area.</p>",
        similar,
        table_html(
            f"Each {words}'s standardised rates against England",
            (
                f"{words[:1].upper()}{words[1:]}: indicator",
                f"Rate per {PER:,}",
                "95% CI",
                "England",
                "Against England",
            ),
            table_rows,
        ),
    )
    return Section("profile", "Local needs: the area profile", parts, tuple(used), spines)


def _features(
    areas: dict[str, list[dict[str, Any]]],
    deprivation: ReleasedTable | None,
    used: list[ReleasedTable],
) -> dict[str, list[float]]:
    """Each area's share aged 65 and over (when the age bands allow) and, when released in
    full, its share living in the most deprived 40% of areas (IMD deciles 1 to 4)."""
    features: dict[str, list[float]] = {}
    for area, rows in areas.items():
        pops = {r["age_band"]: r["population"] or 0.0 for r in rows}
        total = sum(pops.values()) or 1.0
        older = sum(p for b, p in pops.items() if int(b.replace("+", "-").split("-")[0]) >= 65)
        features[area] = [older / total] if len(pops) > 1 else []
    if deprivation is not None and deprivation.rows:
        area_col = next(iter(deprivation.rows[0]))
        shares = {
            r[area_col]: (count(r["most_deprived_40"]), count(r["population"]))
            for r in deprivation.rows
        }
        complete = all(d is not None and p for d, p in shares.values())
        if complete and set(shares) >= set(features):
            used.append(deprivation)
            for area in features:
                deprived, people = shares[area]
                features[area].append((deprived or 0.0) / (people or 1.0))
    return {a: f for a, f in features.items() if f} if any(features.values()) else {}


def inequality_section(tables: Mapping[str, ReleasedTable], out: Path) -> Section | None:
    """The SII and RII of each indicator across IMD deciles."""
    table = tables.get("inequality_imd_decile")
    if table is None or not table.rows:
        return None
    rows = sorted(table.rows, key=lambda r: int(r["imd_decile"]))
    indicators = [c for c in rows[0] if c not in LABELS]
    parts: list[str] = [
        "<p>Each indicator as a percentage of the population of each IMD decile (1 = most "
        "deprived), with the slope index of inequality (the gap, in percentage points, between "
        "the least and most deprived ends of the population-weighted line) and the relative "
        "index (their ratio), with 95% limits simulated as PHEindicatormethods does.</p>"
    ]
    figures = []
    summary = []
    for indicator in indicators:
        counts = [count(r[indicator]) for r in rows]
        pops = [count(r["population"]) for r in rows]
        words = indicator_words(indicator)
        hidden = [r["imd_decile"] for r, c in zip(rows, counts, strict=True) if c is None]
        if hidden or any(not p for p in pops) or any(c == 0 for c in counts):
            summary.append(
                (
                    words,
                    "not calculated",
                    "",
                    "",
                    f"decile(s) {', '.join(hidden)} suppressed"
                    if hidden
                    else "a decile has no events",
                )
            )
            continue
        values = [proportion(c or 0, p or 1) for c, p in zip(counts, pops, strict=True)]
        index = sii(
            [v.value or 0 for v in values],
            [p or 0 for p in pops],
            lower_cl=[v.lower or 0 for v in values],
            upper_cl=[v.upper or 0 for v in values],
            value_type="proportion",
            multiplier=100,
        )
        fig = plot_inequality(
            [100 * (v.value or 0) for v in values],
            [p or 0 for p in pops],
            index,
            title=f"{words} by deprivation",
            y_label="%",
        )
        figures.append(write_figure(fig, out, f"inequality-{indicator}"))
        iv = index.intervals[0]
        summary.append(
            (
                words,
                f"{index.sii:.2f}",
                f"{iv.sii_lower:.2f} to {iv.sii_upper:.2f}",
                f"{index.rii:.2f}",
                "",
            )
        )
    parts += [f.html() for f in figures]
    parts.append(
        table_html(
            "Slope and relative indices of inequality across IMD deciles",
            ("Indicator", "SII (percentage points)", "95% CI", "RII", "Note"),
            summary,
        )
    )
    return Section(
        "inequality",
        "Local needs: inequality by deprivation",
        tuple(parts),
        (table,),
        tuple(figures),
    )


BREAKDOWN_ORDERS: dict[str, tuple[str, ...]] = {"ethnic_group": ETHNIC_GROUP_ORDER}
"""The order groups are shown in, where it is not simply by name (quintiles sort as text)."""
BREAKDOWN_WORDS = {"ethnic_group": "ethnic group", "imd_quintile": "deprivation quintile"}


def breakdown_sections(tables: Mapping[str, ReleasedTable], out: Path) -> list[Section]:
    """One section per released ``breakdown_<by>`` table (``<by>, population`` and a count
    per indicator, optionally by ``age_band``): each indicator by group with 95% limits."""
    sections = []
    for stem in sorted(s for s in tables if s.startswith("breakdown_")):
        table = tables[stem]
        if not table.rows:
            continue
        by = stem.removeprefix("breakdown_")
        if by not in table.rows[0]:
            continue
        words = BREAKDOWN_WORDS.get(by, by.replace("_", " "))
        indicators = [c for c in table.rows[0] if c not in (by, *LABELS)]
        rows = _counts(table.rows, (by, "age_band"))
        by_age = "age_band" in table.rows[0]
        figures = []
        summary = []
        for indicator in indicators:
            result = breakdown(rows, by, indicator, order=BREAKDOWN_ORDERS.get(by))
            name = indicator_words(indicator)
            figures.append(
                write_figure(
                    plot_breakdown(result, title=f"{name} by {words}"), out, f"{stem}-{indicator}"
                )
            )
            for g in (*result.groups, result.total):
                v = g.value
                summary.append(
                    (
                        f"{name}: {g.group}",
                        number(g.population),
                        number(v.value),
                        "" if v.lower is None else f"{v.lower:.1f} to {v.upper:.1f}",
                        v.note or "",
                    )
                )
        method = (
            "directly standardised to the European Standard Population 2013 collapsed to the "
            "released age bands (Dobson limits)"
            if by_age
            else "a percentage of the group's population (Wilson limits)"
        )
        parts = (
            f"<p>Each indicator by {words}, {method}, with 95% confidence intervals; a group "
            "whose count was suppressed is not published, and then neither is the total.</p>",
            *(f.html() for f in figures),
            table_html(
                f"Each indicator by {words}",
                ("Indicator: group", "Population", "%", "95% CI", "Note"),
                summary,
            ),
        )
        title = f"Local needs: by {words}"
        sections.append(Section(stem, title, parts, (table,), tuple(figures)))
    return sections
