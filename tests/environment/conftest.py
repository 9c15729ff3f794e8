"""Environment fixtures: a new environment, initialised as `fivesafes environment init` does, with
its first custodian enrolled through the code they were sent."""

from __future__ import annotations

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
