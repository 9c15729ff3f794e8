"""Checks on statistics by group (means, sums, medians, rates…) and on model outputs.

A statistic of fewer than ``threshold`` people is their values (the mean cost of a team of two
is half of what they cost), so it never leaves; nor does one beside a hidden count (a rate
times its published denominator gives the count back). A minimum, maximum or percentile is
one person's value, shown only for groups large enough (or never, as the profile says). A sum
or mean must pass the dominance rules, which need the contributions the job kept. And a model
fitted with few residual degrees of freedom can be inverted to its inputs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from fivesafes.disclosure.columns import Columns, Output, is_extreme, is_magnitude, words
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.magnitude import Contributions, dominance
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.tables import Grid, TableError

DF_NAMES = ("df_resid", "residual_df", "df_residual", "dof", "degrees_of_freedom", "df")


def is_model_table(data: pa.Table) -> bool:
    return any(c.lower() in DF_NAMES for c in data.column_names)


def _rule(
    grid: Grid,
    rule: str,
    masks: dict[str, np.ndarray],
    summary: tuple[str, str],
    setting: str,
    source: str,
) -> RuleResult:
    """One rule over the statistic columns: the cells it fired on, named by category."""
    cells, positions = [], []
    for statistic, mask in masks.items():
        for i, j in np.argwhere(mask):
            cells.append(f"{_cell_name(grid, int(i), int(j))}: {statistic}")
            positions.append((int(i), int(j)))
    failed, passed = summary
    return RuleResult(
        rule,
        not cells,
        failed.format(n=len(cells)) if cells else passed,
        setting,
        source,
        tuple(cells),
        tuple(positions),
    )


def _cell_name(grid: Grid, i: int, j: int) -> str:
    name = f"{grid.rows.name}={grid.rows.labels[i]}"
    return name if grid.columns is None else f"{name}, {grid.columns.name}={grid.columns.labels[j]}"


def _contributors(
    output: Output, columns: Columns, statistic: str, given: dict[str, Contributions]
) -> np.ndarray | None:
    """How many each cell of a statistic is over: from the job's contributions; else from the
    table's own count of contributors (``n``); else the smallest of its counts, a statistic
    being no safer than its smallest group. ``nan`` where that count is hidden (unknown), None
    when the table has no count at all."""
    if statistic in given:
        return np.where(given[statistic].matched, given[statistic].contributors, np.nan)
    column = columns.contributors()
    chosen = [column] if column is not None else list(columns.counts)
    if not chosen:
        return None
    known = []
    for name in chosen:
        table = output.counts[name]
        withheld = table.withheld if table.withheld is not None else np.zeros_like(table.counts)
        known.append(np.where(withheld, np.nan, table.counts.astype(float)))
    return np.asarray(np.min(np.stack(known), axis=0))


def check_statistics(
    report: CheckReport,
    output: Output,
    profile: Profile,
    given: dict[str, Contributions],
    sums: frozenset[str] = frozenset(),
) -> CheckReport:
    """Add the rules on an output's statistics to the report of its counts, and make the safe
    version of the whole output: its counts' safe grids beside the statistics, each hidden
    where a rule says. ``sums`` names statistics declared to be sums of their contributions."""
    grid, columns = output.grid, output.columns
    assert columns is not None
    counts = {g.value_name: g for g in report.safe.grids} if report.safe is not None else {}
    hidden_counts = np.zeros(grid.shape, dtype=bool)
    for name, part in counts.items():
        if name != columns.contributors():  # that one's size is the small-group rule's
            hidden_counts |= part.hidden
    small, beside, extreme, p_rule, nk_rule = {}, {}, {}, {}, {}
    unknown, unchecked, differ = [], [], []
    parts = {}
    for statistic, filled in output.statistics.items():
        shown = ~np.isnan(filled.values)
        n = _contributors(output, columns, statistic, given)
        if n is None:
            unknown.append(statistic)
            n = np.full(grid.shape, np.nan)
        small[statistic] = shown & ~(n >= profile.threshold)
        beside[statistic] = shown & hidden_counts & ~small[statistic]
        hide = small[statistic] | beside[statistic]
        if is_extreme(statistic):
            extreme[statistic] = shown & (small[statistic] | (not profile.allow_extremes))
            hide |= extreme[statistic]
        if statistic in given:
            cells = given[statistic]
            unsafe = dominance(cells, profile)
            p_rule[statistic] = shown & unsafe["p_percent"]
            nk_rule[statistic] = shown & unsafe["nk_dominance"]
            hide |= p_rule[statistic] | nk_rule[statistic]
            if statistic in sums or "sum" in words(statistic):
                differ += _mismatches(grid, filled.values, cells, shown)
        elif is_magnitude(statistic) or statistic in sums:
            unchecked.append(statistic)
        parts[statistic] = SafeTable(
            grid.rows,
            grid.columns,
            np.where(hide, np.nan, filled.values),
            None,
            None,
            None,
            value_name=statistic,
        )
    threshold = profile.threshold
    report.kind = "summary statistics"
    report.results += [
        RuleResult(
            "contributors_known",
            not unknown and not unchecked,
            _unknown_summary(unknown, unchecked),
            "each statistic's contributors counted, each sum or mean's contributions kept",
            profile.source("extremes"),
            tuple(dict.fromkeys(unknown + unchecked)),  # a column with both faults once
        ),
        _rule(
            grid,
            "small_group_statistics",
            small,
            (f"{{n}} statistic(s) of fewer than {threshold} contributors", "none"),
            f"groups of at least {threshold}",
            profile.source("extremes"),
        ),
        _rule(
            grid,
            "statistics_beside_hidden_counts",
            beside,
            ("{n} statistic(s) in a row whose count is hidden", "none"),
            "hidden with their counts",
            profile.source("threshold"),
        ),
        _rule(
            grid,
            "extremes",
            extreme,
            ("{n} min/max/percentile value(s) of small groups", "none shown"),
            "allowed for groups of at least the threshold"
            if profile.allow_extremes
            else "never allowed",
            profile.source("extremes"),
        ),
    ]
    if given:
        fails = ("{n} cell(s) fail", "no cell fails")
        p_setting = f"p = {profile.p_percent:g}%"
        nk_setting = f"n = {profile.nk_n}, k = {profile.nk_k:g}%"
        report.results += [
            _rule(grid, "p_percent", p_rule, fails, p_setting, profile.source("p_percent")),
            _rule(grid, "nk_dominance", nk_rule, fails, nk_setting, profile.source("nk")),
            RuleResult(
                "matches_contributions",
                not differ,
                f"{len(differ)} sum(s) differ from the job's contributions"
                if differ
                else "every sum matches the job's contributions",
                "sums equal the contributions behind them",
                "",
                tuple(differ),
            ),
        ]
    measures = output.layout.measures if output.layout is not None else tuple(parts)
    ordered = {m: counts[m] if m in counts else parts[m] for m in measures}
    report.safe = replace(SafeTable.side_by_side(ordered), layout=output.layout)
    return report


def _unknown_summary(unknown: list[str], unchecked: list[str]) -> str:
    said = []
    if unknown:
        said.append(
            f"{', '.join(unknown)}: no count of contributors beside it (write n beside each "
            "statistic, or make the table with safe.describe or safe.total)"
        )
    if unchecked:
        said.append(
            f"{', '.join(unchecked)}: a sum or mean needs the dominance rules, and the job "
            "kept no contributions for it (make the table with safe.total or safe.describe, "
            "which keep them, and declare the .contributions.csv file highly_sensitive)"
        )
    return "; ".join(said) or "every statistic's contributors are known"


def _mismatches(
    grid: Grid, values: np.ndarray, cells: Contributions, shown: np.ndarray
) -> list[str]:
    """Cells of a sum whose value is not the sum of the contributions behind it: the file
    was not made from the records the contributions describe."""
    wrong = shown & (~cells.matched | ~np.isclose(values, cells.sum, rtol=1e-9, atol=1e-6))
    return [_cell_name(grid, int(i), int(j)) for i, j in np.argwhere(wrong)]


def check_model(data: pa.Table, profile: Profile, name: str = "table") -> CheckReport:
    """A model's output needs at least ``min_df`` residual degrees of freedom."""
    report = CheckReport(name, "model output", profile.name)
    column = next(c for c in data.column_names if c.lower() in DF_NAMES)
    df = data[column].to_numpy(zero_copy_only=False).astype(float)
    if np.isnan(df).all():
        raise TableError(f"{name}: the {column} column is empty")
    lowest = float(np.nanmin(df))
    report.results.append(
        RuleResult(
            "model_df",
            lowest >= profile.min_df,
            f"residual degrees of freedom {lowest:g}",
            f"at least {profile.min_df}",
            profile.source("min_df"),
        )
    )
    return report
