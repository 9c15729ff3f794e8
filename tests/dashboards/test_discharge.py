"""The discharge-to-social-care example study runs on dummy data across the health and social
care tables, writes only counts, and the dashboard draws its outcomes with their intervals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from accessibility import audit
from chromium import SHOTS, chromium, drawn_images, open_page
from examples_support import run_example, unreleased, unreleased_csv

from fivesafes.dashboards.page import render_page
from fivesafes.dashboards.social_care import discharge_section
from fivesafes.stats import proportion

STEMS = ("discharge_outcomes", "discharge_outcomes_by_deprivation",
         "discharge_outcomes_by_local_authority", "days_to_first_service",
         "discharge_readmissions")  # fmt: skip


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, "discharge-to-social-care")


def test_the_example_counts_people_after_discharge(outputs: Path, tmp_path: Path) -> None:
    tables = {stem: unreleased_csv(outputs / f"{stem}.csv") for stem in STEMS}
    assert all(t.rows for t in tables.values())
    (total,) = tables["discharge_outcomes"].rows
    assert int(total["social_care_within_28_days"]) <= int(total["discharged"])
    (readmitted,) = tables["discharge_readmissions"].rows
    assert readmitted["discharged"] == total["discharged"]
    assert int(readmitted["readmitted_within_30_days"]) <= int(total["discharged"])
    people = sum(int(r["people"]) for r in tables["days_to_first_service"].rows)
    assert people == int(total["discharged"])  # every person in one band of days
    # by local authority (where each person lives): every person with an authority in one row,
    # and never an NHS number, nor a pseudonym
    areas = tables["discharge_outcomes_by_local_authority"].rows
    assert all(re.fullmatch(r"E0[6-9]\d{6}", r["local_authority_code"]) for r in areas)
    assert len({r["local_authority_code"] for r in areas}) == len(areas)
    assert sum(int(r["discharged"]) for r in areas) <= int(total["discharged"])
    assert set(areas[0]) == {"local_authority_code", "discharged", "social_care_within_28_days"}
    section = discharge_section(tables, tmp_path)
    assert section is not None and len(section.figures) == 3
    html = "".join(section.parts)  # the areas in a table of their own, not as bars
    assert f'<tr><th scope="row">{areas[0]["local_authority_code"]}</th>' in html
    assert f"Social care service within 28 days: {areas[0]['local_authority_code']}" not in html


def test_the_discharge_page_passes_the_audit_and_chromium_draws_every_chart(
    outputs: Path, tmp_path: Path
) -> None:
    """The page the demo draws from the discharge study: the structural accessibility checks
    pass, every chart has alt text that says what it shows, and (where Chromium is installed)
    the page loads without a console message and every image is decoded with a width; its
    screenshot is kept (test-artefacts/dashboards/discharge.png)."""
    tables = {stem: unreleased_csv(outputs / f"{stem}.csv") for stem in STEMS}
    section = discharge_section(tables, tmp_path)
    assert section is not None
    html = render_page("discharge-to-social-care", [], [], "2026-01-01 00:00 UTC", [section])
    page = tmp_path / "index.html"
    page.write_text(html, encoding="utf-8")
    found = audit(html)
    assert found.problems() == []
    charts = [i for i in found.images if str(i["src"]).startswith("figures/")]
    assert len(charts) == len(section.figures) == 3
    assert all(len(str(i["alt"])) > 40 for i in charts)
    if chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    assert open_page(page, SHOTS / "discharge.png").console == ()  # kept for the docs
    drawn = drawn_images(page)
    assert set(drawn) == {str(i["src"]) for i in found.images}
    assert {src: width for src, width in drawn.items() if width == 0} == {}


def test_outcomes_are_percentages_with_wilson_limits(tmp_path: Path) -> None:
    tables = {
        "discharge_outcomes": unreleased("discharge_outcomes", [
            {"period": "2022-04-01/2025-03-31", "discharged": 400,
             "social_care_within_28_days": 60, "readmitted_within_30_days": 70}]),
        "discharge_outcomes_by_deprivation": unreleased("discharge_outcomes_by_deprivation", [
            {"deprivation": "More deprived", "discharged": 250,
             "social_care_within_28_days": 30, "readmitted_within_30_days": "[REDACTED]"},
            {"deprivation": "Less deprived", "discharged": 150,
             "social_care_within_28_days": 30, "readmitted_within_30_days": "[REDACTED]"}]),
    }  # fmt: skip
    section = discharge_section(tables, tmp_path)
    assert section is not None
    html = "".join(section.parts)
    expected = proportion(60, 400, multiplier=100)
    assert f"<td>{expected.value:.1f}%</td><td>{expected.lower:.1f} to {expected.upper:.1f}" in html
    assert "Readmitted within 30 days: More deprived</th><td>not published" in html
    assert "no NHS number is used or held" in html
    assert any("20.0% (95% CI" in f.alt for f in section.figures)  # less deprived: 30 / 150


def test_readmissions_released_apart_join_the_overall_outcomes(tmp_path: Path) -> None:
    tables = {
        "discharge_outcomes": unreleased("discharge_outcomes", [
            {"period": "2022-04-01/2025-03-31", "discharged": 400,
             "social_care_within_28_days": 60}]),
        "discharge_readmissions": unreleased("discharge_readmissions", [
            {"period": "2022-04-01/2025-03-31", "discharged": 400,
             "readmitted_within_30_days": 50}]),
    }  # fmt: skip
    section = discharge_section(tables, tmp_path)
    assert section is not None and len(section.tables) == 2
    expected = proportion(50, 400, multiplier=100)
    html = "".join(section.parts)
    assert f"Readmitted within 30 days: All</th><td>{expected.value:.1f}%" in html
    del tables["discharge_readmissions"]  # not released (too few): said, not guessed
    html = "".join(discharge_section(tables, tmp_path).parts)  # type: ignore[union-attr]
    assert "Readmitted within 30 days: All</th><td>not published" in html


def test_local_authorities_get_a_table_and_a_funnel_around_their_pooled_share(
    tmp_path: Path,
) -> None:
    """Councils are compared on a funnel, not as bars: each published council is a point at
    its number of people discharged, the suppressed one is "not published" in the table and
    left off the funnel, whose average is the published councils' pooled share."""
    tables = {
        "discharge_outcomes": unreleased("discharge_outcomes", [
            {"period": "2022-04-01/2025-03-31", "discharged": 400,
             "social_care_within_28_days": 60}]),
        "discharge_outcomes_by_local_authority": unreleased(
            "discharge_outcomes_by_local_authority", [
                {"local_authority_code": "E06000001", "discharged": 200,
                 "social_care_within_28_days": 40},
                {"local_authority_code": "E06000002", "discharged": 150,
                 "social_care_within_28_days": 15},
                {"local_authority_code": "E06000003", "discharged": 50,
                 "social_care_within_28_days": "[REDACTED]"}]),
    }  # fmt: skip
    section = discharge_section(tables, tmp_path)
    assert section is not None
    html = "".join(section.parts)
    share = proportion(40, 200, multiplier=100)
    assert (f"E06000001</th><td>200</td><td>40</td><td>{share.value:.1f}%</td>"
            f"<td>{share.lower:.1f} to {share.upper:.1f}</td>") in html  # fmt: skip
    assert "E06000003</th><td>50</td><td>not published</td>" in html
    (funnel,) = [f for f in section.figures if "funnel" in f.src]
    assert (tmp_path / funnel.src).exists()
    assert "Funnel plot of 2 organisations" in funnel.alt
    assert f"average of {55 / 350 * 100:.1f}" in funnel.alt  # pooled: (40 + 15) / (200 + 150)
    stem = "discharge_outcomes_by_local_authority"
    tables[stem] = unreleased(stem, tables[stem].rows[:1])  # one council left: no funnel
    section = discharge_section(tables, tmp_path)
    assert section is not None and not [f for f in section.figures if "funnel" in f.src]
