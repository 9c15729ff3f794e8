"""Safety monitoring of outcomes against expectation: risk-adjusted CUSUM and VLAD charts.

**Risk-adjusted CUSUM** (Steiner SH, Cook RJ, Farewell VT & Treasure T (2000) "Monitoring
surgical performance using risk-adjusted cumulative sum charts", Biostatistics 1:441-452):
each patient t with predicted risk pₜ and outcome yₜ (1 = the adverse event) adds the
log-likelihood ratio of the odds of the event being multiplied by ``odds_ratio`` (R_A) against
being as predicted,

    Wₜ = yₜ log R_A − log(1 − pₜ + R_A pₜ),

to Xₜ = max(0, Xₜ₋₁ + Wₜ), which signals at a threshold h. R_A = 2 looks for a doubling of the
odds (deterioration), R_A = ½ for a halving (improvement, conventionally drawn below zero).
When only counts can leave the environment, the same test runs on periods: with Oₜ observed
and Eₜ expected events, Wₜ = Oₜ log R_A − (R_A − 1) Eₜ (the Poisson CUSUM of rate ratio R_A).

**Thresholds for a stated false-alarm rate.** h is chosen so that, if every outcome is drawn
at its expectation, the chance of a (false) signal within a given number of patients or
periods is the stated rate, or so that the average run length to a false signal is a stated
number. Both come from the Markov chain of Brook & Evans (1972) as Steiner et al. use it: the
CUSUM's values in [0, h) discretised into steps of 1/``scaling``, each weight rounded to a step.

**VLAD** (variable life-adjusted display; Lovegrove J et al. (1997) Lancet 350:1128-1130):
the running total of expected minus observed events, Σ(pₜ − yₜ), "lives saved".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse, stats
from scipy.sparse import linalg as sparse_linalg

from fivesafes.stats.spc_rules import FloatArray, Numbers


def _risks(risks: Numbers) -> FloatArray:
    p = np.asarray(risks, dtype=float)
    if p.ndim != 1 or p.size == 0 or np.any(~np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        raise ValueError("risks must be probabilities strictly between 0 and 1")
    return p


def _odds_ratio(odds_ratio: float) -> float:
    if not odds_ratio > 0 or odds_ratio == 1 or not math.isfinite(odds_ratio):
        raise ValueError(f"odds_ratio must be positive and not 1 (got {odds_ratio!r})")
    return odds_ratio


def cusum_weights(risks: Numbers, outcomes: Numbers, odds_ratio: float = 2.0) -> FloatArray:
    """Each patient's log-likelihood-ratio weight (Steiner et al. 2000, equation 2)."""
    p, y = _risks(risks), np.asarray(outcomes, dtype=float)
    ra = _odds_ratio(odds_ratio)
    if y.shape != p.shape or np.any((y < 0) | (y > 1)):
        raise ValueError("need one outcome from 0 to 1 per risk")
    weights: FloatArray = y * math.log(ra) - np.log(1 - p + ra * p)
    return weights


def poisson_cusum_weights(
    observed: Numbers, expected: Numbers, rate_ratio: float = 2.0
) -> FloatArray:
    """Each period's weight from its observed and expected counts: O log R − (R − 1) E."""
    o, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    ra = _odds_ratio(rate_ratio)
    if o.shape != e.shape or o.ndim != 1 or np.any(o < 0) or np.any(e <= 0):
        raise ValueError("need observed counts of zero or more and expected counts above zero")
    weights: FloatArray = o * math.log(ra) - (ra - 1) * e
    return weights


@dataclass(frozen=True, slots=True)
class CusumPoint:
    index: int
    x: Any
    weight: float
    value: float
    signal: bool


@dataclass(frozen=True, slots=True)
class CusumResult:
    """A CUSUM path: ``value`` after each patient or period and where it signalled."""

    odds_ratio: float
    threshold: float
    reset: bool
    points: tuple[CusumPoint, ...]

    @property
    def signals(self) -> tuple[int, ...]:
        return tuple(p.index for p in self.points if p.signal)

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(p) | {"threshold": self.threshold} for p in self.points]


