"""Service evaluation and safety monitoring, from released counts.

* **Before and after a change** — a monthly measure (``month, events, population``) given a
  change date (``--change MEASURE=YYYY-MM-DD``): the interrupted time series of its rate per
  1,000 (level and slope change with Newey-West intervals) beside its XmR chart rebased at the
  change (Making Data Count's view of the same question).
* **Outcomes against expectation** — ``admissions_by_month.csv`` (observed events by month),
  ``safety_events_by_age.csv`` (events and person-months by age band over the whole series)
  and ``safety_population_by_month.csv`` (population by month and age band): each month's
  expected events by indirect standardisation to the series' own age-specific rates, a Poisson
  CUSUM for a rise (rate ratio 1.5) and one for a fall (1/1.5), each with the threshold that
  gives a 5% chance of a false alarm over the series, and the VLAD.
* **Organisations against expectation** — ``funnel_<group>.csv`` (observed events by group)
  and ``funnel_<group>_population.csv`` (population by group and age band): standardised
  ratios (observed / expected from the same age-specific rates, scaled to person-years) in a
  funnel, exact limits and limits with Spiegelhalter's additive random-effects adjustment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fivesafes.dashboards.measures import RATE_PER, month_label, period_value
from fivesafes.dashboards.released import ReleasedTable
from fivesafes.dashboards.sections import Section, count, number, table_html, write_figure
from fivesafes.stats import (
    cusum_path,
    cusum_threshold,
    interrupted_time_series,
    plot_spc,
    poisson_cusum_weights,
    ratio_funnel,
    vlad,
    xmr,
)
from fivesafes.stats.plot_planning import plot_cusum, plot_its, plot_ratio_funnel, plot_vlad

RATE_RATIO = 1.5
FALSE_ALARM = 0.05


def _monthly(table: ReleasedTable) -> list[tuple[str, float, float]] | None:
    """(month, events, population) of a national monthly series, or None if any month was
    suppressed (a gap would break a regression or a CUSUM silently)."""
    rows = []
    for r in table.rows:
        events, population = count(r.get("events")), count(r.get("population"))
        if events is None or not population:
            return None
        rows.append((r["month"], events, population))
    return sorted(rows)


def change_sections(
    tables: Mapping[str, ReleasedTable], out: Path, changes: Mapping[str, str]
) -> list[Section]:
    """An ITS beside a rebased XmR chart for each measure given a change date."""
    sections = []
    for name, when in sorted(changes.items()):
        table = tables.get(name)
        if table is None:
            continue
        series = _monthly(table)
        title = f"Before and after {month_label(when)}: {name.replace('_', ' ')}"
        if series is None:
            sections.append(
                Section(
                    f"its-{name}",
                    title,
                    (
                        "<p>Not drawn: a month of this measure was suppressed, and a "
                        "regression across a gap would hide it.</p>",
                    ),
                    (table,),
                )
            )
            continue
        months = [period_value(m) for m, _, _ in series]
        rates = [e / p * RATE_PER for _, e, p in series]
        change = period_value(when)
        if change not in months:
            sections.append(
                Section(
                    f"its-{name}",
                    title,
                    (f"<p>Not drawn: {when} is not one of the measure's months.</p>",),
                    (table,),
                )
            )
            continue
        its = interrupted_time_series(rates, months, change_at=change)
        spc = xmr(rates, months, rebase_at=[change])
        figures = (
            write_figure(
                plot_its(its, title=title, y_label=f"per {RATE_PER:,}", x_label="Month"),
                out,
                f"its-{name}",
            ),
            write_figure(
                plot_spc(
                    spc,
                    title=f"{name.replace('_', ' ')}: XmR rebased at {month_label(when)}",
                    y_label=f"per {RATE_PER:,}",
                    x_label="Month",
                ),
                out,
                f"its-spc-{name}",
            ),
        )
        rows = [
            (
                e.name.replace("_", " "),
                f"{e.value:.3f}",
                f"{e.lower:.3f} to {e.upper:.3f}",
                f"{e.p_value:.3g}",
            )
            for e in its.estimates
        ]
        parts = (
            "<p>Segmented regression of the monthly rate with Newey-West errors (autocorrelated "
            f"residuals: lag-1 autocorrelation {its.lag1_autocorrelation:.2f}), beside the XmR "
            "chart with its limits recalculated from the change.</p>",
            *(f.html() for f in figures),
            table_html(
                f"Interrupted time series of {name.replace('_', ' ')}",
                ("Coefficient", "Estimate", "95% CI", "p"),
                rows,
            ),
        )
        sections.append(Section(f"its-{name}", title, parts, (table,), figures))
    return sections


def _band_rates(table: ReleasedTable) -> dict[str, float] | None:
    rates = {}
    for r in table.rows:
        events, population = count(r.get("events")), count(r.get("population"))
        if events is None or not population:
            return None
        rates[r["age_band"]] = events / population
    return rates


def safety_section(tables: Mapping[str, ReleasedTable], out: Path) -> Section | None:
    """CUSUMs and the VLAD of monthly events against their age-standardised expectation."""
    observed_t = tables.get("admissions_by_month")
    rates_t = tables.get("safety_events_by_age")
    pops_t = tables.get("safety_population_by_month")
    if observed_t is None or rates_t is None or pops_t is None:
        return None
    used = (observed_t, rates_t, pops_t)
    observed = _monthly(observed_t)
    rates = _band_rates(rates_t)
    title = "Safety: emergency admissions against expectation"
    if observed is None or rates is None:
        return Section(
            "safety", title, ("<p>Not drawn: a count it needs was suppressed.</p>",), used
        )
    expected: dict[str, float] = {}
    for r in pops_t.rows:
        population = count(r["population"]) or 0.0
        expected[r["month"]] = expected.get(r["month"], 0.0) + population * rates[r["age_band"]]
    months = [m for m, _, _ in observed]
    obs = [e for _, e, _ in observed]
    exp = [expected[m] for m in months]
    xs = [period_value(m) for m in months]
    h_up = cusum_threshold(FALSE_ALARM, len(months), expected=exp, odds_ratio=RATE_RATIO)
    h_down = cusum_threshold(FALSE_ALARM, len(months), expected=exp, odds_ratio=1 / RATE_RATIO)
    up = cusum_path(poisson_cusum_weights(obs, exp, RATE_RATIO), h_up, x=xs, odds_ratio=RATE_RATIO)
    down = cusum_path(
        poisson_cusum_weights(obs, exp, 1 / RATE_RATIO), h_down, x=xs, odds_ratio=1 / RATE_RATIO
    )
    chart = vlad(exp, obs, xs)
    figures = (
        write_figure(
            plot_cusum(
                up, down, title="Emergency admissions: CUSUM against expectation", x_label="Month"
            ),
            out,
            "safety-cusum",
        ),
        write_figure(
            plot_vlad(
                chart, title="Emergency admissions: expected minus observed", x_label="Month"
            ),
            out,
            "safety-vlad",
        ),
    )
    signals = [month_label(months[i]) for i in up.signals]
    better = [month_label(months[i]) for i in down.signals]
    parts = (
        "<p>Each month's expected admissions come from its population in each age band at the "
        "series' own age-specific rates (indirect standardisation). The CUSUMs look for a rise "
        f"or fall of a factor of {RATE_RATIO:g}; each threshold is set so that, were every month "
        f"at its expectation, the chance of a false signal over {len(months)} months is "
        f"{FALSE_ALARM:.0%} (Markov chain of Brook and Evans).</p>",
        f"<p>Signals of a rise: {', '.join(signals) or 'none'}. Signals of a fall: "
        f"{', '.join(better) or 'none'}.</p>",
        *(f.html() for f in figures),
    )
    return Section("safety", title, parts, used, figures)


def funnel_section(tables: Mapping[str, ReleasedTable], out: Path) -> Section | None:
    """A funnel of standardised ratios by group in the latest year."""
    stem = next(
        (s for s in sorted(tables) if s.startswith("funnel_") and not s.endswith("_population")),
        None,
    )
    rates_t = tables.get("safety_events_by_age")
    if stem is None or rates_t is None or f"{stem}_population" not in tables:
        return None
    events_t, pops_t = tables[stem], tables[f"{stem}_population"]
    group = next(iter(events_t.rows[0]))
    rates = _band_rates(rates_t)
    used = (events_t, pops_t, rates_t)
    title = f"Safety: emergency admissions by {group} against expectation"
    if rates is None:
        return Section(
            "funnel", title, ("<p>Not drawn: a count it needs was suppressed.</p>",), used
        )
    expected: dict[str, float] = {}
    for r in pops_t.rows:
        # the year's expectation: twelve months at the monthly (person-month) rates
        expected[r[group]] = (
            expected.get(r[group], 0.0)
            + 12 * (count(r["population"]) or 0.0) * (rates[r["age_band"]])
        )
    shown = [(r[group], count(r["events"])) for r in events_t.rows]
    published = [(g, o) for g, o in shown if o]
    left_out = [g for g, o in shown if not o]
    if len(published) < 2:
        return Section(
            "funnel", title, ("<p>Not drawn: fewer than two groups published.</p>",), used
        )
    labels = [g for g, _ in published]
    plain = ratio_funnel([o or 0 for _, o in published], [expected[g] for g in labels], labels)
    adjusted = ratio_funnel(
        [o or 0 for _, o in published], [expected[g] for g in labels], labels, adjustment="additive"
    )
    figures = (
        write_figure(
            plot_ratio_funnel(plain, title=f"Standardised ratios by {group}, exact limits"),
            out,
            f"funnel-{group}",
        ),
        write_figure(
            plot_ratio_funnel(
                adjusted, title=f"Standardised ratios by {group}, limits for over-dispersion"
            ),
            out,
            f"funnel-od-{group}",
        ),
    )
    rows = [
        (
            p.label,
            number(p.observed, 0),
            number(p.expected),
            f"{p.ratio:.2f}",
            p.significance,
            a.significance,
        )
        for p, a in zip(plain.organisations, adjusted.organisations, strict=True)
    ]
    parts = [
        "<p>Each group's observed admissions over those expected from its population's ages at "
        "the series' rates: exact Poisson limits, then limits widened for over-dispersion by "
        f"additive random effects (Spiegelhalter 2005): phi {adjusted.phi:.2f}, tau squared "
        f"{adjusted.tau2:.4f}.</p>",
        *(f.html() for f in figures),
        table_html(
            f"Standardised ratios by {group}",
            (
                group.capitalize(),
                "Observed",
                "Expected",
                "Ratio",
                "Exact limits",
                "Over-dispersion limits",
            ),
            rows,
        ),
    ]
    if left_out:
        parts.append(f"<p>Suppressed by the output checkers: {', '.join(left_out)}.</p>")
    return Section("funnel", title, tuple(parts), used, figures)
