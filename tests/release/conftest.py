"""Release fixtures: a release office on a fresh control plane (SQLite, and PostgreSQL through the
governance tests' throwaway server), an approved project with its people, and a study."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).parents[1] / "governance"))  # its helpers and fixtures

from governance_support import ManualClock, World
from release_support import People, Study, approved_project, held_job

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


def _data_dir(root: Path) -> DataDir:
    return DataDir(root / "data", root / "keys" / "pseudonym.key")


def _office(url: str, root: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    data_dir = _data_dir(root)
    with ControlPlane.open(data_dir, url=url, clock=clock) as cp:
        yield ReleaseOffice(cp, data_dir)


@dataclass(frozen=True)
class Template:
    """An environment with its people and approved project, made once and copied per test."""

    root: Path
    tokens: dict[str, str]
    keys: dict[str, Ed25519PrivateKey]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("release-environment")
    for office in _office(f"sqlite:///{root / 'control.sqlite'}", root, ManualClock()):
        people = approved_project(office)
    return Template(root, dict(people.world.tokens), dict(people.world.keys))


@pytest.fixture
def office(template: Template, tmp_path: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    """On SQLite, a fresh copy of the template environment: most release tests are about the
    workflow, not the database."""
    root = tmp_path / "environment"
    shutil.copytree(template.root, root)
    yield from _office(f"sqlite:///{root / 'control.sqlite'}", root, clock)


@pytest.fixture
def people(office: ReleaseOffice, template: Template) -> People:
    return People(World(office.cp, dict(template.tokens), dict(template.keys)))


@pytest.fixture
def any_office(control_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[ReleaseOffice]:
    """An empty environment on SQLite and on PostgreSQL."""
    yield from _office(control_url, tmp_path, clock)


@pytest.fixture
def study(office: ReleaseOffice) -> Study:
    """A job's study as the environment holds it: under its data directory's jobs."""
    return held_job(office.data_dir, "job-test", cp=office.cp)
