"""The board-pack example study runs on dummy data and writes only counts, in the shapes the
dashboard's decision-maker sections read; every section draws from them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers `run`)
from fivesafes.cli.common import app
from fivesafes.dashboards import BOARD_SETTINGS, ReleasedTable
from fivesafes.dashboards.build import planning_sections

EXAMPLE = Path(__file__).parents[2] / "examples" / "board-pack"
HEADERS = {
    "profile_region": ["region", "age_band", "population", "emergency_admitted",
                       "flu_vaccinated"],
    "deprivation_region": ["region", "most_deprived_40", "population"],
    "inequality_imd_decile": ["imd_decile", "population", "flu_vaccinated"],
    "admissions_by_month": ["month", "events", "population"],
    "safety_events_by_age": ["age_band", "events", "population"],
    "safety_population_by_month": ["month", "age_band", "population"],
    "funnel_region": ["region", "events"],
    "funnel_region_population": ["region", "age_band", "population"],
    "waiting_list": ["period", "referrals", "removals", "waiting"],
    "bed_days_by_weekday_season": ["period", "season", "weekday", "bed_days", "admissions"],
}  # fmt: skip


def _as_table(path: Path) -> ReleasedTable:
    """The table with no provenance (it was never released): only to see what it would draw."""
    with path.open(encoding="utf-8") as f:
        rows = tuple(csv.DictReader(f))
    return ReleasedTable("", f"output/{path.name}", "", "", "", "", "", (), (), None, rows)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = tmp_path_factory.mktemp("example") / "board-pack"
    shutil.copytree(EXAMPLE, study)
    result = CliRunner().invoke(app, ["run", "--project", str(study)])
    assert result.exit_code == 0, result.output
    return study / "output"


def test_every_table_is_counts_in_its_shape(outputs: Path) -> None:
    for stem, header in HEADERS.items():
        with (outputs / f"{stem}.csv").open(encoding="utf-8") as f:
            reader = csv.reader(f)
            assert next(reader) == header, stem
            rows = list(reader)
        assert rows, stem
        labels = {
            "region",
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
    tables = [_as_table(outputs / f"{stem}.csv") for stem in HEADERS]
    sections = planning_sections(tables, tmp_path, BOARD_SETTINGS)
    keys = [s.key for s in sections]
    assert keys == ["profile", "inequality", "its-admissions_by_month", "safety", "funnel",
                    "waiting", "beds"]  # fmt: skip
    for section in sections:
        for figure in section.figures:
            assert (tmp_path / figure.src).is_file() and len(figure.alt) > 40
