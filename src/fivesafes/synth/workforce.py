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

from fivesafes.model.tables import workforce
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
