"""Environment fixtures: a new environment, initialised as `fivesafes environment init` does, with
its first custodian enrolled through the code they were sent."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from environment_support import People, approved_world, open_with_custodian

from fivesafes.store.config import DataDir


@pytest.fixture
def people(data_dir: DataDir) -> Iterator[People]:
    found = open_with_custodian(data_dir)
    yield found
    found.env.close()


@pytest.fixture
def world(people: People, tmp_path: Path) -> People:
    return approved_world(people, tmp_path)


sys.path.insert(0, str(Path(__file__).parents[1] / "governance"))  # as tests/operate does

from governance import conftest as governance_fixtures  # noqa: E402

# the governance tests' control-plane databases, SQLite and a real PostgreSQL, reused as they are
postgres_server = governance_fixtures.postgres_server
control_url = governance_fixtures.control_url
