"""`fivesafes submit --wait` killed with SIGKILL at every point where it writes while it runs its
job (issue 18, hole 7, for jobs): after a restart the ledger and the control plane agree on every
job (each ends once, in both, as what it was; one killed before it left the queue waits there
for a worker, which runs it once), `ledger verify` passes, no cut copy of the store is left
behind, and a retry runs exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from kill_support import KILLED, Forker, Ran, entries, of_kind, open_intent_count, settled_intents
from sqlalchemy import select

from environment.environment_support import PROJECT, approved_world, open_with_custodian, study
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance import ControlPlane
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.governance.tables import Job
from fivesafes.store.config import DataDir
from jobs.jobs_support import needs_sandbox

pytestmark = [pytest.mark.slow, needs_sandbox]  # real processes, killed for real

SUBMIT_POINTS = (
    "job.start.after-intent",
    "job.start.after-change",
    "job.running",
    "job.ran",
    "job.end.after-intent",
    "job.end.after-change",
)
ENDED_AS_RAN = {"job.end.after-intent", "job.end.after-change"}
"""Killed once the outcome was announced: recovery completes it as what it was."""
QUEUED_AGAIN = {"job.start.after-intent"}
"""Killed before the job left the queue: its start is abandoned and it waits for a worker."""


@dataclass(frozen=True)
class Submitting:
    root: Path
    study: Path
    token: str

    def run(self, forker: Forker, args: list[str], failpoint: str | None = None) -> Ran:
        env = {FAILPOINT_ENV: failpoint} if failpoint else {}
        unset = [DATABASE_URL_ENV] + ([] if failpoint else [FAILPOINT_ENV])
        return forker.run([*args, "--data-dir", str(self.root), "--token", self.token], env, unset)

    def submit(self, forker: Forker, failpoint: str | None = None) -> Ran:
        return self.run(
            forker,
            ["submit", "--wait", "--project", str(self.study), "--project-id", PROJECT],
            failpoint,
        )

    def work(self, forker: Forker) -> Ran:
        """A worker that runs what is queued and stops (it takes no token: it acts for the
        environment)."""
        args = ["worker", "--until-empty", "--data-dir", str(self.root)]
        return forker.run(args, {}, [DATABASE_URL_ENV, FAILPOINT_ENV])


@pytest.fixture
def submitting(tmp_path: Path) -> Submitting:
    data_dir = DataDir.from_env(tmp_path / "env")
    people = approved_world(open_with_custodian(data_dir), tmp_path)
    people.env.close()
    return Submitting(data_dir.root, study(tmp_path / "study"), people.tokens["ana"])


def _agree(root: Path) -> dict[str, str]:
    """Each job's state, asserting the ledger ends each job once, as the control plane says."""
    found = entries(root)
    settled_intents(found)
    ends: dict[str, list[str]] = {}
    for subject in of_kind(found, "job"):
        if subject["status"] != "running":
            ends.setdefault(subject["job_id"], []).append(subject["status"])
    data_dir = DataDir.from_env(root)
    with ControlPlane.open(data_dir) as cp, cp.transaction() as session:
        states = {j.job_id: j.state for j in session.scalars(select(Job))}
    assert {j: s for j, s in states.items() if s not in ("queued", "running")} == {
        j: only for j, (only,) in ends.items()
    }
    assert not list(data_dir.jobs.glob("*/study/metadata/copies/*.duckdb"))
    return states


@pytest.mark.parametrize("point", SUBMIT_POINTS)
def test_a_submit_killed_at_each_write_is_recovered_and_retried_exactly_once(
    point: str, submitting: Submitting, forker: Forker
) -> None:
    killed = submitting.submit(forker, point)
    assert killed.returncode == KILLED, killed.output
    between_intent_and_outcome = point not in ("job.running", "job.ran")
    assert open_intent_count(submitting.root) == between_intent_and_outcome

    restarted = submitting.run(forker, ["user", "whoami"])
    assert restarted.returncode == 0, restarted.output
    (state,) = _agree(submitting.root).values()
    expected = "succeeded" if point in ENDED_AS_RAN else "failed"
    assert state == ("queued" if point in QUEUED_AGAIN else expected)
    if state == "queued":  # nothing of it ran: a worker runs it, once
        worked = submitting.work(forker)
        assert worked.returncode == 0, worked.output
        (state,) = _agree(submitting.root).values()
        assert state == "succeeded"
    with ControlPlane.open(DataDir.from_env(submitting.root)) as cp, cp.transaction() as session:
        (job,) = session.scalars(select(Job))
        made = {o["path"] for o in orjson.loads(job.outputs)}
    assert made == ({"output/dataset.csv", "output/count.csv"} if state == "succeeded" else set())

    retried = submitting.submit(forker)
    assert retried.returncode == 0, retried.output
    states = _agree(submitting.root)
    assert sorted(states.values()) == sorted([state, "succeeded"])
    verify = forker.run(["ledger", "verify", "--data-dir", str(submitting.root)])
    assert verify.returncode == 0 and "OK: every entry re-hashed" in verify.stdout, verify.output
