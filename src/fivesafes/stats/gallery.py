"""Example charts for the documentation, drawn by this package from seeded, made-up data.

``python -m fivesafes.stats.gallery docs/images/stats`` rewrites the pictures used by
``docs/statistics.md``; keeping the generator in code means the pictures always show what the
current code draws.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np

from fivesafes.stats.attribute_charts import c_chart, p_chart, u_chart
from fivesafes.stats.funnel import proportion_funnel
from fivesafes.stats.icons import write_icon
from fivesafes.stats.plotting import plot_funnel, plot_run_chart, plot_spc
from fivesafes.stats.run_chart import run_chart
from fivesafes.stats.spc_model import AssuranceIcon, VariationIcon
from fivesafes.stats.xmr import xmr


def _months(n: int, start: dt.date = dt.date(2022, 4, 1)) -> list[dt.date]:
    return [
        dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def write_gallery(directory: str | Path) -> list[Path]:
    """Draw one picture of each chart type and every icon into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    months = _months(36)
    written: list[Path] = []

    waits = np.concatenate([rng.normal(62, 4, 24), rng.normal(54, 3, 12)])
    waits[9] = 78
    result = xmr(waits, months, improvement_direction="decrease", target=60, rebase_at=[months[24]])
    plot_spc(
        result,
        title="Median wait for first appointment (days)",
        y_label="Days",
        path=out / "xmr.png",
    )
    written.append(out / "xmr.png")

    seen = rng.integers(380, 460, 24)
    within = rng.binomial(seen, np.r_[np.full(16, 0.78), np.full(8, 0.86)])
    plot_spc(
        p_chart(within, seen, months[:24]),
        title="Patients seen within 18 weeks",
        y_label="Proportion",
        path=out / "p_chart.png",
    )
    beddays = rng.integers(2800, 3400, 24)
    falls = rng.poisson(beddays * 0.005)
    plot_spc(
        u_chart(falls, beddays, months[:24], improvement_direction="decrease"),
        title="Inpatient falls per occupied bed day",
        y_label="Falls per bed day",
        path=out / "u_chart.png",
    )
    plot_spc(
        c_chart(rng.poisson(6, 24), months[:24], improvement_direction="decrease"),
        title="Medication incidents per month",
        y_label="Incidents",
        path=out / "c_chart.png",
    )
    calls = np.r_[rng.normal(200, 12, 14), rng.normal(228, 12, 10)]
    plot_run_chart(
        run_chart(calls, months[:24]),
        title="Calls answered per day",
        y_label="Calls",
        path=out / "run_chart.png",
    )
    den = rng.integers(200, 6000, 40)
    num = rng.binomial(den, rng.normal(0.72, 0.03, 40).clip(0, 1))
    funnel = proportion_funnel(num, den, overdispersion=True)
    plot_funnel(
        funnel,
        title="Screening uptake by practice",
        y_label="Uptake (%)",
        x_label="Eligible population",
        path=out / "funnel.png",
        higher_is_better=True,
    )
    written += [
        out / f"{name}.png" for name in ("p_chart", "u_chart", "c_chart", "run_chart", "funnel")
    ]
    for icon in [*VariationIcon, *AssuranceIcon]:
        written.append(write_icon(icon, out / f"icon_{icon.value}.png"))
    return written


if __name__ == "__main__":
    for path in write_gallery(sys.argv[1] if len(sys.argv) > 1 else "docs/images/stats"):
        print(f"{path}  {path.stat().st_size:,} bytes")
