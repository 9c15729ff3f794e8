"""Reusing a study killed with SIGKILL at every point where it writes: after a restart the
ledger and the repositories agree (a ``reuse`` entry exactly when its repository is in place,
no staging folder left, no intent open), and a retry makes exactly one new repository."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest
from environment_support import People, open_with_custodian
from library_support import Library, library_world

from fivesafes.environment import Environment, reuse
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.store.config import DataDir
from jobs.jobs_support import SANDBOX_PROBLEM

pytestmark = [
    pytest.mark.slow,  # real processes, killed for real
    pytest.mark.skipif(SANDBOX_PROBLEM is not None, reason=f"no bubblewrap: {SANDBOX_PROBLEM}"),
]
REUSE_POINTS = ("reuse.after-intent", "reuse.after-rename")
REUSE = """
import sys
from pathlib import Path
from fivesafes.environment import Environment, reuse
from fivesafes.store.config import DataDir
root, key, token, commit = sys.argv[1:]
with Environment.open(DataDir(Path(root), Path(key))) as env:
    print(reuse.reuse(env, token, "codes", commit).repository)
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DataDir, str, Library]]:
    root = tmp_path_factory.mktemp("library-kill")
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people: People = open_with_custodian(data_dir)
    try:
        made = library_world(people, root)
    finally:
        people.env.close()
    yield data_dir, people.tokens["ana"], made


def _reuse(data_dir: DataDir, token: str, commit: str, point: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    if point:
        env[FAILPOINT_ENV] = point
    done = subprocess.run(
        [sys.executable, "-c", REUSE, str(data_dir.root), str(data_dir.key_file), token, commit],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def _state(data_dir: DataDir) -> tuple[set[str], list[dict[str, object]]]:
    with Environment.open(data_dir) as env:  # opening settles what a kill left
        assert env.cp.open_intents() == []
        entries = [orjson.loads(e) for e in env.cp.ledger.entries()]
    folder = data_dir.root / reuse.REUSED
    assert not list(folder.glob(".*")), "a staging folder was left behind"
    made = {p.name[: -len(".git")] for p in folder.glob("*.git")}
    return made, [e for e in entries if e["kind"] == "reuse"]


@pytest.mark.parametrize("point", REUSE_POINTS)
def test_a_reuse_killed_anywhere_is_settled_and_a_retry_makes_one_repository(
    world: tuple[DataDir, str, Library], point: str
) -> None:
    data_dir, token, lib = world
    before, reused_before = _state(data_dir)
    assert _reuse(data_dir, token, lib.ran, point) == -signal.SIGKILL
    made, reused = _state(data_dir)
    new = made - before
    assert {str(e["subject"]["repository"]) for e in reused} == made  # ledger and state agree
    assert len(new) == (1 if point == "reuse.after-rename" else 0)
    assert _reuse(data_dir, token, lib.ran) == 0
    again, reused_again = _state(data_dir)
    assert len(again - made) == 1 and len(reused_again) == len(reused) + 1
    assert {str(e["subject"]["repository"]) for e in reused_again} == again
    assert len(reused_before) == len(before)
