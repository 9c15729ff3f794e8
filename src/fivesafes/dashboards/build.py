"""Building a project's dashboard: verified released tables in, one static folder out.

The control plane is opened only for two public things: the ledger's verification keys (to
check each release's signature) and the ledger's entries (to cite each release's entry). The
data store is never opened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fivesafes.dashboards.figures import Settings, measure_figures
from fivesafes.dashboards.measures import as_measure
from fivesafes.dashboards.page import render_page
from fivesafes.dashboards.released import (
    DashboardError,
    read_released_tables,
    release_ledger_indexes,
)
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


def build_dashboard(
    data_dir: DataDir,
    project_id: str,
    output: Path,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the dashboard of ``project_id``'s released outputs to ``output`` and return the
    page. Raises :class:`DashboardError` when there is nothing released or a release does not
    verify."""
    with ControlPlane.open(data_dir) as cp:
        verifiers = cp.ledger.keys
        indexes = release_ledger_indexes(cp.ledger.entries())
    tables = read_released_tables(data_dir.root / RELEASED_FOLDER / project_id, verifiers, indexes)
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
    built = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    page = output / PAGE
    page.write_text(render_page(project_id, figures, others, built), encoding="utf-8")
    return page


def demo_dashboard(
    data_dir: DataDir,
    project_id: str,
    output: Path,
) -> str:
    """What ``make demo`` ends with: build the demo project's dashboard, say where it is."""
    page = build_dashboard(data_dir, project_id, output, EXAMPLE_SETTINGS)
    return f"dashboard of {project_id}'s released outputs: {page.resolve().as_uri()}"
