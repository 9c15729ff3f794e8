"""Benchmark the job queue: how fast jobs are queued, and how long a queued job waits for a
worker to start it, beside running the same study with `fivesafes run` (the floor).

One environment (six synthetic people, one approved project) and one study of one sandboxed
action that writes a small table. Each round, timed alternately in the same run:

* **queue**: ``--jobs`` calls of ``jobs.submit`` in this process (authorise, copy the study,
  write the record), nothing running them: jobs queued per second. Floor: the same study run
  once, sandboxed, on dummy data in this process (``run_on_dummy_data``): what running it at all
  costs, so the ratio says what queueing adds to a job.
* **start**: with one `fivesafes worker --poll P` already running (warm, as `serve`'s is), the
  time from calling ``jobs.submit`` to the action's start (its ``running:`` line in the
  job's log) and to the job's end. Floor: `fivesafes run --sandbox` started afresh, to its
  action's start (its ``running:`` line on stderr) and to its exit.

The machine is shared (2 cores, other work): read the ratios, best of ``--rounds``. The worker's
peak resident memory (``VmHWM``) and the `fivesafes run` child's (``ru_maxrss``) are printed too.

    .venv/bin/python bench/bench_job_queue.py                  # 3 rounds, 10 jobs a round
    .venv/bin/python bench/bench_job_queue.py --rounds 1 --jobs 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "environment")]

from environment_support import PROJECT, approved_world, open_with_custodian  # noqa: E402

from fivesafes.environment import Environment, job_records, jobs  # noqa: E402
from fivesafes.environment.local import run_on_dummy_data  # noqa: E402
from fivesafes.jobs import Limits  # noqa: E402
from fivesafes.store.config import DataDir  # noqa: E402
from jobs.jobs_support import write_project  # noqa: E402

FIVESAFES = str(Path(sys.executable).parent / "fivesafes")
STUDY_YAML = """
version: 1
actions:
  table:
    run: python analysis/table.py
    outputs:
      moderately_sensitive: {table: output/table.csv}
"""
TABLE = 'open("output/table.csv", "w").write("n\\n10\\n")\n'


@dataclass
class Best:
    values: dict[str, float]

    def keep(self, name: str, value: float) -> None:
        self.values[name] = min(value, self.values.get(name, float("inf")))


def _until(done: object, limit: float = 300.0) -> float:
    """Wait for ``done()``; the moment it became true (perf_counter)."""
    deadline = time.perf_counter() + limit
    while not done():  # type: ignore[operator]
        if time.perf_counter() > deadline:
            raise SystemExit("timed out waiting")
        time.sleep(0.005)
    return time.perf_counter()


def queue_round(env: Environment, token: str, study: Path, n: int) -> float:
    """Seconds per job to queue ``n`` jobs."""
    began = time.perf_counter()
    for _ in range(n):
        jobs.submit(env, token, PROJECT, study)
    return (time.perf_counter() - began) / n


def run_in_process(study: Path) -> float:
    began = time.perf_counter()
    results = run_on_dummy_data(study, None, sandbox=True, limits=Limits(), force=True)
    assert [r.status for r in results] == ["ran"], results
    return time.perf_counter() - began


def through_worker(env: Environment, token: str, study: Path) -> tuple[float, float]:
    """Seconds from submitting to the action's start, and to the job's end, via the worker."""
    began = time.perf_counter()
    job_id = jobs.submit(env, token, PROJECT, study).job_id
    events = env.jobs_root / job_id / "events.log"
    started = _until(lambda: events.is_file() and "table: running:" in events.read_text())

    def ended() -> bool:
        record = job_records.get(env, job_id)
        return record is not None and record.state not in ("queued", "running")

    finished = _until(ended)
    record = job_records.get(env, job_id)
    assert record is not None and record.state == "succeeded", record
    return started - began, finished - began


def with_run(study: Path) -> tuple[float, float, float]:
    """`fivesafes run --sandbox` afresh: seconds to its action's start, to its exit; peak MiB."""
    began = time.perf_counter()
    child = subprocess.Popen(
        [FIVESAFES, "run", "--sandbox", "--force", "--project", str(study)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    started = None
    for line in child.stderr:
        if started is None and line.startswith("table: running"):
            started = time.perf_counter()
    _, status, usage = os.wait4(child.pid, 0)
    finished = time.perf_counter()
    assert os.waitstatus_to_exitcode(status) == 0 and started is not None
    return started - began, finished - began, usage.ru_maxrss / 1024


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=10, help="jobs queued a round")
    parser.add_argument("--poll", type=float, default=0.2, help="the worker's --poll")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        root = Path(tmp)
        data_dir = DataDir.from_env(root / "env")
        people = approved_world(open_with_custodian(data_dir), root)
        env, token = people.env, people.tokens["ana"]
        study = write_project(root / "study", STUDY_YAML, {"analysis/table.py": TABLE})
        best = Best({})
        for _ in range(args.rounds):
            best.keep("queue s/job", queue_round(env, token, study, args.jobs))
            best.keep("run in-process s", run_in_process(study))
        worker = subprocess.Popen(
            [FIVESAFES, "worker", "--data-dir", str(data_dir.root), "--poll", str(args.poll)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # the jobs queued above are run first: wait for the queue to empty
            _until(lambda: not [j for j in job_records.of_project(env, PROJECT)
                                if j.state in ("queued", "running")], 3600)  # fmt: skip
            run_peak = 0.0
            for _ in range(args.rounds):
                start, end = through_worker(env, token, study)
                best.keep("worker: to start s", start)
                best.keep("worker: to end s", end)
                start, end, peak = with_run(study)
                best.keep("run: to start s", start)
                best.keep("run: to end s", end)
                run_peak = max(run_peak, peak)
            worker_peak = _peak_mib(worker.pid)
        finally:
            worker.terminate()
            worker.wait()
            env.close()
    b = best.values
    print(f"rounds {args.rounds}, {args.jobs} jobs queued a round, worker --poll {args.poll}")
    print(f"queue: {1 / b['queue s/job']:.1f} jobs/s ({b['queue s/job'] * 1000:.0f} ms a job); "
          f"floor, the study run once in-process: {b['run in-process s'] * 1000:.0f} ms; "
          f"ratio {b['queue s/job'] / b['run in-process s']:.2f}")  # fmt: skip
    print(f"submit to action start via a warm worker: {b['worker: to start s']:.2f} s; "
          f"`fivesafes run` to action start: {b['run: to start s']:.2f} s; "
          f"ratio {b['worker: to start s'] / b['run: to start s']:.2f}")  # fmt: skip
    print(f"submit to job end via the worker: {b['worker: to end s']:.2f} s; "
          f"`fivesafes run` to exit: {b['run: to end s']:.2f} s; "
          f"ratio {b['worker: to end s'] / b['run: to end s']:.2f}")  # fmt: skip
    print(f"peak memory: worker {worker_peak:.0f} MiB; `fivesafes run` {run_peak:.0f} MiB")


if __name__ == "__main__":
    main()
