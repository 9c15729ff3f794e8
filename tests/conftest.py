"""Shared fixtures: a fresh store in a temporary data directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")


@pytest.fixture
def store(data_dir: DataDir) -> Iterator[Store]:
    with Store.open(data_dir) as s:
        yield s