def cusum_path(
    weights: Numbers,
    threshold: float,
    *,
    x: Sequence[Any] | None = None,
    odds_ratio: float = 2.0,
    reset: bool = True,
) -> CusumResult:
    """Xₜ = max(0, Xₜ₋₁ + Wₜ), signalling at ``threshold`` (and starting again from 0 after a
    signal when ``reset``, as Steiner et al. restart the chart once a signal is looked into)."""
    w = np.asarray(weights, dtype=float)
    if not threshold > 0:
        raise ValueError(f"threshold must be greater than zero (got {threshold!r})")
    xs = list(range(w.size)) if x is None else list(x)
    if len(xs) != w.size:
        raise ValueError("need one x per weight")
    value = 0.0
    points = []
    for i, weight in enumerate(w):
        value = max(0.0, value + float(weight))
        signal = value >= threshold
        points.append(CusumPoint(i, xs[i], float(weight), value, signal))
        if signal and reset:
            value = 0.0
    return CusumResult(odds_ratio, threshold, reset, tuple(points))


def ra_cusum(
    risks: Numbers,
    outcomes: Numbers,
    threshold: float,
    *,
    odds_ratio: float = 2.0,
    x: Sequence[Any] | None = None,
    reset: bool = True,
) -> CusumResult:
    """The risk-adjusted CUSUM of binary ``outcomes`` against their predicted ``risks``."""
    return cusum_path(
        cusum_weights(risks, outcomes, odds_ratio), threshold, x=x, odds_ratio=odds_ratio,
        reset=reset,
    )  # fmt: skip


# --- thresholds from the Markov chain ---------------------------------------------------------


def _bernoulli_steps(
    risks: FloatArray, odds_ratio: float, true_odds_ratio: float
) -> list[tuple[float, list[tuple[float, float]]]]:
    """(frequency, [(weight, probability)...]) per distinct risk, outcomes drawn with the odds
    multiplied by ``true_odds_ratio`` (1: in control)."""
    values, counts = np.unique(np.round(risks, 6), return_counts=True)
    out = []
    for p, c in zip(values, counts, strict=True):
        q = true_odds_ratio * p / (1 - p + true_odds_ratio * p)  # the risk at the true odds
        base = -math.log(1 - p + odds_ratio * p)
        out.append((c / risks.size, [(math.log(odds_ratio) + base, q), (base, 1 - q)]))
    return out


def _poisson_steps(
    expected: FloatArray, rate_ratio: float, true_rate_ratio: float
) -> list[tuple[float, list[tuple[float, float]]]]:
    out = []
    for e in expected:
        mean = true_rate_ratio * e
        top = int(stats.poisson.ppf(1 - 1e-12, mean)) + 1
        ks = np.arange(top + 1)
        probs = stats.poisson.pmf(ks, mean)
        steps = [(k * math.log(rate_ratio) - (rate_ratio - 1) * e, float(pk))
                 for k, pk in zip(ks, probs, strict=True)]  # fmt: skip
        out.append((1 / expected.size, steps))
    return out


def _transitions(
    threshold: float, steps: list[tuple[float, list[tuple[float, float]]]], scaling: int
) -> sparse.csr_matrix:
    """The chain among the states 0 .. m − 1 (CUSUM values k / scaling below the threshold);
    probability missing from a row is the chance of signalling from that state."""
    m = max(1, math.ceil(threshold * scaling))
    rows, cols, vals = [], [], []
    states = np.arange(m)
    for frequency, outcomes in steps:
        for weight, prob in outcomes:
            nxt = np.maximum(0, states + round(weight * scaling))
            inside = nxt < m
            rows.append(states[inside])
            cols.append(nxt[inside])
            vals.append(np.full(int(inside.sum()), frequency * prob))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m)
    )


def _steps(
    risks: Numbers | None, expected: Numbers | None, ratio: float, true_ratio: float
) -> list[tuple[float, list[tuple[float, float]]]]:
    if (risks is None) == (expected is None):
        raise ValueError("give the case mix as risks (patients) or expected counts (periods)")
    if risks is not None:
        return _bernoulli_steps(_risks(risks), _odds_ratio(ratio), true_ratio)
    e = np.asarray(expected, dtype=float)
    if e.ndim != 1 or e.size == 0 or np.any(e <= 0):
        raise ValueError("expected counts must all be greater than zero")
    return _poisson_steps(e, _odds_ratio(ratio), true_ratio)


