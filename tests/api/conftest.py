"""One world and one server per test module: building them is the slow part, and the tests
that change the world say so and build their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Running, World, build_world, serving


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[Running]:
    with serving(world.data_dir) as running:
        yield running


@pytest.fixture
def fresh_world(tmp_path: Path) -> World:
    return build_world(tmp_path)
