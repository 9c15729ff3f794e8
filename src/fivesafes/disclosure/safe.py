"""The analyst's API: outputs that come out already checked, with every suppression explained.

``from fivesafes.disclosure import safe`` (re-exported as ``fivesafes.safe``)::

    counts = safe.crosstab(dataset, "age_band", "sex")          # small numbers suppressed
    counts.write_csv("output/asthma_by_age_sex.csv")
    print(counts.explain())                                      # which rule hid which cell
    ages = safe.describe(dataset, "age", by="practice")         # no extremes of small groups
    model = safe.regression_table(dataset, "fev1", ["age", "height"])

Doing the check where the table is made means an analyst sees at once what a checker would
hide, and writes a study whose outputs pass; the same checks run again on every file before
release, so nothing here is trusted on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fivesafes.disclosure.checker import check_counts
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.history import ReleaseHistory
from fivesafes.disclosure.magnitude import check_magnitude, magnitude_table
from fivesafes.disclosure.report import CheckReport
from fivesafes.disclosure.summaries import check_model, check_statistics
from fivesafes.disclosure.tables import LongLayout, TableError, count_by

Data = pa.Table | str | Path


@dataclass(frozen=True)
class SafeOutput:
    """A checked output: the report, and the table as it may be published (if it may)."""

    report: CheckReport
    model: pa.Table | None = None
    """A model's coefficient table, present only when the model passed its checks."""

    def explain(self) -> str:
        return self.report.to_text()

    def write_csv(self, path: str | Path) -> Path:
        """Write the safe version; refuse when no version of this output may be released."""
        target = Path(path)
        if self.model is not None:
            pacsv.write_csv(self.model, target)
            return target
        if self.report.safe is None or not self.report.releasable:
            raise TableError(f"{self.report.output} may not be released:\n{self.explain()}")
        self.report.safe.write_csv(target)
        return target

    def chart(self, path: str | Path, title: str | None = None) -> Path:
        """A picture of the safe table (hidden cells hatched): charts go out with the table
        behind them and are checked as that table."""
        return self.report.draw(Path(path), title)


def _records(data: Data) -> pa.Table:
    return data if isinstance(data, pa.Table) else pq.read_table(Path(data))


def _rules(profile: Profile | str) -> Profile:
    return named_profile(profile) if isinstance(profile, str) else profile


def crosstab(
    data: Data,
    rows: str,
    columns: str | None = None,
    profile: Profile | str = "default",
    name: str | None = None,
    history: ReleaseHistory | None = None,
    counts: Mapping[str, str | None] | None = None,
) -> SafeOutput:
    """Count people by one or two variables, with small-number and secondary suppression,
    rounding as the profile says, and (given the project's history) differencing.

    ``counts`` names the count columns and what each counts — a true/false column of the
    records, or None for everyone — e.g. ``{"with_asthma": "has_asthma", "population": None}``
    (default: one column ``count`` of everyone). Each is checked against the others too, since
    a numerator and its denominator differ by a group. The table is written long: the
    variables, then the counts, one row per combination.
    """
    wanted = dict(counts) if counts is not None else {"count": None}
    tables = count_by(_records(data), rows, columns, wanted)
    label = name or (f"{rows} by {columns}" if columns else rows)
    layout = LongLayout.of_grid(next(iter(tables.values())).dimensions, tuple(wanted))
    return SafeOutput(check_counts(tables, _rules(profile), label, history, layout))


def total(
    data: Data,
    value: str,
    rows: str,
    columns: str | None = None,
    contributor: str | None = None,
    profile: Profile | str = "default",
) -> SafeOutput:
    """Sum a value by group, with the dominance (p%, n,k) and contributor-count rules."""
    table = magnitude_table(_records(data), rows, columns, value, contributor)
    rules = _rules(profile)
    return SafeOutput(check_magnitude(table, rules, f"total {value} by {rows}"))


def describe(
    data: Data, value: str, by: str | list[str], profile: Profile | str = "default"
) -> SafeOutput:
    """n, mean, sd, min, quartiles and max of a value by group; statistics of groups under the
    threshold (and their extremes) are hidden."""
    groups = [by] if isinstance(by, str) else list(by)
    keys = ", ".join(f'"{g}"' for g in groups)
    v = f'"{value}"'
    con = duckdb.connect()
    con.register("records", _records(data))
    summary = con.sql(
        f"""SELECT {keys}, count({v}) AS n, avg({v}) AS mean, stddev_samp({v}) AS sd,
                   min({v}) AS min, quantile_cont({v}, 0.25) AS q1,
                   quantile_cont({v}, 0.5) AS median, quantile_cont({v}, 0.75) AS q3,
                   max({v}) AS max
            FROM records GROUP BY ALL ORDER BY ALL"""
    ).to_arrow_table()
    con.close()
    return SafeOutput(check_statistics(summary, _rules(profile), f"{value} by {', '.join(groups)}"))


def regression_table(
    data: Data, outcome: str, predictors: list[str], profile: Profile | str = "default"
) -> SafeOutput:
    """Ordinary least squares with an intercept: estimates, standard errors and the residual
    degrees of freedom, refused when those are fewer than the profile's minimum."""
    records = _records(data).select([outcome, *predictors]).drop_null()
    y = records[outcome].to_numpy().astype(float)
    x = np.column_stack(
        [np.ones(len(y))] + [records[p].to_numpy().astype(float) for p in predictors]
    )
    df_resid = len(y) - np.linalg.matrix_rank(x)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    sigma2 = float(residual @ residual) / df_resid if df_resid > 0 else float("nan")
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(x.T @ x)))
    table = pa.table(
        {
            "term": ["intercept", *predictors],
            "estimate": beta,
            "std_error": se,
            "df_resid": [df_resid] * len(beta),
        }
    )
    report = check_model(table, _rules(profile), f"regression of {outcome}")
    return SafeOutput(report, table if report.passed else None)
