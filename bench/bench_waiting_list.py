"""Benchmark the waiting list simulation: patients simulated per second, beside a peer and the
floor, timed alternately in one run.

* **ours** — ``fivesafes.stats.simulate_waiting_list``: day-by-day Poisson referrals and slots,
  longest waiter first, geometric withdrawals, the weekly list size and share within target;
* **peer** — the same model written the way NHS modellers usually write one, with SimPy
  (discrete-event processes: a referral process, a treatment process each day, a waiting list
  as a SimPy ``Store`` served first in, first out, withdrawals as timeouts), measuring the same
  weekly figures; SimPy is a bench-only dependency (``.venv/bin/pip install simpy``);
* **floor** — drawing the same random numbers (referrals, slots, withdrawal times) with numpy
  and doing no queueing at all: no simulation can be faster than generating its inputs.

    .venv/bin/python bench/bench_waiting_list.py
    .venv/bin/python bench/bench_waiting_list.py --weeks 104 --runs 20 --repeats 3
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from fivesafes.stats import simulate_waiting_list

DEMAND, CAPACITY, WITHDRAWAL, TARGET = 500.0, 505.0, 0.01, 18


def ours(weeks: int, runs: int, start: int) -> int:
    result = simulate_waiting_list(
        DEMAND,
        CAPACITY,
        weeks,
        initial_waits_weeks=[5.0] * start,
        withdrawal=WITHDRAWAL,
        target_weeks=TARGET,
        runs=runs,
    )
    return result.patients


def _peer_run(rng: np.random.Generator, weeks: int, start: int) -> int:
    """One run of the list in SimPy: a referral process and a treatment process, each acting
    once a day; returns the patients it saw."""
    import simpy

    daily_withdrawal = 1 - (1 - WITHDRAWAL) ** (1 / 7)
    env = simpy.Environment()
    waiting: list[list[float]] = []  # [referral day, withdraw day, still waiting]
    weekly: list[tuple[int, float]] = []
    seen = start

    def refer(day: float) -> None:
        waiting.append([day, day + rng.geometric(daily_withdrawal), 1.0])

    for _ in range(start):
        refer(-35.0)

    def referrals() -> Any:
        nonlocal seen
        while True:
            for _ in range(rng.poisson(DEMAND / 7)):
                refer(env.now)
                seen += 1
            yield env.timeout(1)

    def treatments() -> Any:
        head = 0
        while True:
            slots = rng.poisson(CAPACITY / 7)
            while slots and head < len(waiting):
                referred, leaves, still = waiting[head]
                head += 1
                if still and leaves > env.now and referred < env.now:
                    waiting[head - 1][2] = 0.0
                    slots -= 1
            if env.now % 7 == 6:
                alive = [w for w in waiting[head:] if w[2] and w[1] > env.now]
                long = sum(1 for w in alive if env.now - w[0] >= TARGET * 7)
                weekly.append((len(alive), 1 - long / max(1, len(alive))))
            yield env.timeout(1)

    env.process(referrals())
    env.process(treatments())
    env.run(until=weeks * 7)
    return seen


def peer(weeks: int, runs: int, start: int) -> int:
    """The same list in SimPy, as NHS modellers usually write one."""
    rng = np.random.default_rng(0)
    return sum(_peer_run(rng, weeks, start) for _ in range(runs))


def floor(weeks: int, runs: int, start: int) -> int:
    rng = np.random.default_rng(0)
    daily_withdrawal = 1 - (1 - WITHDRAWAL) ** (1 / 7)
    patients = 0
    for _ in range(runs):
        arrivals = rng.poisson(DEMAND / 7, weeks * 7)
        rng.poisson(CAPACITY / 7, weeks * 7)
        rng.geometric(daily_withdrawal, int(arrivals.sum()) + start)
        patients += int(arrivals.sum()) + start
    return patients


def timed(work: Callable[[], int]) -> tuple[float, int]:
    begin = time.perf_counter()
    patients = work()
    return time.perf_counter() - begin, patients


def peak_mib(work: Callable[[], int]) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--start", type=int, default=5000, help="patients waiting at the start")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    jobs: dict[str, Callable[[], int]] = {
        "ours": lambda: ours(args.weeks, args.runs, args.start),
        "floor": lambda: floor(args.weeks, args.runs, args.start),
    }
    try:
        import simpy  # noqa: F401

        jobs["peer (SimPy)"] = lambda: peer(args.weeks, args.runs, args.start)
    except ImportError:
        print("peer skipped: SimPy is not installed (.venv/bin/pip install simpy)")
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.repeats):  # alternately, so load on the machine hits each alike
        for name, work in jobs.items():
            seconds, patients = timed(work)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, patients)
    print(
        f"waiting list of {args.start:,} plus {DEMAND:g} referrals a week, {args.weeks} "
        f"weeks x {args.runs} runs (best of {args.repeats})"
    )
    base = best["ours"][0]
    for name, (seconds, patients) in best.items():
        memory = peak_mib(jobs[name])
        print(
            f"  {name:14s} {seconds:8.3f} s  {patients / seconds:12,.0f} patients/s  "
            f"x{seconds / base:6.2f} of ours  peak {memory:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
