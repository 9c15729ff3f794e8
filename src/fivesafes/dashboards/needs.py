"""Local needs: the area profile (standardised rates against England, the spine chart, similar
areas) and inequality across deprivation deciles (the slope and relative indices).

Drawn from released counts only:

* ``profile_<area>.csv`` — ``<area>, age_band, population`` and one count column per indicator;
  ``profile_england.csv`` the same for England (without it, England is the sum of the areas when
  none of their counts was suppressed); ``deprivation_<area>.csv`` — ``<area>,
  most_deprived_40, population`` (for similar areas: the share living in IMD deciles 1-4).
  Each area's indicator is directly standardised to the European Standard Population 2013
  collapsed to the released age bands (Dobson limits);
* ``inequality_imd_decile.csv`` — ``imd_decile, population`` and one count column per indicator:
  each decile's percentage with Wilson limits, and the SII/RII across them.

An area or decile with a suppressed count is "not published": its value is never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import Section, count, number, table_html, write_figure
from fivesafes.stats import IndicatorValue, dsr, proportion, sii
from fivesafes.stats.area_profile import Polarity, area_profile
from fivesafes.stats.indicators import Interval, esp2013_weights
from fivesafes.stats.plot_planning import plot_inequality, plot_spine

PER = 100_000
LABELS = ("age_band", "population", "imd_decile", "imd_quintile")


def indicator_words(column: str) -> str:
    return column.replace("_", " ")[:1].upper() + column.replace("_", " ")[1:]


def _unpublished(why: str) -> IndicatorValue:
    return IndicatorValue(
        f"dsr per {PER:g}", 0, 0, None, (Interval(0.95, None, None),), "Dobson", PER, note=why
    )


def _standardised(rows: list[dict[str, str]], indicator: str) -> IndicatorValue:
    """The DSR of ``indicator`` from one area's rows (one per age band)."""
    counts = [count(r[indicator]) for r in rows]
    pops = [count(r["population"]) for r in rows]
    if any(c is None for c in counts) or any(not p for p in pops):
        return _unpublished("not published: a count was suppressed")
    weights = esp2013_weights([r["age_band"] for r in rows])
    return dsr([c or 0.0 for c in counts], [p or 0.0 for p in pops], weights, multiplier=PER)


def profile_section(
    tables: Mapping[str, ReleasedTable],
    out: Path,
    local_area: str | None,
    polarity: Mapping[str, Polarity],
) -> Section | None:
    """The area profile, when a ``profile_<area>`` table was released."""
    stem = next(
        (s for s in sorted(tables) if s.startswith("profile_") and s != "profile_england"), None
    )
    if stem is None or not tables[stem].rows:
        return None
    table = tables[stem]
    area_col = next(iter(table.rows[0]))
    indicators = [c for c in table.rows[0] if c not in (area_col, *LABELS)]
    areas: dict[str, list[dict[str, str]]] = {}
    for row in table.rows:
        areas.setdefault(row[area_col], []).append(row)
    values = {i: {a: _standardised(rows, i) for a, rows in areas.items()} for i in indicators}
    used = [table]
    england_table = tables.get("profile_england")
    if england_table is not None:
        used.append(england_table)
        england = {i: _standardised(list(england_table.rows), i) for i in indicators}
    else:
        england = {i: _england_from_areas(areas, i) for i in indicators}
    local = local_area if local_area in areas else sorted(areas)[0]
    features = _features(areas, tables.get(f"deprivation_{area_col}"), used)
    profile = area_profile(
        values, england, local, polarity=dict(polarity), features=features or None, neighbours=3
    )
    spine = write_figure(plot_spine(profile), out, f"profile-{local}-spine")
    rows = [
        (
            f"{r.area}: {indicator_words(r.indicator)}",
            number(r.value),
            "" if r.lower is None else f"{r.lower:,.1f} to {r.upper:,.1f}",
            number(r.england),
            r.verdict,
        )
        for r in profile.rows
    ]
    similar = (
        f"<p>Areas most like {local} in age structure and deprivation: "
        + ", ".join(f"{a} (distance {d:.2f})" for a, d in profile.similar)
        + ".</p>"
        if profile.similar
        else ""
    )
    parts = (
        f"<p>Directly standardised rates per {PER:,} (European Standard Population 2013, "
        f"collapsed to the released age bands) by {area_col}, each against England: an area is "
        "better or worse when its 95% confidence interval lies wholly on one side of the "
        "England value.</p>",
        spine.html(),
        similar,
        table_html(
            f"Each {area_col}'s standardised rates against England",
            (
                f"{area_col.capitalize()}: indicator",
                f"Rate per {PER:,}",
                "95% CI",
                "England",
                "Against England",
            ),
            rows,
        ),
    )
    return Section("profile", "Local needs: the area profile", parts, tuple(used), (spine,))


def _england_from_areas(areas: dict[str, list[dict[str, str]]], indicator: str) -> IndicatorValue:
    bands: dict[str, list[float | None]] = {}
    pops: dict[str, list[float | None]] = {}
    for rows in areas.values():
        for r in rows:
            bands.setdefault(r["age_band"], []).append(count(r[indicator]))
            pops.setdefault(r["age_band"], []).append(count(r["population"]))
    if any(v is None for vs in bands.values() for v in vs):
        return _unpublished("England not published: an area's count was suppressed")
    names = sorted(bands)
    return dsr(
        [sum(v or 0 for v in bands[b]) for b in names],
        [sum(v or 0 for v in pops[b]) for b in names],
        esp2013_weights(names),
        multiplier=PER,
    )


def _features(
    areas: dict[str, list[dict[str, str]]],
    deprivation: ReleasedTable | None,
    used: list[ReleasedTable],
) -> dict[str, list[float]]:
    """Each area's share aged 65 and over (when the age bands allow) and, when released in
    full, its share living in the most deprived 40% of areas (IMD deciles 1 to 4)."""
    features: dict[str, list[float]] = {}
    for area, rows in areas.items():
        pops = {r["age_band"]: count(r["population"]) or 0.0 for r in rows}
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
