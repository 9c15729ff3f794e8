"""The board-pack example study runs on dummy data and writes only counts, in the shapes the
dashboard's decision-maker sections read; every section draws from them."""

from __future__ import annotations

import csv
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest
from accessibility import audit
from chromium import SHOTS, chromium, drawn_images, open_page
from dashboard_support import Released
from examples_support import EXAMPLES, run_example, unreleased_csv
from typer.testing import CliRunner

from fivesafes.cli.common import app
from fivesafes.dashboards import BOARD_SETTINGS
from fivesafes.dashboards.build import planning_sections
from fivesafes.dashboards.page import render_page
from fivesafes.synth.generator import write_published_workforce

HEADERS = {
    "profile_icb_code": ["icb_code", "age_band", "population", "emergency_admissions",
                         "flu_vaccinated"],
    "deprivation_icb_code": ["icb_code", "most_deprived_40", "population"],
    "inequality_imd_decile": ["imd_decile", "population", "flu_vaccinated"],
    "breakdown_imd_quintile": ["imd_quintile", "population", "flu_vaccinated"],
    "breakdown_ethnic_group": ["ethnic_group", "population", "flu_vaccinated"],
    "admissions_by_month": ["month", "events", "population"],
    "safety_events_by_age": ["age_band", "events", "population"],
    "safety_population_by_month": ["month", "age_band", "population"],
    "funnel_icb_code": ["icb_code", "events"],
    "funnel_icb_code_population": ["icb_code", "age_band", "population"],
    "waiting_list": ["period", "referrals", "removals", "waiting"],
    "bed_days_by_weekday_season": ["period", "season", "weekday", "bed_days"],
}  # fmt: skip


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_example(tmp_path_factory, "board-pack")


def test_every_table_is_counts_in_its_shape(outputs: Path) -> None:
    for stem, header in HEADERS.items():
        with (outputs / f"{stem}.csv").open(encoding="utf-8") as f:
            reader = csv.reader(f)
            assert next(reader) == header, stem
            rows = list(reader)
        assert rows, stem
        labels = {
            "icb_code",
            "ethnic_group",
            "imd_quintile",
            "age_band",
            "month",
            "season",
            "weekday",
            "imd_decile",
            "period",
        }
        counts = [i for i, name in enumerate(header) if name not in labels]
        assert all(r[i].isdigit() for r in rows for i in counts), stem  # whole counts only


def test_the_dashboard_draws_every_section_from_them(outputs: Path, tmp_path: Path) -> None:
    tables = [unreleased_csv(outputs / f"{stem}.csv") for stem in HEADERS]
    sections = planning_sections(tables, tmp_path, BOARD_SETTINGS)
    keys = [s.key for s in sections]
    assert keys == ["profile", "inequality", "breakdown_ethnic_group", "breakdown_imd_quintile",
                    "its-admissions_by_month", "safety", "funnel", "waiting", "beds"]  # fmt: skip
    for section in sections:
        for figure in section.figures:
            assert (tmp_path / figure.src).is_file() and len(figure.alt) > 40


def test_the_board_page_passes_the_audit_and_chromium_draws_every_chart(
    outputs: Path, tmp_path: Path
) -> None:
    """The whole board page, workforce included: the structural accessibility checks pass,
    every chart has alt text that says what it shows, and (where Chromium is installed) the
    page loads without a console message and every image on it is decoded with a width; its
    screenshot is kept (test-artefacts/dashboards/board-pack.png)."""
    tables = [unreleased_csv(outputs / f"{stem}.csv") for stem in HEADERS]
    published = write_published_workforce(tmp_path / "workforce_returns.csv", 5000, seed=1)
    settings = replace(BOARD_SETTINGS, published=(published,))
    sections = planning_sections(tables, tmp_path, settings)
    assert sections[-1].key == "workforce"
    html = render_page("board-pack", [], [], "2026-01-01 00:00 UTC", sections)
    page = tmp_path / "index.html"
    page.write_text(html, encoding="utf-8")
    found = audit(html)
    assert found.problems() == []
    charts = [i for i in found.images if str(i["src"]).startswith("figures/")]
    assert len(charts) == sum(len(s.figures) for s in sections) >= len(sections)
    assert all(len(str(i["alt"])) > 40 for i in charts)
    if chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    assert open_page(page, SHOTS / "board-pack.png").console == ()  # kept for the docs
    drawn = drawn_images(page)
    assert set(drawn) == {str(i["src"]) for i in found.images}
    assert {src: width for src, width in drawn.items() if width == 0} == {}


def test_the_documented_board_command_is_accepted(released: Released, tmp_path: Path) -> None:
    """docs/dashboards.md's board-pack command, word for word: every option parses (the
    project has released nothing here, so the command stops at that, and says so)."""
    text = (EXAMPLES.parent / "docs" / "dashboards.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"\n(fivesafes dashboard board-pack .*?)\n```", text, flags=re.S)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:2] == ["fivesafes", "dashboard"]
    args = [*words[1:], "--data-dir", str(released.data_dir.root)]
    result = CliRunner().invoke(app, args)
    assert "no released outputs under" in result.output  # past every option, to the data
    assert result.exit_code == 2
