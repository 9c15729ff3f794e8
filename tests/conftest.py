"""Shared fixtures (a fresh store in a temporary data directory), and a test run that does not
depend on the machine or the shell it is started from.

- ``FIVESAFES_*`` settings (a data directory, a token, a control-plane URL, a Spark master) are
  removed before every test, so neither the person running the tests nor an earlier test can
  point a command somewhere else. Kept: ``FIVESAFES_SPARK_TESTS``, which says which tests run,
  and ``FIVESAFES_CGROUP``, the cgroup this host delegates to sandboxed jobs (a fact about the
  machine, like its Debian packages).
- Nothing is taken for a terminal and nothing forces colour (``TTY_COMPATIBLE=0``; no
  ``FORCE_COLOR``, ``PY_COLORS``, ``CLICOLOR_FORCE``), set before rich or typer is imported, so
  ``pytest -s`` in a terminal, or a CI service that forces colour, prints what a pipe gets. A
  test about terminals says so itself (``TTY_COMPATIBLE=1``).
- Each test starts in its own empty folder, never the repository or a folder an earlier test
  wrote to.
- ``COLUMNS`` and ``LINES`` are left as they are: written to a pipe the commands ignore them,
  and ``COLUMNS=40 make test`` checks that they do.

Test data from ``../shared/`` is found through ``shared_files``; a parallel run keeps the files
that share a world on one worker (``worker_groups``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

for _forcing in ("FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE", "TTY_INTERACTIVE"):
    os.environ.pop(_forcing, None)
os.environ["TTY_COMPATIBLE"] = "0"  # rich: no output is a terminal unless a test says so
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"  # typer: even where GITHUB_ACTIONS is set

sys.path.insert(0, str(Path(__file__).parent))

from fivesafes.store.config import DataDir  # noqa: E402
from fivesafes.store.database import Store  # noqa: E402
from fivesafes.store.pseudonym import create_key  # noqa: E402
from worker_groups import pytest_collection_modifyitems  # noqa: E402, F401

KEPT = frozenset({"FIVESAFES_SPARK_TESTS", "FIVESAFES_CGROUP"})


@pytest.fixture(autouse=True)
def _a_clean_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FIVESAFES_* settings but the kept ones, and the test's own empty folder as the
    current directory, so a default ``./fivesafes-data`` is never one left by someone else."""
    for name in [n for n in os.environ if n.startswith("FIVESAFES_") and n not in KEPT]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """A data directory with its pseudonym key made, as an initialised environment has."""
    made = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    create_key(made.key_file)
    return made


@pytest.fixture
def store(data_dir: DataDir) -> Iterator[Store]:
    with Store.open(data_dir) as s:
        yield s
