"""Monthly staff in post (FTE) by organisation and staff group, in the NHS Workforce
Statistics layout of the ``workforce`` table.

Trusts employ about 22 FTE per 1,000 people they serve, split across staff groups
roughly as in NHS England's hospital and community health services; practices employ
GPs, nurses, other direct patient care staff (growing fast from 2019, as the Additional
Roles scheme did) and administrative staff in proportion to their list size. Staffing
grows about 2.5% a year with a step in spring 2020 and drifts month to month.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from fivesafes.model.tables import REGIONS, workforce
from fivesafes.synth.geography import Geography

MONTHS = [date(year, month, 1) for year in range(2016, 2026) for month in range(1, 13)]
GROUPS = workforce.column("staff_group").categories or ()
TRUST_PER_1000 = 22.0
TRUST_MIX = dict(zip(GROUPS, (0.11, 0.27, 0.02, 0.01, 0.14, 0.30, 0.15), strict=True))
PRACTICE_PER_1000 = {
    "Doctors": 0.6,
    "Nurses and health visitors": 0.3,
    "Support to clinical staff": 0.25,
    "NHS infrastructure support": 1.1,
}


def _trend(rng: np.random.Generator, extra_growth_from_2019: float) -> np.ndarray:
    """Multiplier per month: steady growth, a spring-2020 step, a small random walk."""
    years = np.arange(len(MONTHS)) / 12
    growth = 1.025**years * np.where(years >= 4.25, 1.03, 1.0)
    growth *= 1 + extra_growth_from_2019 * np.clip(years - 3, 0, None)
    return growth * np.exp(np.cumsum(rng.normal(0, 0.004, len(MONTHS))))


def workforce_rows(rng: np.random.Generator, geo: Geography, patients: int) -> list[list[str]]:
    """Rows (organisation_code, staff_group, month, fte) for every trust and practice."""
    rows: list[list[str]] = []
    months = [m.isoformat() for m in MONTHS]
    per_trust = patients / len(geo.trusts)
    for trust in geo.trusts:
        size = per_trust * rng.uniform(0.7, 1.3) * TRUST_PER_1000 / 1000
        for group in GROUPS:
            fte = size * TRUST_MIX[group] * _trend(rng, 0.0)
            rows.extend(
                [trust.code, group, m, f"{x:.2f}"] for m, x in zip(months, fte, strict=True)
            )
    per_practice = patients / len(geo.practices)
    for practice in geo.practices:
        size = per_practice * rng.uniform(0.6, 1.4) / 1000
        for group, rate in PRACTICE_PER_1000.items():
            extra = 0.25 if group == "Support to clinical staff" else 0.0
            fte = size * rate * _trend(rng, extra)
            rows.extend(
                [practice.code, group, m, f"{x:.2f}"] for m, x in zip(months, fte, strict=True)
            )
    return rows


RETURNS_COLUMNS = (
    "month", "organisation_code", "region", "staff_group", "fte", "headcount", "joiners",
    "leavers", "stable_headcount", "headcount_year_ago", "vacancies_fte",
    "sickness_fte_days_lost", "fte_days_available",
)  # fmt: skip
"""The published workforce statistics' layout (``fivesafes.dashboards.workforce``)."""


def workforce_returns(rng: np.random.Generator, geo: Geography, patients: int) -> list[list[str]]:
    """The monthly workforce returns a board reads beside the environment's outputs, as NHS
    England publishes them (staff in post, leavers and joiners, stability, vacancies, sickness
    absence), made from the same staff in post as ``workforce_rows``: headcount about 1.15 per
    FTE, about 10% of staff leaving a year (joiners a little more, as staffing grows), 86% of
    staff still in post after a year, vacancies 5-10% of the planned workforce and 4-6% of
    FTE days lost to sickness (more in winter)."""
    regions = dict(zip(range(len(REGIONS)), REGIONS, strict=False))
    rows: list[list[str]] = []
    for code, group, month, fte_text in workforce_rows(rng, geo, patients):
        if month < "2022-04-01":
            continue
        org = next(o for o in (*geo.trusts, *geo.practices) if o.code == code)
        fte = float(fte_text)
        headcount = max(1, round(fte * 1.15))
        leavers = int(rng.binomial(headcount, 0.1 / 12))
        joiners = int(rng.poisson(leavers * 1.1 + 0.05))
        year_ago = max(1, round(headcount / 1.025))
        stable = int(rng.binomial(year_ago, 0.86))
        winter = month[5:7] in ("12", "01", "02")
        days = 30.4 * fte
        rows.append([
            month, code, regions[org.region], group, f"{fte:.2f}", str(headcount), str(joiners),
            str(leavers), str(stable), str(year_ago),
            f"{fte * rng.uniform(0.05, 0.1) / 0.93:.2f}",
            f"{days * rng.uniform(0.05, 0.065) if winter else days * rng.uniform(0.04, 0.05):.1f}",
            f"{days:.1f}",
        ])  # fmt: skip
    return rows
