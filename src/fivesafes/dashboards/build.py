"""Building a project's dashboard: verified released tables in, one static folder out.

The control plane is opened only for two public things: the ledger's verification keys (to
check each release's signature) and the ledger's entries (to cite each release's entry). The
data store is never opened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fivesafes.dashboards.capacity import occupancy_section, waiting_list_section
from fivesafes.dashboards.evaluation import change_sections, funnel_section, safety_section
from fivesafes.dashboards.figures import Settings, measure_figures
from fivesafes.dashboards.measures import as_measure
from fivesafes.dashboards.needs import breakdown_sections, inequality_section, profile_section
from fivesafes.dashboards.page import render_page
from fivesafes.dashboards.released import (
    DashboardError,
    ReleasedTable,
    read_released_tables,
    release_ledger_indexes,
)
from fivesafes.dashboards.sections import Section, by_stem
from fivesafes.dashboards.social_care import discharge_section
from fivesafes.dashboards.workforce import read_published, workforce_section
from fivesafes.governance import ControlPlane
from fivesafes.release.office import RELEASED_FOLDER
from fivesafes.stats import ImprovementDirection
from fivesafes.store.config import DataDir

PAGE = "index.html"

EXAMPLE_SETTINGS = Settings(
    improvement={
        "emergency_admissions_england": ImprovementDirection.DECREASE,
        "emergency_admissions_by_region": ImprovementDirection.DECREASE,
        "hba1c_recorded_england": ImprovementDirection.INCREASE,
    },
    targets={"hba1c_recorded_england": 80.0},
)
"""Directions and targets of the ``examples/emergency-admissions`` measures (a target of 80%
HbA1c recording is illustrative, not a national standard)."""

BOARD_SETTINGS = Settings(
    improvement={"admissions_by_month": ImprovementDirection.DECREASE},
    targets={},
    local_area="North West",
    polarity={"emergency_admissions": "low_is_good", "flu_vaccinated": "high_is_good"},
    changes={"admissions_by_month": "2024-04-01"},
    waiting_target_weeks=2,
    waiting_weeks_ahead=26,
    waiting_runs=50,
    capacity_change=-0.05,
)
"""The ``examples/board-pack`` dashboard: fewer emergency admissions and more flu vaccination
are better; the change evaluated (April 2024) and the GP appointment book's two-week target
are illustrations, not real events or standards."""


def build_dashboard(
    data_dir: DataDir,
    project_id: str,
    output: Path,
    settings: Settings | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the dashboard of ``project_id``'s released outputs to ``output`` and return the
    page. Raises :class:`DashboardError` when there is nothing released or a release does not
    verify."""
    with ControlPlane.open(data_dir) as cp:
        verifiers = cp.ledger.keys
        indexes = release_ledger_indexes(cp.ledger.entries())
    tables = read_released_tables(data_dir.root / RELEASED_FOLDER / project_id, verifiers, indexes)
    return draw_dashboard(tables, project_id, output, settings, now, progress)


def draw_dashboard(
    tables: list[ReleasedTable],
    project_id: str,
    output: Path,
    settings: Settings | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the dashboard of ``tables`` (read and verified by :func:`read_released_tables`)
    to ``output`` and return the page: for a caller that holds the ledger open already (the
    portal), which must not open a second one. :class:`DashboardError` if none is a table."""
    output.mkdir(parents=True, exist_ok=True)
    chosen = settings or Settings({}, {})
    figures, others = [], []
    for table in tables:
        measure = as_measure(table)
        if measure is None or not any(s.periods for s in measure.series):
            others.append(table)
        else:
            figures.append(measure_figures(measure, chosen, output))
    if not figures and not others:
        raise DashboardError(f"{project_id} has released no tables")
    sections = planning_sections(tables, output, chosen, progress)
    used = {t.path for s in sections for t in s.tables}
    others = [t for t in others if t.path not in used]
    built = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    page = output / PAGE
    page.write_text(render_page(project_id, figures, others, built, sections), encoding="utf-8")
    return page


def planning_sections(
    tables: list[ReleasedTable],
    output: Path,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
) -> list[Section]:
    """The decision-maker sections the released tables allow, in the order a board reads
    them: local needs, evaluation and safety, capacity and demand."""
    latest = by_stem(tables)
    found = [
        profile_section(latest, output, settings.local_area, settings.polarity),
        inequality_section(latest, output),
        *breakdown_sections(latest, output),
        *change_sections(latest, output, settings.changes),
        safety_section(latest, output),
        funnel_section(latest, output),
        waiting_list_section(
            latest,
            output,
            target_weeks=settings.waiting_target_weeks,
            weeks_ahead=settings.waiting_weeks_ahead,
            runs=settings.waiting_runs,
            capacity_change=settings.capacity_change,
            progress=progress,
        ),
        occupancy_section(latest, output, settings.beds),
        discharge_section(latest, output),
        workforce_section(
            [read_published(path) for path in settings.published],
            latest,
            output,
            settings.demand_growth,
        ),
    ]
    return [s for s in found if s is not None]


def demo_dashboard(
    data_dir: DataDir,
    project_id: str,
    output: Path,
    settings: Settings = EXAMPLE_SETTINGS,
) -> str:
    """What ``make demo`` ends with: build the demo project's dashboard, say where it is."""
    page = build_dashboard(data_dir, project_id, output, settings)
    return f"dashboard of {project_id}'s released outputs: {page.resolve().as_uri()}"
