"""Job claims on both control-plane backends (issue 14): the queue is the jobs table, and a
claim is one conditional update whose changed-row count says who won. Eight threads, each its
own worker, race for one queue on SQLite and on a real PostgreSQL: every job is taken once, and
a worker then runs one to its end."""

from __future__ import annotations

import threading
from pathlib import Path

from environment.environment_support import (
    PROJECT,
    People,
    approved_world,
    person,
    quick_study,
)
from fivesafes.environment import Environment, jobs
from fivesafes.environment.job_queue import claim_next, unclaim
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import Role
from fivesafes.store.config import DataDir
from jobs.jobs_support import needs_sandbox

pytestmark = needs_sandbox


def test_racing_workers_take_each_job_once_on_both_backends(
    control_url: str, tmp_path: Path
) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    initialise(
        data_dir, Settings("Test environment"), person("cus", Role.DATA_CUSTODIAN), url=control_url
    )
    with Environment.open(data_dir, url=control_url) as env:
        people = People(env)
        people.enrol("cus")
        people.key("cus")
        world = approved_world(people, tmp_path)
        folder = quick_study(tmp_path / "study")
        queued = [jobs.submit(env, world.tokens["ana"], PROJECT, folder).job_id for _ in range(12)]
        taken: dict[str, list[str]] = {}
        start = threading.Barrier(8)

        def worker(name: str) -> None:
            start.wait()
            while (job_id := claim_next(env, name)) is not None:
                taken.setdefault(job_id, []).append(name)

        threads = [threading.Thread(target=worker, args=(f"host:1:w{n}",)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(taken) == sorted(queued)
        assert all(len(by) == 1 for by in taken.values()), taken

        first = queued[0]
        assert unclaim(env, first, taken[first][0])  # back in the queue, for a real worker
        (ran,) = jobs.work(env, until_empty=True)
        assert (ran.job_id, ran.state) == (first, "succeeded"), ran.record.error
