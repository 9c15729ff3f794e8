"""Dashboard fixtures: one released environment and one dashboard of it for the whole session
(releasing goes through the full disclosure checks and is the slow part)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_support import ADMISSIONS, HBA1C, PROJECT, Built, Released, released_environment

from fivesafes.dashboards import Settings, build_dashboard
from fivesafes.stats import ImprovementDirection

SETTINGS = Settings(
    improvement={
        Path(ADMISSIONS).stem: ImprovementDirection.DECREASE,
        Path(HBA1C).stem: ImprovementDirection.INCREASE,
    },
    targets={Path(HBA1C).stem: 80.0},
)
"""Fewer admissions are better; more HbA1c recording is, with an illustrative 80% target."""


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    return released_environment(tmp_path_factory.mktemp("dashboard-environment"))


@pytest.fixture(scope="session")
def built(released: Released, tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dashboard")
    return Built(released, build_dashboard(released.data_dir, PROJECT, out, SETTINGS))
