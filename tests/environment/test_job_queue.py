"""The job queue (issue 14): submitted jobs wait in the control plane, real `fivesafes worker`
processes claim and run them, and whatever becomes of a worker, every job runs once and ends
once, in the control plane and the ledger alike.

Workers here are real processes started from the installed command; a worker is killed with
SIGKILL while its job's action runs, as the OOM killer or a stopped container would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from environment_support import PROJECT, People, study

from fivesafes.environment import (
    Environment,
    RefusalKind,
    Refused,
    accounts,
    incidents,
    job_records,
    jobs,
)
from fivesafes.environment.job_queue import claim, claim_next
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance import Role
from fivesafes.governance.database import DATABASE_URL_ENV
from jobs.jobs_support import needs_sandbox, write_project

pytestmark = needs_sandbox

FIVESAFES = str(Path(sys.executable).parent / "fivesafes")
SLOW_YAML = """
version: 1
actions:
  slow:
    run: python analysis/slow.py
    outputs:
      moderately_sensitive: {table: output/slow.csv}
"""
SLOW = """
import time
time.sleep({seconds})
open("output/slow.csv", "w").write("n\\n1\\n")
"""


def slow_study(root: Path, seconds: float) -> Path:
    """A study of one action that takes ``seconds`` and then writes its one output."""
    return write_project(root, SLOW_YAML, {"analysis/slow.py": SLOW.format(seconds=seconds)})


def _job_entries(env: Environment) -> list[tuple[str, str]]:
    return [
        (e["subject"]["job_id"], e["subject"]["status"])
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == "job"
    ]


def _ended_once(env: Environment, job_ids: list[str]) -> dict[str, str]:
    """Each job's outcome, asserting the ledger started it at most once and ended it once, as
    the control plane says."""
    env.cp.ledger.catch_up()
    entries = _job_entries(env)
    starts = Counter(j for j, s in entries if s == "running")
    ends = {j: [s for k, s in entries if k == j and s != "running"] for j in job_ids}
    states = {j: job_records.get(env, j).state for j in job_ids}  # type: ignore[union-attr]
    for job_id in job_ids:
        assert starts[job_id] <= 1, (job_id, entries)
        assert ends[job_id] == [states[job_id]], (job_id, entries)
    return states


def _environ(env: Environment) -> dict[str, str]:
    """What a command run on ``env`` is given: its key where the fixture keeps it."""
    given = {k: v for k, v in os.environ.items() if k not in (DATABASE_URL_ENV, FAILPOINT_ENV)}
    return given | {"FIVESAFES_KEY_FILE": str(env.data_dir.key_file)}


def _worker(env: Environment, *args: str) -> subprocess.Popen[str]:
    root = env.data_dir.root
    return subprocess.Popen(
        [FIVESAFES, "worker", "--data-dir", str(root), "--poll", "0.2", *args],
        env=_environ(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _until(what: str, done: object, limit: float = 120.0) -> None:
    """Wait for ``done()`` (a callable) to be true; fail saying ``what`` if it never is."""
    deadline = time.monotonic() + limit
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


def _running_action(env: Environment, job_id: str) -> bool:
    events = env.jobs_root / job_id / "events.log"
    return events.is_file() and "slow: running:" in events.read_text()


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts, killed at its end if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_submit_only_queues_and_a_worker_runs_it(world: People, tmp_path: Path) -> None:
    env, ana = world.env, world.tokens["ana"]
    queued = jobs.submit(env, ana, PROJECT, study(tmp_path / "study"))
    assert queued.state == "queued" and queued.runs == ()
    assert _job_entries(env) == []  # nothing has run: nothing of it in the ledger yet
    (ran,) = jobs.work(env, until_empty=True)
    assert ran.job_id == queued.job_id and ran.state == "succeeded", ran.record.error
    assert _ended_once(env, [queued.job_id]) == {queued.job_id: "succeeded"}
    assert jobs.work(env, until_empty=True) == []  # none is run twice


def test_workers_racing_for_the_queue_never_take_one_job_twice(
    world: People, tmp_path: Path
) -> None:
    """Eight threads, each its own worker, claim from one queue of twenty jobs at once: every
    job is taken by exactly one, on the real database."""
    env, ana = world.env, world.tokens["ana"]
    folder = slow_study(tmp_path / "study", 0)
    queued = [jobs.submit(env, ana, PROJECT, folder).job_id for _ in range(20)]
    taken: dict[str, list[str]] = {}
    start = threading.Barrier(8)

    def worker(name: str) -> None:
        start.wait()
        while (job_id := claim_next(env, name)) is not None:
            taken.setdefault(job_id, []).append(name)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(queued)
    assert all(len(by) == 1 for by in taken.values()), taken


def test_two_worker_processes_run_every_job_once(
    world: People, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    env, ana = world.env, world.tokens["ana"]
    folder = slow_study(tmp_path / "study", 0)
    queued = [jobs.submit(env, ana, PROJECT, folder).job_id for _ in range(6)]
    stopped += [_worker(env, "--until-empty"), _worker(env, "--until-empty")]
    for process in stopped:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out
    assert set(_ended_once(env, queued).values()) == {"succeeded"}
    workers = {job_records.get(env, j).worker for j in queued}  # type: ignore[union-attr]
    assert len(workers) in (1, 2) and None not in workers


def test_a_worker_killed_mid_job_leaves_it_failed_with_the_reason_and_the_next_runs_once(
    world: People, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    env, ana = world.env, world.tokens["ana"]
    root = env.data_dir.root
    slow = jobs.submit(env, ana, PROJECT, slow_study(tmp_path / "slow", 300)).job_id
    stopped.append(worker := _worker(env))
    _until("the slow action started", lambda: _running_action(env, slow))
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    after = jobs.submit(env, ana, PROJECT, slow_study(tmp_path / "fast", 0)).job_id

    stopped.append(second := _worker(env, "--until-empty"))
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out
    states = _ended_once(env, [slow, after])
    assert states == {slow: "failed", after: "succeeded"}
    killed = jobs.status(env, ana, slow)
    assert "stopped" in killed.record.error and "during action slow" in killed.record.error
    assert killed.outputs == ()
    study_copy = env.jobs_root / slow / "study"
    assert not (study_copy / "output" / "slow.csv").exists()  # nothing half-made was kept
    assert not list((study_copy / "metadata").glob("workspaces/*"))
    assert not list((study_copy / "metadata").glob("copies/*"))
    verify = subprocess.run(
        [FIVESAFES, "ledger", "verify", "--data-dir", str(root)],
        env=_environ(env),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_jobs_queued_across_a_server_restart_all_run_exactly_once(
    world: People, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    """A server started with no job workers leaves the queue as it is; started again with one,
    it runs every job queued meanwhile, once."""
    env, ana = world.env, world.tokens["ana"]
    root = env.data_dir.root
    folder = slow_study(tmp_path / "study", 0)
    queued = [jobs.submit(env, ana, PROJECT, folder).job_id for _ in range(2)]

    def serve(workers: int) -> subprocess.Popen[str]:
        args = ["serve", "--port", "0", "--workers-for-jobs", str(workers)]
        process = subprocess.Popen(
            [FIVESAFES, *args, "--data-dir", str(root)],
            env=_environ(env),
            stdout=subprocess.PIPE,
            text=True,
        )
        stopped.append(process)
        return process

    first = serve(0)
    queued.append(jobs.submit(env, ana, PROJECT, folder).job_id)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=120)
    states = {j: job_records.get(env, j).state for j in queued}  # type: ignore[union-attr]
    assert set(states.values()) == {"queued"}

    second = serve(1)
    queued.append(jobs.submit(env, ana, PROJECT, folder).job_id)

    def all_ended() -> bool:
        ended = [job_records.get(env, j) for j in queued]
        return all(r is not None and r.state not in ("queued", "running") for r in ended)

    _until("every queued job ended", all_ended, 600)
    second.send_signal(signal.SIGTERM)
    second.wait(timeout=120)
    assert set(_ended_once(env, queued).values()) == {"succeeded"}


def test_a_queued_job_is_cancelled_at_once_and_never_runs(world: People, tmp_path: Path) -> None:
    env, ana = world.env, world.tokens["ana"]
    job_id = jobs.submit(env, ana, PROJECT, slow_study(tmp_path / "study", 0)).job_id
    view = jobs.cancel(env, ana, job_id)
    assert view.state == "cancelled" and view.record.error == "cancelled by ana"
    assert jobs.work(env, until_empty=True) == []
    assert _job_entries(env) == [(job_id, "cancelled")]  # never started, ended once
    with pytest.raises(Refused, match="already ended"):
        jobs.cancel(env, ana, job_id)


def test_a_running_job_is_stopped_by_its_worker_and_ends_cancelled(
    world: People, tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    env, ana = world.env, world.tokens["ana"]
    job_id = jobs.submit(env, ana, PROJECT, slow_study(tmp_path / "study", 300)).job_id
    stopped.append(worker := _worker(env, "--until-empty", "--lease", "3"))
    _until("the slow action started", lambda: _running_action(env, job_id))
    asked = jobs.cancel(env, world.tokens["cus"], job_id)
    assert asked.state == "running" and asked.record.cancel_requested_by == "cus"
    out, _ = worker.communicate(timeout=600)  # its action was killed, not waited for
    assert worker.returncode == 0, out
    assert _ended_once(env, [job_id]) == {job_id: "cancelled"}
    view = jobs.status(env, ana, job_id)
    assert view.record.error == "cancelled by cus" and view.outputs == ()
    (slow,) = view.runs
    assert slow.status == "failed"  # killed part-way: its output was never kept
    assert not (env.jobs_root / job_id / "study" / "output" / "slow.csv").exists()


def test_an_analyst_off_the_project_can_neither_see_nor_cancel_a_job(
    world: People, tmp_path: Path
) -> None:
    env = world.env
    job_id = jobs.submit(env, world.tokens["ana"], PROJECT, slow_study(tmp_path / "s", 0)).job_id
    eve = world.add("eve", Role.ANALYST)
    for attempt in (jobs.cancel, jobs.status, jobs.wait):
        with pytest.raises(Refused, match="that you may see") as refused:
            attempt(env, eve, job_id)
        assert refused.value.kind is RefusalKind.FORBIDDEN
    assert job_records.get(env, job_id).state == "queued"  # type: ignore[union-attr]
    refusals = [
        e["subject"]["action"]
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == "refusal" and e["actor"] == "eve"
    ]
    assert refusals == ["cancel_job", "job_status", "wait_job"]
    (ran,) = jobs.work(env, until_empty=True)
    assert ran.job_id == job_id and ran.state == "succeeded"  # the refused cancel stopped nothing


def test_while_the_environment_is_suspended_workers_start_nothing(
    world: People, tmp_path: Path
) -> None:
    env, ana, cus = world.env, world.tokens["ana"], world.tokens["cus"]
    job_id = jobs.submit(env, ana, PROJECT, slow_study(tmp_path / "study", 0)).job_id
    incidents.suspend(env, cus, "a token may have leaked")
    assert jobs.work(env, until_empty=True) == []
    with pytest.raises(Refused, match="suspended"):
        jobs.wait(env, ana, job_id)
    assert job_records.get(env, job_id).state == "queued"  # type: ignore[union-attr]
    incidents.resume(env, cus)
    (ran,) = jobs.work(env, until_empty=True)
    assert (ran.job_id, ran.state) == (job_id, "succeeded")


def test_a_job_whose_submitter_lost_their_account_while_it_waited_never_starts(
    world: People, tmp_path: Path
) -> None:
    """Authorised when submitted is not enough: the worker asks again before it starts."""
    env = world.env
    job_id = jobs.submit(env, world.tokens["ana"], PROJECT, slow_study(tmp_path / "s", 0)).job_id
    accounts.change(env, world.tokens["cus"], "ana", disable=True)
    (ended,) = jobs.work(env, until_empty=True)
    assert ended.job_id == job_id and ended.state == "failed" and ended.runs == ()
    assert ended.record.error == "not started: account ana is disabled"
    assert _job_entries(env) == [(job_id, "failed")]  # it never started


def test_the_command_line_queues_cancels_and_works(
    world: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The faces only render: `submit` says the job is queued, `job cancel` that it ended,
    `worker --until-empty` what it ran (nothing, here)."""
    from typer.testing import CliRunner

    import fivesafes.cli.jobs  # noqa: F401  (registers submit, worker and job)
    from fivesafes.cli.common import app

    env = world.env
    monkeypatch.setenv("FIVESAFES_KEY_FILE", str(env.data_dir.key_file))
    where = ["--data-dir", str(env.data_dir.root)]
    token = ["--token", world.tokens["ana"]]
    study_dir = str(slow_study(tmp_path / "study", 0))
    runner = CliRunner()
    queued = runner.invoke(
        app, ["submit", "--project", study_dir, "--project-id", PROJECT, *where, *token]
    )
    assert queued.exit_code == 0, queued.output
    job_id = queued.stdout.split("job ")[1].split()[0]
    assert f"job {job_id} of {PROJECT}: queued" in queued.stdout
    cancelled = runner.invoke(app, ["job", "cancel", job_id, *where, *token])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"job {job_id} of {PROJECT}: cancelled" in cancelled.stdout
    assert "why: cancelled by ana" in cancelled.stdout
    worked = runner.invoke(app, ["worker", "--until-empty", "--format", "json", *where])
    assert worked.exit_code == 0, worked.output
    assert orjson.loads(worked.stdout) == []
    again = runner.invoke(app, ["job", "cancel", job_id, *where, *token])
    assert again.exit_code == 2 and "already ended (cancelled)" in again.stderr


