"""`fivesafes project approve` killed with SIGKILL at every point where it writes, on SQLite (the
ledger in its own file) and on PostgreSQL (the ledger in the control-plane database): after a
restart the ledger and the control plane agree, `ledger verify` passes, and a retry decides
exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from governance_support import World, application
from kill_support import (
    KILLED,
    Forker,
    Ran,
    entries,
    ledger_store,
    of_kind,
    open_intent_count,
    settled_intents,
)
from release_support import as_environment
from sqlalchemy import select

from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance import ControlPlane, Role, submit_project
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.governance.signing import check_ledger_decisions
from fivesafes.governance.tables import Decision, Project
from fivesafes.ledger.audit import audit_store
from fivesafes.ledger.keys import write_key
from fivesafes.store.config import DataDir

pytestmark = pytest.mark.slow  # real processes, killed for real: seconds each

APPROVAL_POINTS = ("approval.after-intent", "approval.after-commit", "approval.after-outcome")
COMMITTED_AT = {"approval.after-commit", "approval.after-outcome"}
PROJECT = "heat-asthma"


@dataclass(frozen=True)
class Approval:
    """An environment where ``ana``'s project waits on approver ``apo`` (token and key file)."""

    root: Path
    url: str | None
    """The PostgreSQL URL, or None for the default SQLite control plane in ``root``."""
    token: str
    key: Path

    def run(
        self, forker: Forker, args: list[str], failpoint: str | None = None, token: bool = True
    ) -> Ran:
        env = {DATABASE_URL_ENV: self.url} if self.url else {}
        if failpoint:
            env[FAILPOINT_ENV] = failpoint
        unset = [] if self.url else [DATABASE_URL_ENV]
        if not failpoint:
            unset.append(FAILPOINT_ENV)
        who = ["--token", self.token] if token else []
        return forker.run([*args, "--data-dir", str(self.root), *who], env, unset)


@pytest.fixture
def approval(control_url: str, tmp_path: Path) -> Approval:
    """On each backend: the SQLite URL the fixture gives is the data directory's default one."""
    url = None if control_url.startswith("sqlite") else control_url
    with ControlPlane.open(DataDir.from_env(tmp_path), url=control_url) as cp:
        world = World.start(cp)
        world.add("ana", Role.ANALYST)
        token = world.add("apo", Role.APPROVER)
        submit_project(cp, world.tokens["ana"], PROJECT, application("ana"))
    write_key(tmp_path / "apo.pem", world.keys["apo"])
    as_environment(DataDir.from_env(tmp_path))
    return Approval(tmp_path, url, token, tmp_path / "apo.pem")


def _approve(approval: Approval, forker: Forker, failpoint: str | None = None) -> Ran:
    return approval.run(
        forker,
        [
            *("project", "approve", PROJECT, "--until", "2099-01-01"),
            *("--reasons", "Sound design, clear benefit.", "--key", str(approval.key)),
        ],
        failpoint,
    )


def _agree(approval: Approval) -> str:
    """The project's status, asserting the ledger's approval entries are exactly the control
    plane's decisions, that each verifies, and that every intent is answered once."""
    found = entries(approval.root, approval.url)
    settled_intents(found)
    store = ledger_store(approval.root, approval.url)
    try:
        raw = [row.entry for row in store.entries()]
        assert audit_store(store).ok
    finally:
        store.close()
    logged = [subject["signature"] for subject in of_kind(found, "approval")]
    url = approval.url or f"sqlite:///{approval.root / 'control.sqlite'}"
    with (
        ControlPlane.open(DataDir.from_env(approval.root), url=url) as cp,
        cp.transaction() as session,
    ):
        query = select(Decision.signature).order_by(Decision.decision_id)
        decided = list(session.scalars(query))
        project = session.get(Project, PROJECT)
        assert project is not None
        status = project.status
    assert logged == decided
    assert [ok for _, ok in check_ledger_decisions(raw)] == [True] * len(decided)
    return status


@pytest.mark.parametrize("point", APPROVAL_POINTS)
def test_an_approval_killed_at_each_write_is_recovered_and_retried_exactly_once(
    point: str, approval: Approval, forker: Forker
) -> None:
    killed = _approve(approval, forker, point)
    assert killed.returncode == KILLED, killed.output
    assert open_intent_count(approval.root, approval.url) == (point != "approval.after-outcome")

    restarted = approval.run(forker, ["user", "whoami"])
    assert restarted.returncode == 0, restarted.output
    assert _agree(approval) == ("approved" if point in COMMITTED_AT else "submitted")

    retried = _approve(approval, forker)
    assert retried.returncode == 0, retried.output
    assert ("already decided" in retried.stdout) == (point in COMMITTED_AT)
    assert _agree(approval) == "approved"
    found = entries(approval.root, approval.url)
    assert len(of_kind(found, "approval")) == 1
    assert len(of_kind(found, "abandoned")) == (point == "approval.after-intent")
    verify = approval.run(forker, ["ledger", "verify"], token=False)
    assert verify.returncode == 0 and "OK: every entry re-hashed" in verify.stdout, verify.output
