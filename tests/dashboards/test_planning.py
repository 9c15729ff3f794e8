"""The decision-maker sections draw only what released counts allow, compute what the stats
stage computes from them, and never guess a suppressed count.

Tables are built here as the release stage hands them to the dashboard (``ReleasedTable`` rows
of text, ``[REDACTED]`` where the checker hid a count); the release path itself is exercised by
``test_dashboard.py`` and ``make demo``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from accessibility import audit
from chromium import SHOTS, chromium, drawn_images, open_page

from fivesafes.dashboards.capacity import occupancy_section, waiting_list_section
from fivesafes.dashboards.evaluation import change_sections, funnel_section, safety_section
from fivesafes.dashboards.needs import breakdown_sections, inequality_section, profile_section
from fivesafes.dashboards.page import render_page
from fivesafes.dashboards.released import ReleasedTable
from fivesafes.stats import dsr, interrupted_time_series, proportion, sii
from fivesafes.stats.bed_occupancy import DAYS, SEASONS
from fivesafes.stats.indicators import esp2013_weights

REDACTED = "[REDACTED]"


def table(name: str, rows: list[dict[str, object]]) -> ReleasedTable:
    text_rows = tuple({k: str(v) for k, v in r.items()} for r in rows)
    return ReleasedTable(
        "rel-1",
        f"output/{name}.csv",
        "0" * 64,
        "as_written",
        "2026-01-01T00:00:00Z",
        "ana",
        "ons",
        (("small_numbers", True, "ok"),),
        (),
        7,
        text_rows,
    )


AREAS = {"North": (45, 60), "South": (12, 25), "East": (20, 30), "West": (25, 35)}


def profile_tables(suppress: bool = False) -> dict[str, ReleasedTable]:
    rows = []
    for area, (young, old) in AREAS.items():
        for band, n, pop in (("0-64", young, 2000), ("65+", old, 400)):
            hidden = suppress and area == "South" and band == "0-64"
            rows.append(
                {
                    "region": area,
                    "age_band": band,
                    "population": pop,
                    "diabetes": REDACTED if hidden else n,
                }
            )
    england = [
        {"age_band": "0-64", "population": 8000, "diabetes": 102},
        {"age_band": "65+", "population": 1600, "diabetes": 150},
    ]
    deprivation = [
        {"region": a, "most_deprived_40": 480 + 100 * k, "population": 2400}
        for k, a in enumerate(AREAS)
    ]
    return {
        "profile_region": table("profile_region", rows),
        "profile_england": table("profile_england", england),
        "deprivation_region": table("deprivation_region", deprivation),
    }


def test_profile_standardises_each_area_against_england(tmp_path: Path) -> None:
    section = profile_section(profile_tables(), tmp_path, "North", {"diabetes": "low_is_good"})
    assert section is not None
    html = "".join(section.parts)
    weights = esp2013_weights(["0-64", "65+"])
    north = dsr([45, 60], [2000, 400], weights)
    england = dsr([102, 150], [8000, 1600], weights)
    assert f"{north.value:,.1f}" in html and f"{england.value:,.1f}" in html
    assert "North: Diabetes" in html and "Worse" in html  # North's interval is above England's
    (spine,) = section.figures
    assert (tmp_path / spine.src).is_file() and "North" in spine.alt
    assert "Areas most like North" in html
    assert {t.stem for t in section.tables} == {
        "profile_region",
        "profile_england",
        "deprivation_region",
    }


def test_a_suppressed_band_leaves_the_area_unpublished(tmp_path: Path) -> None:
    tables = profile_tables(suppress=True)
    del tables["profile_england"]  # England must then come from the areas, which it cannot
    section = profile_section(tables, tmp_path, "North", {})
    assert section is not None
    html = "".join(section.parts)
    assert "South: Diabetes</th><td>not published" in html
    assert "Not compared" in html  # no England value without every area's counts
    # nothing to draw a spine from: said in words, not drawn as an empty chart
    assert section.figures == ()
    assert "No spine chart for North: no indicator has both a published England value" in html


def test_the_profile_at_a_finer_level_names_its_areas(tmp_path: Path) -> None:
    """Released by Sub ICB Location (ONS codes): standardised as by region, each area shown with
    its ONS name, the local area found by its code."""
    codes = {"North": "E38000014", "South": "E38000050", "East": "E38000091", "West": "E38000244"}
    tables = profile_tables()
    rows = [
        {("sub_icb_code" if k == "region" else k): (codes[v] if k == "region" else v)
         for k, v in r.items()}
        for r in tables["profile_region"].rows
    ]  # fmt: skip
    released = {"profile_sub_icb_code": table("profile_sub_icb_code", rows),
                "profile_england": tables["profile_england"]}  # fmt: skip
    section = profile_section(released, tmp_path, "E38000014", {"diabetes": "low_is_good"})
    assert section is not None
    html = "".join(section.parts)
    north = dsr([45, 60], [2000, 400], esp2013_weights(["0-64", "65+"]))
    assert f"{north.value:,.1f}" in html and "by Sub ICB Location" in html
    assert "NHS Lancashire and South Cumbria Integrated Care Board - 00Q (E38000014): Diabetes" in (
        html
    )
    (spine,) = section.figures
    assert spine.alt.startswith("NHS Lancashire and South Cumbria Integrated Care Board - 00Q")


def test_breakdowns_by_ethnic_group_and_quintile_never_guess_a_group(tmp_path: Path) -> None:
    ethnic = [
        {"ethnic_group": g, "population": n, "flu": x}
        for g, n, x in (("White", 3000, 900), ("Not stated", 300, 60),
                        ("Asian or Asian British", 500, 100), ("Other ethnic group", 8, REDACTED))
    ]  # fmt: skip
    quintiles = [{"imd_quintile": q, "population": 800, "flu": 100 + 20 * q} for q in range(1, 6)]
    sections = breakdown_sections(
        {"breakdown_ethnic_group": table("breakdown_ethnic_group", ethnic),
         "breakdown_imd_quintile": table("breakdown_imd_quintile", quintiles)}, tmp_path,
    )  # fmt: skip
    by_group, by_quintile = sections
    assert (by_group.key, by_quintile.key) == ("breakdown_ethnic_group", "breakdown_imd_quintile")
    html = "".join(by_group.parts)
    # the ONS order, Not stated last; the suppressed group and so the total not published
    groups = ("Asian or Asian British", "White", "Other ethnic group", "Not stated")
    order = [html.index(f"Flu: {g}</th>") for g in groups]
    assert order == sorted(order)
    assert "Flu: Other ethnic group</th><td>not published" in html
    assert "Flu: All</th><td>not published" in html
    assert f"{proportion(900, 3000, multiplier=100).value:.1f}" in html
    (figure,) = by_group.figures
    assert (tmp_path / figure.src).is_file() and "Other ethnic group not published" in figure.alt
    quintile_html = "".join(by_quintile.parts)
    everyone = proportion(sum(100 + 20 * q for q in range(1, 6)), 4000, multiplier=100)
    assert f"Flu: All</th><td>4,000.0</td><td>{everyone.value:.1f}" in quintile_html
    assert "by deprivation quintile" in quintile_html


def test_inequality_section_gives_the_sii_of_each_indicator(tmp_path: Path) -> None:
    rows = [
        {"imd_decile": d, "population": 1000, "admitted": 60 - 4 * d, "vaccinated": 500}
        for d in range(1, 11)
    ]
    rows[3]["vaccinated"] = REDACTED
    section = inequality_section(
        {"inequality_imd_decile": table("inequality_imd_decile", rows)}, tmp_path
    )
    assert section is not None
    html = "".join(section.parts)
    values = [proportion(60 - 4 * d, 1000) for d in range(1, 11)]
    expected = sii(
        [v.value for v in values],
        [1000] * 10,  # type: ignore[misc]
        lower_cl=[v.lower for v in values],
        upper_cl=[v.upper for v in values],  # type: ignore[misc]
        value_type="proportion",
        multiplier=100,
    )
    assert f"{expected.sii:.2f}" in html
    assert "decile(s) 4 suppressed" in html  # vaccinated: not calculated, not guessed
    assert len(section.figures) == 1


MONTHS = [dt.date(2022 + i // 12, i % 12 + 1, 1) for i in range(36)]


def monthly(events: list[int], population: int = 10_000) -> ReleasedTable:
    return table(
        "admissions_by_month",
        [
            {"month": m.isoformat(), "events": e, "population": population}
            for m, e in zip(MONTHS, events, strict=True)
        ],
    )


def test_change_section_is_the_its_beside_a_rebased_xmr(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    events = [int(x) for x in rng.poisson(100, 24)] + [int(x) for x in rng.poisson(80, 12)]
    (section,) = change_sections(
        {"admissions_by_month": monthly(events)}, tmp_path, {"admissions_by_month": "2024-04-01"}
    )
    rates = [e / 10_000 * 1000 for e in events]
    its = interrupted_time_series(rates, MONTHS, change_at=dt.date(2024, 4, 1))
    assert f"{its.level_change.value:.3f}" in "".join(section.parts)
    assert len(section.figures) == 2 and "rebased" in section.figures[1].alt


def test_change_section_refuses_a_series_with_a_gap(tmp_path: Path) -> None:
    events: list[int] = [100] * 36
    gapped = monthly(events)
    rows = list(gapped.rows)
    rows[5] = {**rows[5], "events": REDACTED}
    gapped = table("admissions_by_month", rows)  # type: ignore[arg-type]
    (section,) = change_sections(
        {"admissions_by_month": gapped}, tmp_path, {"admissions_by_month": "2024-04-01"}
    )
    assert "Not drawn: a month of this measure was suppressed" in section.parts[0]
    assert section.figures == ()


def safety_tables(events: list[int]) -> dict[str, ReleasedTable]:
    pops = [
        {"month": m.isoformat(), "age_band": b, "population": p}
        for m in MONTHS
        for b, p in (("0-64", 8000), ("65+", 2000))
    ]
    rates = [
        {"age_band": "0-64", "events": 36 * 8000 * 0.005, "population": 36 * 8000},
        {"age_band": "65+", "events": 36 * 2000 * 0.03, "population": 36 * 2000},
    ]
    return {
        "admissions_by_month": monthly(events),
        "safety_events_by_age": table("safety_events_by_age", rates),
        "safety_population_by_month": table("safety_population_by_month", pops),
    }


def test_safety_section_signals_a_planted_rise(tmp_path: Path) -> None:
    # expected 8000 * 0.005 + 2000 * 0.03 = 100 a month; the last six months run at 180
    section = safety_section(safety_tables([100] * 30 + [180] * 6), tmp_path)
    assert section is not None
    html = "".join(section.parts)
    assert "Signals of a rise: " in html and "Signals of a rise: none" not in html
    assert "Signals of a fall: none" in html
    assert any("VLAD" in f.alt for f in section.figures)


def test_safety_section_at_expectation_signals_nothing(tmp_path: Path) -> None:
    section = safety_section(safety_tables([100] * 36), tmp_path)
    assert section is not None
    html = "".join(section.parts)
    assert "Signals of a rise: none" in html and "Signals of a fall: none" in html


def test_funnel_section_uses_the_age_specific_expectation(tmp_path: Path) -> None:
    tables = safety_tables([100] * 36)
    tables["funnel_region"] = table(
        "funnel_region",
        [
            {"region": "North", "events": 700},
            {"region": "South", "events": 240},
            {"region": "East", "events": REDACTED},
        ],
    )
    tables["funnel_region_population"] = table(
        "funnel_region_population",
        [
            {"region": r, "age_band": b, "population": p}
            for r in ("North", "South", "East")
            for b, p in (("0-64", 4000), ("65+", 1000))
        ],
    )
    section = funnel_section(tables, tmp_path)
    assert section is not None
    html = "".join(section.parts)
    expected = 12 * (4000 * 0.005 + 1000 * 0.03)  # 600 a year in each region
    assert f"{expected:,.1f}" in html and f"{700 / expected:.2f}" in html
    assert "Suppressed by the output checkers: East" in html
    assert len(section.figures) == 2


def test_waiting_list_section_applies_the_formulas_and_simulates(tmp_path: Path) -> None:
    # 16 weeks with 1,600 referrals and 1,520 removals: 100 and 95 a week
    rows = [
        {
            "period": "2024-04-01/2024-07-21",
            "referrals": 1600,
            "removals": 1520,
            "waiting": 300,
        }
    ]
    seen: list[tuple[int, int]] = []
    section = waiting_list_section(
        {"waiting_list": table("waiting_list", rows)},
        tmp_path,
        target_weeks=4,
        weeks_ahead=8,
        runs=5,
        capacity_change=0.1,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert section is not None
    html = "".join(section.parts)
    assert "<td>100.0</td>" in html and "<td>95.0</td>" in html  # demand and capacity
    assert "1.05 - the list will grow" in html  # 100 / 95
    assert "(+10% on today&#x27;s)" in html or "(+10% on today's)" in html
    assert seen[-1] == (5, 5) and "over the next 8 weeks" in section.figures[0].alt
    hidden = table("waiting_list", [{**rows[0], "waiting": REDACTED}])
    blank = waiting_list_section(
        {"waiting_list": hidden}, tmp_path, target_weeks=4, weeks_ahead=8, runs=5, capacity_change=0
    )
    assert blank is not None and "suppressed" in blank.parts[0] and blank.figures == ()


def test_occupancy_section_draws_per_day_heatmaps(tmp_path: Path) -> None:
    # how many of each weekday fall in each season of the year to 31 March 2025, counted here
    year = [dt.date(2024, 4, 1) + dt.timedelta(days=i) for i in range(365)]
    seasons = {
        12: "Winter",
        1: "Winter",
        2: "Winter",
        3: "Spring",
        4: "Spring",
        5: "Spring",
        6: "Summer",
        7: "Summer",
        8: "Summer",
        9: "Autumn",
        10: "Autumn",
        11: "Autumn",
    }
    days = {(s, d): 0 for s in SEASONS for d in DAYS}
    for day in year:
        days[seasons[day.month], day.strftime("%A")] += 1
    # winter Mondays: 12 beds a night; other winter days 10; the rest 5
    beds = {
        k: n * (12 if k == ("Winter", "Monday") else 10 if k[0] == "Winter" else 5)
        for k, n in days.items()
    }
    rows = [
        {
            "period": "2024-04-01/2025-03-31",
            "season": s,
            "weekday": d,
            "bed_days": beds[s, d],
            "admissions": REDACTED if (s, d) == ("Summer", "Sunday") else 26,
        }
        for s in SEASONS
        for d in DAYS
    ]
    section = occupancy_section(
        {"bed_days_by_weekday_season": table("bed_days_by_weekday_season", rows)}, tmp_path, 12.0
    )
    assert section is not None
    alts = [f.alt for f in section.figures]
    assert "highest on Mondays in Winter (12.0), lowest on" in alts[0]
    assert len(alts) == 3 and "% of beds occupied" in alts[2]
    assert "1 cell(s) of admissions were suppressed" in "".join(section.parts)

    # bed days alone (as the board pack releases them): no demand chart, nothing called missing
    alone = [{k: v for k, v in r.items() if k != "admissions"} for r in rows]
    section = occupancy_section(
        {"bed_days_by_weekday_season": table("bed_days_by_weekday_season", alone)}, tmp_path, None
    )
    assert section is not None and len(section.figures) == 1
    assert "highest on Mondays in Winter (12.0)" in section.figures[0].alt
    text = "".join(section.parts)
    assert "admissions" not in text.split("<img")[0] and "suppressed" not in text


def test_sections_render_with_provenance_and_headings(tmp_path: Path) -> None:
    section = profile_section(profile_tables(), tmp_path, "North", {})
    assert section is not None
    html = render_page("board", [], [], "2026-01-01 00:00 UTC", [section])
    assert '<h2 id="p0">Local needs: the area profile</h2>' in html
    assert html.count('<dl class="provenance">') == 3
    assert "Where these figures come from" in html


def test_a_board_page_of_published_figures_passes_the_audit_and_is_drawn(tmp_path: Path) -> None:
    """The local needs, evaluation and safety sections together, at sizes where their figures
    are published (the board pack's dummy run is too small for that): the structural
    accessibility checks pass, every chart has alt text, and (where Chromium is installed) the
    page loads without a console message, every image decoded with a width; its screenshot is
    kept (test-artefacts/dashboards/board-sections.png, shown in docs/statistics.md)."""
    rng = np.random.default_rng(4)
    events = [int(x) for x in rng.poisson(100, 28)] + [int(x) for x in rng.poisson(125, 8)]
    tables = {**profile_tables(), **safety_tables(events)}
    profile = profile_section(tables, tmp_path, "North", {"diabetes": "low_is_good"})
    assert profile is not None and profile.figures
    changes = change_sections(tables, tmp_path, {"admissions_by_month": "2024-04-01"})
    safety = safety_section(tables, tmp_path)
    assert safety is not None
    sections = [profile, *changes, safety]
    html = render_page("board", [], [], "2026-01-01 00:00 UTC", sections)
    page = tmp_path / "index.html"
    page.write_text(html, encoding="utf-8")
    found = audit(html)
    assert found.problems() == []
    charts = [i for i in found.images if str(i["src"]).startswith("figures/")]
    assert len(charts) == sum(len(s.figures) for s in sections) >= 5
    assert all(len(str(i["alt"])) > 40 for i in charts)
    if chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    assert open_page(page, SHOTS / "board-sections.png").console == ()
    drawn = drawn_images(page)
    assert set(drawn) == {str(i["src"]) for i in found.images}
    assert {src: width for src, width in drawn.items() if width == 0} == {}
