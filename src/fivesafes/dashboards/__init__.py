"""dashboards: static, accessible HTML dashboards built from a project's released outputs only
(the last stage: ingest → store → query → jobs → disclosure → release → dashboards).

:func:`build_dashboard` verifies every release folder (signature, hashes, two approvals) and
refuses any that fails, recognises tidy monthly measure tables, and draws them with the
``stats`` stage: SPC charts with Making Data Count icons and a board summary, latest values with
confidence intervals, funnel plots, and each figure's provenance.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.dashboards.build import (
        BOARD_SETTINGS,
        EXAMPLE_SETTINGS,
        PAGE,
        build_dashboard,
        demo_dashboard,
        draw_dashboard,
    )
    from fivesafes.dashboards.figures import Settings
    from fivesafes.dashboards.measures import Kind, Measure, as_measure
    from fivesafes.dashboards.released import DashboardError, ReleasedTable, read_released_tables
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "BOARD_SETTINGS",
    "EXAMPLE_SETTINGS",
    "PAGE",
    "DashboardError",
    "Kind",
    "Measure",
    "ReleasedTable",
    "Settings",
    "as_measure",
    "build_dashboard",
    "demo_dashboard",
    "draw_dashboard",
    "read_released_tables",
]
