"""Operate-test fixtures: the governance tests' control plane on SQLite and a real PostgreSQL,
reused as it is."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).parents[1]
sys.path.insert(0, str(TESTS / "governance"))

from governance import conftest as governance_fixtures  # noqa: E402

postgres_server = governance_fixtures.postgres_server
control_url = governance_fixtures.control_url
clock = governance_fixtures.clock
cp = governance_fixtures.cp


from satre_evidence import pytest_collection_modifyitems  # noqa: E402, F401