def test_a_claim_from_another_host_is_taken_back_only_once_its_lease_has_run_out(
    world: People, tmp_path: Path
) -> None:
    """A worker on another host cannot be seen to die: its lease says. (Leases are given
    already run out here, rather than waited for.)"""
    env, ana = world.env, world.tokens["ana"]
    folder = slow_study(tmp_path / "study", 0)
    waiting, started, alive = (jobs.submit(env, ana, PROJECT, folder).job_id for _ in range(3))
    assert claim(env, waiting, "elsewhere:1:aa", lease=-1)
    assert claim(env, started, "elsewhere:2:bb", lease=-1)
    job_records.start(env, started)  # as its worker did, before its host was lost
    assert claim(env, alive, "elsewhere:3:cc")  # renewed in time: left alone
    assert job_records.close_orphans(env) == [started]
    ended = job_records.get(env, started)
    assert ended is not None and ended.state == "failed"
    assert ended.error.startswith("its worker elsewhere:2:bb stopped (its lease expired)")
    again = job_records.get(env, waiting)
    assert again is not None and (again.state, again.worker) == ("queued", None)
    kept = job_records.get(env, alive)
    assert kept is not None and (kept.state, kept.worker) == ("queued", "elsewhere:3:cc")
    (ran,) = jobs.work(env, until_empty=True)  # the one queued again runs once, here
    assert (ran.job_id, ran.state) == (waiting, "succeeded")