def cusum_arl(
    threshold: float,
    *,
    risks: Numbers | None = None,
    expected: Numbers | None = None,
    odds_ratio: float = 2.0,
    true_odds_ratio: float = 1.0,
    scaling: int = 100,
) -> float:
    """The average number of patients (or periods) to a signal, for patients drawn from the
    case mix ``risks`` (or periods from ``expected``) with outcomes at ``true_odds_ratio``
    times the predicted odds: 1 gives the in-control ARL, the mean time to a false alarm."""
    q = _transitions(threshold, _steps(risks, expected, odds_ratio, true_odds_ratio), scaling)
    eye = sparse.identity(q.shape[0], format="csc")
    times = sparse_linalg.spsolve((eye - q).tocsc(), np.ones(q.shape[0]))
    return float(np.atleast_1d(times)[0])


def cusum_false_alarm(
    threshold: float,
    horizon: int,
    *,
    risks: Numbers | None = None,
    expected: Numbers | None = None,
    odds_ratio: float = 2.0,
    scaling: int = 100,
) -> float:
    """The chance of a false signal within ``horizon`` patients (or periods) in control."""
    q = _transitions(threshold, _steps(risks, expected, odds_ratio, 1.0), scaling)
    alive: FloatArray = np.ones(q.shape[0])
    for _ in range(horizon):
        alive = q @ alive
    return float(1 - alive[0])


def cusum_threshold(
    false_alarm: float,
    horizon: int,
    *,
    risks: Numbers | None = None,
    expected: Numbers | None = None,
    odds_ratio: float = 2.0,
    scaling: int = 100,
) -> float:
    """The smallest threshold whose chance of a false signal within ``horizon`` patients (or
    periods) is at most ``false_alarm``; 0 asks for a threshold no in-control run can reach."""
    if not 0 <= false_alarm < 1 or horizon < 1:
        raise ValueError("false_alarm must be from 0 to below 1, and horizon at least 1")
    steps = _steps(risks, expected, odds_ratio, 1.0)
    worst = max(max(w for w, _ in outcomes) for _, outcomes in steps)
    hi = max(worst, 1 / scaling) * horizon + 1 / scaling  # unreachable within the horizon

    def rate(h: float) -> float:
        return cusum_false_alarm(
            h, horizon, risks=risks, expected=expected, odds_ratio=odds_ratio, scaling=scaling
        )

    if false_alarm == 0:
        return hi
    lo = 1 / scaling
    if rate(lo) <= false_alarm:
        return lo
    # grow the bracket from below: the unreachable bound can be far larger than needed, and
    # the chain has threshold x scaling states
    top = min(1.0, hi)
    while top < hi and rate(top) > false_alarm:
        lo, top = top, min(2 * top, hi)
    hi = top
    while hi - lo > 1 / scaling:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if rate(mid) <= false_alarm else (mid, hi)
    return round(hi, 6)


# --- VLAD -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VladPoint:
    index: int
    x: Any
    expected: float
    observed: float
    lives_saved: float
    """Running total of expected minus observed events up to and including this one."""


@dataclass(frozen=True, slots=True)
class VladResult:
    points: tuple[VladPoint, ...]

    @property
    def lives_saved(self) -> float:
        return self.points[-1].lives_saved

    def to_records(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.points]


def vlad(expected: Numbers, observed: Numbers, x: Sequence[Any] | None = None) -> VladResult:
    """The VLAD of patients (``expected`` = predicted risks, ``observed`` = 0/1 outcomes) or of
    periods (expected and observed counts)."""
    e, o = np.asarray(expected, dtype=float), np.asarray(observed, dtype=float)
    if e.shape != o.shape or e.ndim != 1 or e.size == 0:
        raise ValueError("need one observed value per expected value")
    if np.any(e < 0) or np.any(o < 0) or not np.all(np.isfinite(e + o)):
        raise ValueError("expected and observed values must be zero or more")
    xs = list(range(e.size)) if x is None else list(x)
    if len(xs) != e.size:
        raise ValueError("need one x per value")
    running = np.cumsum(e - o)
    return VladResult(
        tuple(
            VladPoint(i, xs[i], float(e[i]), float(o[i]), float(running[i])) for i in range(e.size)
        )
    )
