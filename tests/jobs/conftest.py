"""Fixtures for the jobs tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key


@pytest.fixture
def environment(tmp_path: Path) -> DataDir:
    """An environment's data directory: a store file and the pseudonym key beside it, the
    secrets every attack on a job aims at."""
    data = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    data.root.mkdir(parents=True)
    data.database.write_bytes(b"DUCKDB store: identifiable Patient rows, the analysis layer")
    create_key(data.key_file)
    return data
