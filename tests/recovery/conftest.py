"""Kill-test fixtures: the forking CLI runner, and the governance and release tests' helpers
(their worlds of people, and the throwaway PostgreSQL server) reused as they are."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
sys.path.insert(0, str(TESTS / "governance"))
sys.path.insert(0, str(TESTS / "release"))

from kill_support import Forker  # noqa: E402

from governance import conftest as governance_fixtures  # noqa: E402

postgres_server = governance_fixtures.postgres_server
control_url = governance_fixtures.control_url


@pytest.fixture(scope="session")
def forker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forker]:
    runner = Forker(tmp_path_factory.mktemp("commands"))
    yield runner
    runner.close()
