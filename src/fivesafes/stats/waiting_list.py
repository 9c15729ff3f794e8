"""Waiting lists: the NHS-R waiting list formulas and a simulation of a list over time.

The formulas are those of the NHS-R Community's NHSRwaitinglist package (after Fong et al.,
"Understanding the waiting list", and Neil Walton's queueing notes it follows), with its
argument names and defaults; demand and capacity are per week, waits in weeks:

* target mean wait = target wait / factor (factor 4: a list whose mean wait is a quarter of
  the target has about 2% of patients over it, for an exponential wait distribution);
* target queue size = demand × target mean wait (Little's law);
* load = demand / capacity (above 1 the list grows without bound);
* relief capacity = demand + (queue size − target queue size) / time to target (26 weeks), with
  demand first raised by two standard errors when it was estimated from ``num_referrals``
  referrals with coefficient of variation ``cv_demand``;
* target capacity = demand + (cv_demand² + cv_capacity²) / 2 × factor / target wait
  (Kingman's approximation for the capacity that keeps the mean wait at its target);
* pressure = 2 × mean wait / target wait (above 1 the list is under pressure).

:func:`simulate_waiting_list` runs the list forward day by day: Poisson referrals, a Poisson
number of treatment slots each day taken by the longest waiters first, and (optionally) each
referral leaving of its own accord after a geometric time, as ``wl_simulator()`` models them;
repeated runs give the spread of list size and of the share waiting under the target (18
weeks by default, the referral-to-treatment standard) week by week.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fivesafes.stats.spc_rules import FloatArray

RTT_WEEKS = 18
"""The referral-to-treatment standard: 92% of those waiting should have waited under 18 weeks."""


def _positive(name: str, value: float) -> float:
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be greater than zero (got {value!r})")
    return value


def target_mean_wait(target_wait: float, factor: float = 4) -> float:
    """The mean wait that keeps almost everyone within ``target_wait`` (calc_target_mean_wait)."""
    return _positive("target_wait", target_wait) / _positive("factor", factor)


def target_queue_size(demand: float, target_wait: float, factor: float = 4) -> float:
    """The list size that gives that mean wait at this demand (calc_target_queue_size)."""
    return demand * target_mean_wait(target_wait, factor)


def queue_load(demand: float, capacity: float) -> float:
    """Demand over capacity (calc_queue_load)."""
    return demand / _positive("capacity", capacity)


def relief_capacity(
    demand: float,
    queue_size: float,
    target_queue_size: float,
    time_to_target: float = 26,
    num_referrals: float = 0,
    cv_demand: float = 0,
) -> float:
    """The capacity that brings the list to its target size in ``time_to_target`` weeks
    (calc_relief_capacity)."""
    if num_referrals > 0 and 2 * demand * cv_demand / math.sqrt(num_referrals) < 1:
        demand = demand / (1 - 2 * demand * cv_demand / math.sqrt(num_referrals))
    return demand + (queue_size - target_queue_size) / _positive("time_to_target", time_to_target)


def target_capacity(
    demand: float,
    target_wait: float,
    factor: float = 4,
    cv_demand: float = 1,
    cv_capacity: float = 1,
) -> float:
    """The capacity that keeps the mean wait at its target (calc_target_capacity)."""
    return demand + ((cv_demand**2 + cv_capacity**2) / 2) * (
        factor / _positive("target_wait", target_wait)
    )


def waiting_list_pressure(mean_wait: float, target_wait: float) -> float:
    """Twice the mean wait over the target (calc_waiting_list_pressure)."""
    return 2 * mean_wait / _positive("target_wait", target_wait)


@dataclass(frozen=True, slots=True)
class WaitingListSummary:
    """What the formulas say about one list, like ``wl_stats()``."""

    demand: float
    capacity: float
    load: float
    load_too_big: bool
    queue_size: float
    target_queue_size: float
    queue_too_big: bool
    mean_wait: float
    target_capacity: float | None
    relief_capacity: float | None
    pressure: float

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def summarise_waiting_list(
    demand: float,
    capacity: float,
    queue_size: float,
    mean_wait: float,
    target_wait: float = RTT_WEEKS,
    *,
    cv_demand: float = 1,
    cv_capacity: float = 1,
) -> WaitingListSummary:
    """The formulas applied to a list as ``wl_stats()`` applies them: a list more than twice
    its target size needs relief capacity, otherwise the target capacity keeps it there."""
    target = target_queue_size(demand, target_wait)
    too_big = queue_size > 2 * target
    load = queue_load(demand, capacity)
    return WaitingListSummary(
        demand=demand,
        capacity=capacity,
        load=load,
        load_too_big=load >= 1,
        queue_size=queue_size,
        target_queue_size=target,
        queue_too_big=too_big,
        mean_wait=mean_wait,
        target_capacity=None
        if too_big
        else target_capacity(demand, target_wait, 4, cv_demand, cv_capacity),
        relief_capacity=relief_capacity(demand, queue_size, target) if too_big else None,
        pressure=waiting_list_pressure(mean_wait, target_wait),
    )


# --- simulation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimulatedWeek:
    """One week of the simulation across its runs: the median and the 5th-95th centiles of
    the list size and of the share of the list waiting under the target."""

    week: int
    size_median: float
    size_low: float
    size_high: float
    within_target_median: float
    within_target_low: float
    within_target_high: float


@dataclass(frozen=True, slots=True)
class WaitingListSimulation:
    """The simulated weeks, and what went into them."""

    weeks: tuple[SimulatedWeek, ...]
    demand: float
    capacity: float
    withdrawal: float
    initial_size: int
    target_weeks: int
    runs: int
    patients: int
    """Referrals simulated across all runs (for throughput)."""

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(w) for w in self.weeks]


def _one_run(
    rng: np.random.Generator,
    days: int,
    daily_demand: float,
    daily_capacity: float,
    withdrawal: float,
    initial_waits: list[int],
    target_days: int,
) -> tuple[FloatArray, FloatArray, int]:
    """List size and share within target at the end of each week, for one run.

    Patients wait in referral order (a deque served from the front); those who withdraw are
    counted off on their day and skipped when they reach the front. ``present[r]`` counts the
    patients referred on day r still waiting, so the number waiting longer than the target is
    kept up to date as days cross it, not recounted each week."""
    waiting: deque[tuple[int, int]] = deque()  # (referral day, day it would withdraw), FIFO
    offset = max(initial_waits, default=0)
    present = np.zeros(days + offset + 1, dtype=np.int64)  # by referral day + offset
    leaving: list[list[int]] = [[] for _ in range(days + 1)]  # referral days withdrawing
    size = 0
    crossed = -1  # referral days up to here (offset) are counted in long_waiters
    long_waiters = 0

    def add(day: int) -> None:
        nonlocal size
        # as wl_simulator(): referral + rgeom(p) + 1 (R counts failures, numpy trials); the
        # chance is memoryless, so a patient already waiting draws from today
        leaves = max(day, 0) + int(rng.geometric(withdrawal)) if withdrawal > 0 else days + 1
        waiting.append((day, leaves))
        present[day + offset] += 1
        if leaves <= days:
            leaving[leaves].append(day)
        size += 1

    def gone(referred: int) -> None:
        nonlocal size, long_waiters
        present[referred + offset] -= 1
        size -= 1
        if referred + offset <= crossed:
            long_waiters -= 1

    for wait in sorted(initial_waits, reverse=True):
        add(-wait)
    arrivals = rng.poisson(daily_demand, days)
    slots = rng.poisson(daily_capacity, days)
    weekly_size = np.zeros(days // 7)
    weekly_share = np.zeros(days // 7)
    for day in range(days):
        for _ in range(int(arrivals[day])):
            add(day)
        for referred in leaving[day]:  # those whose day to withdraw has come
            gone(referred)
        for _ in range(int(slots[day])):
            while waiting and waiting[0][1] <= day:
                waiting.popleft()  # withdrew earlier: already counted off
            if not waiting or waiting[0][0] >= day:
                break  # nobody referred before today is waiting
            referred, leaves = waiting.popleft()  # the longest waiter is treated
            if leaves <= days:
                leaving[leaves].remove(referred)
            gone(referred)
        if day % 7 == 6:
            limit = day - target_days + offset
            if limit > crossed:
                long_waiters += int(present[max(crossed + 1, 0) : limit + 1].sum())
                crossed = limit
            weekly_size[day // 7] = size
            weekly_share[day // 7] = 1.0 if size == 0 else 1 - long_waiters / size
    return weekly_size, weekly_share, int(arrivals.sum())


def simulate_waiting_list(
    demand: float,
    capacity: float,
    weeks: int,
    *,
    initial_waits_weeks: list[float] | None = None,
    withdrawal: float = 0.0,
    target_weeks: int = RTT_WEEKS,
    runs: int = 100,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> WaitingListSimulation:
    """Simulate a list for ``weeks`` under ``demand`` referrals and ``capacity`` treatments a
    week (both Poisson day by day), ``withdrawal`` the weekly chance a waiting patient leaves
    the list untreated, from the list described by its patients' waits so far
    (``initial_waits_weeks``). ``progress(done, runs)`` is called after each run."""
    _positive("demand", demand)
    if capacity < 0 or weeks < 1 or runs < 1:
        raise ValueError("capacity must be zero or more, and weeks and runs at least 1")
    if not 0 <= withdrawal < 1:
        raise ValueError(
            f"withdrawal must be a weekly probability from 0 to below 1 ({withdrawal})"
        )
    rng = np.random.default_rng(seed)
    days = weeks * 7
    daily_withdrawal = 1 - (1 - withdrawal) ** (1 / 7)
    initial = [round(w * 7) for w in initial_waits_weeks or []]
    if any(w < 0 for w in initial):
        raise ValueError("initial waits must be zero or more")
    sizes = np.zeros((runs, weeks))
    shares = np.zeros((runs, weeks))
    patients = 0
    for run in range(runs):
        sizes[run], shares[run], referred = _one_run(
            rng, days, demand / 7, capacity / 7, daily_withdrawal, initial, target_weeks * 7
        )
        patients += referred + len(initial)
        if progress is not None:
            progress(run + 1, runs)
    low, mid, high = (np.percentile(sizes, q, axis=0) for q in (5, 50, 95))
    s_low, s_mid, s_high = (np.percentile(shares, q, axis=0) for q in (5, 50, 95))
    return WaitingListSimulation(
        tuple(
            SimulatedWeek(w + 1, *(float(a[w]) for a in (mid, low, high, s_mid, s_low, s_high)))
            for w in range(weeks)
        ),
        demand,
        capacity,
        withdrawal,
        len(initial),
        target_weeks,
        runs,
        patients,
    )
