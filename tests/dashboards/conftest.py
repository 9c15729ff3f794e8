"""Dashboard fixtures: one released environment and one dashboard of it for the whole session
(releasing goes through the full disclosure checks and is the slow part)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_support import PROJECT, Built, Released, released_environment

from fivesafes.dashboards import EXAMPLE_SETTINGS, build_dashboard


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    return released_environment(tmp_path_factory.mktemp("dashboard-environment"))


@pytest.fixture(scope="session")
def built(released: Released, tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dashboard")
    return Built(released, build_dashboard(released.data_dir, PROJECT, out, EXAMPLE_SETTINGS))
