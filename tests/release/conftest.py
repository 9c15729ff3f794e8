"""Release fixtures: a release office on a fresh control plane (SQLite, and PostgreSQL through the
governance tests' throwaway server), an approved project with its people, and a study."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "governance"))  # its helpers and fixtures

from governance_support import ManualClock
from release_support import People, Study, approved_project

from fivesafes.governance import ControlPlane
from fivesafes.release import ReleaseOffice
from fivesafes.store.config import DataDir
from governance import conftest as governance_fixtures

# The governance tests' throwaway PostgreSQL server and per-test database, reused as they are.
postgres_server = governance_fixtures.postgres_server
control_url = governance_fixtures.control_url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _office(url: str, tmp_path: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    with ControlPlane.open(data_dir, url=url, clock=clock) as cp:
        yield ReleaseOffice(cp, data_dir)


@pytest.fixture
def office(tmp_path: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    """On SQLite: most release tests are about the workflow, not the database."""
    yield from _office(f"sqlite:///{tmp_path / 'control.sqlite'}", tmp_path, clock)


@pytest.fixture
def any_office(control_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    """On SQLite and on PostgreSQL."""
    yield from _office(control_url, tmp_path, clock)


@pytest.fixture
def people(office: ReleaseOffice) -> People:
    return approved_project(office)


@pytest.fixture
def study(tmp_path: Path) -> Study:
    return Study.create(tmp_path / "study")
