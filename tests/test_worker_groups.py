"""The parallel run's grouping (``worker_groups``): a world shared by several files is built once,
whichever workers the run has, and a node id comes back as a run on one process names it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from worker_groups import plain_nodeid

pytest_plugins = ["pytester"]

WORLD = """
import os, pytest
from worker_groups import pytest_collection_modifyitems  # noqa: F401

@pytest.fixture(scope="session")
def world(tmp_path_factory):
    with open(os.environ["BUILT"], "a") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")
    return "built"
"""


def test_a_world_shared_by_files_is_built_once_on_three_workers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(Path(__file__).parent / "worker_groups.py", pytester.path)
    pytester.makeconftest(WORLD)
    for k in range(4):  # four files use the world, two never do
        pytester.makepyfile(**{f"test_uses_{k}": "def test_a(world):\n    assert world\n"
                               "def test_b(world):\n    assert world\n"})  # fmt: skip
        if k < 2:
            pytester.makepyfile(**{f"test_alone_{k}": "def test_c():\n    pass\n"})
    built = pytester.path / "built.txt"
    monkeypatch.setenv("BUILT", str(built))
    result = pytester.runpytest_subprocess("-n", "3", "--dist", "loadgroup", "-p", "xdist")
    result.assert_outcomes(passed=10)
    assert len(built.read_text().split()) == 1


def test_the_group_is_taken_off_a_node_id_and_nothing_else() -> None:
    assert plain_nodeid("tests/a.py::test_x@tests_a") == "tests/a.py::test_x"
    assert plain_nodeid("tests/a.py::test_x[sqlite]@tests_web_b") == "tests/a.py::test_x[sqlite]"
    email = "tests/a.py::test_x[ana@example.org]"
    assert plain_nodeid(email) == email
