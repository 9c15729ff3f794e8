"""`fivesafes codelist publish` killed with SIGKILL at every point where it writes: after a
restart the ledger and the control plane agree (one publication row, its intent answered), a
retry publishes exactly once, and the publication names its own ``codelist`` entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from codelists_support import ASTHMA, coded_world
from environment_support import People
from sqlalchemy import select

from fivesafes.environment import Environment, codelists
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance.codelist_tables import CodelistPublication
from fivesafes.store.config import DataDir

pytestmark = pytest.mark.slow  # real processes, killed for real
CODELIST_POINTS = ("codelist.after-intent", "codelist.after-commit", "codelist.after-outcome")
FIVESAFES = str(Path(sys.executable).parent / "fivesafes")


def _publish(
    data_dir: DataDir, token: str, failpoint: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    env["FIVESAFES_KEY_FILE"] = str(data_dir.key_file)
    root = data_dir.root
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    return subprocess.run(
        [FIVESAFES, "codelist", "publish", "asthma", "--token", token, "--data-dir", str(root)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def coded(people: People, tmp_path: Path) -> People:
    return coded_world(people, tmp_path)


@pytest.mark.parametrize("point", CODELIST_POINTS)
def test_a_publication_killed_anywhere_is_settled_and_a_retry_publishes_once(
    coded: People, point: str
) -> None:
    env, token = coded.env, coded.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    codelists.add(env, token, "asthma", {ASTHMA: None})
    killed = _publish(env.data_dir, token, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    retried = _publish(env.data_dir, token)  # opening the environment settles what the kill left
    assert retried.returncode == 0, retried.stderr
    with Environment.open(env.data_dir) as fresh:
        assert fresh.cp.open_intents() == []
        found = [orjson.loads(e) for e in fresh.cp.ledger.entries()]
        with fresh.cp.transaction() as session:
            rows = list(session.scalars(select(CodelistPublication)))
    published = [e for e in found if e["kind"] == "codelist"]
    assert len(published) == 1 and published[0]["subject"]["version"] == 1
    intent = published[0]["subject"]["intent"]
    answers = [e for e in found if e["subject"].get("intent") == intent]
    assert [e["kind"] for e in answers] == ["codelist"]  # answered once, by the publication
    assert [(r.slug, r.version, r.ledger_index) for r in rows] == [
        ("asthma", 1, published[0]["index"])
    ]
    assert f"(ledger entry {published[0]['index']})" in retried.stdout
