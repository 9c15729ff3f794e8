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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fivesafes.disclosure.charts import draw_linked
from fivesafes.disclosure.checker import check_counts, check_table
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.history import ReleaseHistory
from fivesafes.disclosure.magnitude import contributions, contributions_path
from fivesafes.disclosure.report import CheckReport
from fivesafes.disclosure.summaries import check_model
from fivesafes.disclosure.tables import LongLayout, TableError, count_by

Data: TypeAlias = pa.Table | str | Path


@dataclass(frozen=True)
class SafeOutput:
    """A checked output: the report, and the table as it may be published (if it may)."""

    report: CheckReport
    model: pa.Table | None = None
    """A model's coefficient table, present only when the model passed its checks."""
    contributions: pa.Table | None = None
    """What the dominance rules need at release (highly sensitive: it never leaves)."""
    written: list[Path] = field(default_factory=list, compare=False)
    """Where the table was written, so a chart can name the file it was drawn from."""

    def explain(self) -> str:
        return self.report.to_text()

    def write_csv(self, path: str | Path) -> Path:
        """Write the safe version; refuse when no version of this output may be released.

        A table of sums or means also writes the contributions behind it beside it
        (``costs.csv`` → ``costs.contributions.csv``): declare that file ``highly_sensitive``
        in ``project.yaml``; the checks read it at release, and it never leaves."""
        target = Path(path)
        if self.model is not None:
            pacsv.write_csv(self.model, target)
            return target
        if self.report.safe is None or not self.report.releasable:
            raise TableError(f"{self.report.output} may not be released:\n{self.explain()}")
        self.report.safe.write_csv(target)
        if self.contributions is not None:
            pacsv.write_csv(self.contributions, contributions_path(target))
        self.written.append(target)
        return target

    def chart(self, path: str | Path, title: str | None = None) -> Path:
        """A picture of the safe table (hidden cells hatched), naming the table file it was
        drawn from: a chart goes out only beside that table, once the environment has drawn
        it again from the table and found the same picture. Write the table first."""
        if not self.written:
            raise TableError(
                f"{self.report.output}: write the table (write_csv) before drawing its chart, "
                "so the chart can name the file it shows"
            )
        return draw_linked(self.report, Path(path), self.written[-1], title)


def _records(data: Data, *needed: str | None) -> pa.Table:
    """The records, refused with a one-line error when they lack a column the call names or
    hold no rows at all (an empty table has nothing to check, so nothing may be written)."""
    records = data if isinstance(data, pa.Table) else pq.read_table(Path(data))
    missing = [c for c in dict.fromkeys(needed) if c is not None and c not in records.column_names]
    if missing:
        raise TableError(
            f"the records have no column {', '.join(missing)} "
            f"(they have {', '.join(records.column_names) or 'none'})"
        )
    if not records.num_rows:
        raise TableError("no records: an empty table has nothing to check or write")
    return records


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
    records = _records(data, rows, columns, *wanted.values())
    tables = count_by(records, rows, columns, wanted)
    label = name or (f"{rows} by {columns}" if columns else rows)
    layout = LongLayout.of_grid(next(iter(tables.values())).dimensions, tuple(wanted))
    return SafeOutput(check_counts(tables, _rules(profile), label, history, layout))


def _labels(keys: list[str]) -> str:
    """Group labels as every safe table writes them: text, ``missing`` for none."""
    return ", ".join(f'COALESCE(CAST("{k}" AS VARCHAR), \'missing\') AS "{k}"' for k in keys)


def _query(records: pa.Table, sql: str) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("records", records)
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:  # a value of the wrong type: say so, as a table error
        raise TableError(str(exc).splitlines()[0]) from None
    finally:
        con.close()


def total(
    data: Data,
    value: str,
    rows: str,
    columns: str | None = None,
    contributor: str | None = None,
    profile: Profile | str = "default",
    history: ReleaseHistory | None = None,
) -> SafeOutput:
    """Sum a value by group (column ``<value>_sum``), with the contributor-count and dominance
    (p%, n,k) rules; a contributor is a record, or each distinct ``contributor`` (a practice),
    whose values are added up first. The contributions go with the table (``write_csv``)."""
    keys = [rows] if columns is None else [rows, columns]
    measure = f"{value}_sum"
    records = _records(data, value, *keys, contributor)
    table = _query(
        records,
        f"""SELECT {_labels(keys)}, sum("{value}") AS "{measure}" FROM records
            GROUP BY ALL ORDER BY ALL""",
    )
    given = contributions(records, keys, value, measure, contributor)
    name = f"total {value} by {', '.join(keys)}"
    report = check_table(table, _rules(profile), name, history, keys, given, (measure,))
    return SafeOutput(report, contributions=given)


def describe(
    data: Data,
    value: str,
    by: str | list[str],
    profile: Profile | str = "default",
    history: ReleaseHistory | None = None,
) -> SafeOutput:
    """n, mean, sd, min, quartiles and max of a value by group; statistics of groups under the
    threshold (and their extremes) are hidden, and the mean passes the dominance rules. The
    contributions behind the mean go with the table (``write_csv``)."""
    groups = [by] if isinstance(by, str) else list(by)
    v = f'"{value}"'
    records = _records(data, value, *groups)
    summary = _query(
        records,
        f"""SELECT {_labels(groups)}, count({v}) AS n, avg({v}) AS mean,
                   stddev_samp({v}) AS sd, min({v}) AS min, quantile_cont({v}, 0.25) AS q1,
                   quantile_cont({v}, 0.5) AS median, quantile_cont({v}, 0.75) AS q3,
                   max({v}) AS max
            FROM records GROUP BY ALL ORDER BY ALL""",
    )
    mean = contributions(records, groups, value, "mean")
    statistics = [c for c in summary.column_names if c not in groups and c != "n"]
    given = pa.concat_tables(
        mean.set_column(
            mean.column_names.index("statistic"), "statistic", pa.array([s] * mean.num_rows)
        )
        for s in statistics
    )
    name = f"{value} by {', '.join(groups)}"
    report = check_table(summary, _rules(profile), name, history, groups, given)
    return SafeOutput(report, contributions=given)


def regression_table(
    data: Data, outcome: str, predictors: list[str], profile: Profile | str = "default"
) -> SafeOutput:
    """Ordinary least squares with an intercept: estimates, standard errors and the residual
    degrees of freedom, refused when those are fewer than the profile's minimum."""
    records = _records(data, outcome, *predictors).select([outcome, *predictors]).drop_null()
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
