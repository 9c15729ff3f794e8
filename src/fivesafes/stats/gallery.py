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
from fivesafes.stats.plotting import plot_funnel, plot_run_chart, plot_spc, save_figure
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
    written += write_planning_gallery(out, rng, months)
    return written


def write_planning_gallery(
    out: Path, rng: np.random.Generator, months: list[dt.date]
) -> list[Path]:
    """The decision-maker analyses' charts, from made-up data."""
    from fivesafes.stats.area_profile import Polarity, area_profile
    from fivesafes.stats.bed_occupancy import occupancy_pattern
    from fivesafes.stats.breakdown import breakdown
    from fivesafes.stats.cusum import cusum_path, cusum_threshold, poisson_cusum_weights, vlad
    from fivesafes.stats.indicators import proportion
    from fivesafes.stats.inequality import sii
    from fivesafes.stats.its import interrupted_time_series
    from fivesafes.stats.plot_planning import (
        plot_breakdown,
        plot_cusum,
        plot_inequality,
        plot_its,
        plot_occupancy,
        plot_projection,
        plot_proportions,
        plot_ratio_funnel,
        plot_spine,
        plot_vlad,
        plot_waiting_list,
    )
    from fivesafes.stats.ratios import ratio_funnel
    from fivesafes.stats.waiting_list import simulate_waiting_list
    from fivesafes.stats.workforce import project_workforce

    figures = {}
    areas = ["North East", "North West", "Midlands", "East", "London", "South East", "South West"]
    values = {
        name: {a: proportion(int(rng.normal(base, base / 8)), 1000, multiplier=100) for a in areas}
        for name, base in (
            ("Smoking (%)", 140),
            ("Flu vaccination 65+ (%)", 720),
            ("Obesity (%)", 250),
        )
    }
    england = {
        name: proportion(int(np.mean([v.numerator for v in by.values()])), 1000, multiplier=100)
        for name, by in values.items()
    }
    polarity: dict[str, Polarity] = {
        "Smoking (%)": "low_is_good",
        "Flu vaccination 65+ (%)": "high_is_good",
        "Obesity (%)": "low_is_good",
    }
    profile = area_profile(values, england, "North West", polarity=polarity)
    figures["spine"] = plot_spine(profile)
    pops = [int(x) for x in rng.integers(8000, 12000, 10)]
    rates = [0.09 - 0.005 * i + rng.normal(0, 0.003) for i in range(10)]
    counts = [round(r * p) for r, p in zip(rates, pops, strict=True)]
    shares = [proportion(c, p) for c, p in zip(counts, pops, strict=True)]
    index = sii(
        [s.value or 0 for s in shares],
        pops,
        lower_cl=[s.lower or 0 for s in shares],
        upper_cl=[s.upper or 0 for s in shares],
        value_type="proportion",
        multiplier=100,
    )
    groups = ["Asian or Asian British", "Black or Black British", "Mixed or multiple", "White",
              "Other ethnic group"]  # fmt: skip
    by_group = [
        {"ethnic_group": g, "population": p, "flu_vaccinated": round(p * share)}
        for g, p, share in zip(groups, (900, 400, 250, 6000, 200), (0.62, 0.55, 0.6, 0.74, 0.6),
                               strict=True)
    ]  # fmt: skip
    figures["breakdown"] = plot_breakdown(
        breakdown(by_group, "ethnic_group", "flu_vaccinated", order=groups),
        title="Flu vaccination 65+ by ethnic group",
    )
    figures["sii"] = plot_inequality(
        [100 * (s.value or 0) for s in shares],
        pops,
        index,
        title="Emergency admissions by deprivation",
        y_label="%",
    )
    series = [50 + 0.2 * i - (5 if i >= 24 else 0) + rng.normal(0, 1.5) for i in range(36)]
    its = interrupted_time_series(series, months, change_at=months[24])
    figures["its"] = plot_its(
        its,
        title="Admissions per 1,000 before and after a new service",
        y_label="per 1,000",
        x_label="Month",
    )
    expected = [40.0] * 36
    observed = [float(x) for x in rng.poisson([40.0] * 28 + [58.0] * 8)]
    h_up = cusum_threshold(0.05, 36, expected=expected, odds_ratio=1.5)
    h_down = cusum_threshold(0.05, 36, expected=expected, odds_ratio=1 / 1.5)
    up = cusum_path(poisson_cusum_weights(observed, expected, 1.5), h_up, x=months, odds_ratio=1.5)
    down = cusum_path(
        poisson_cusum_weights(observed, expected, 1 / 1.5), h_down, x=months, odds_ratio=1 / 1.5
    )
    figures["cusum"] = plot_cusum(up, down, title="Deaths against expectation", x_label="Month")
    figures["vlad"] = plot_vlad(
        vlad(expected, observed, months), title="Deaths: VLAD", x_label="Month"
    )
    exp = [float(x) for x in rng.uniform(20, 400, 30)]
    obs = [float(x) for x in rng.poisson(np.asarray(exp) * rng.normal(1, 0.15, 30).clip(0.5))]
    figures["ratio_funnel"] = plot_ratio_funnel(
        ratio_funnel(obs, exp, [f"T{i}" for i in range(30)], adjustment="additive"),
        title="Standardised mortality ratios by trust",
    )
    sim = simulate_waiting_list(
        100, 98, 52, initial_waits_weeks=list(rng.exponential(8, 900)), runs=40
    )
    figures["waiting_list"] = plot_waiting_list(sim, title="An elective waiting list, next year")
    year = [dt.date(2024, 4, 1) + dt.timedelta(days=d) for d in range(365)]
    winter = [1.0 + 0.06 * np.cos(2 * np.pi * (d.toordinal() - year[0].toordinal() - 280) / 365)
              + (0.03 if d.weekday() == 0 else -0.04 if d.weekday() >= 5 else 0.0)
              for d in year]  # fmt: skip
    occupied = [float(x) for x in rng.normal(np.asarray(winter) * 440, 6)]
    pattern = occupancy_pattern(year, occupied, [500.0] * len(year))
    figures["occupancy"] = plot_occupancy(
        [(c.season, c.weekday, 100 * c.mean_occupancy) for c in pattern.cells],
        title="Occupancy of 500 beds",
        unit="% of beds occupied",
        value_format=".0f",
    )
    halves = {"More deprived (deciles 1-5)": (130, 520), "Less deprived (deciles 6-10)": (70, 380)}
    after = {name: proportion(n, d, multiplier=100) for name, (n, d) in halves.items()}
    figures["discharge"] = plot_proportions(
        [(name, v.value or 0.0, v.lower or 0.0, v.upper or 0.0) for name, v in after.items()],
        title="Social care service within 28 days of discharge",
    )
    projection = project_workforce(
        400, 36, demand_growth=0.04, leaver_rate=0.11, joiners_per_month=3.2, fte_needed_now=430
    )
    figures["workforce"] = plot_projection(
        projection, "Apr 2025", title="Community nurses: needed against projected"
    )
    written = []
    for name, fig in figures.items():
        written.append(save_figure(fig, out / f"{name}.png"))
    return written


if __name__ == "__main__":
    for path in write_gallery(sys.argv[1] if len(sys.argv) > 1 else "docs/images/stats"):
        print(f"{path}  {path.stat().st_size:,} bytes")
