"""Checks on frequency tables: small numbers, secondary suppression, rounding, differencing."""

from __future__ import annotations

import numpy as np

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.differencing import check_history
from fivesafes.disclosure.history import ReleasedTable, ReleaseHistory
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.suppression import (
    exposed,
    primary_mask,
    round_counts,
    secondary_mask,
)
from fivesafes.disclosure.tables import FrequencyTable


def _cells(table: FrequencyTable, mask: np.ndarray) -> tuple[tuple[str, ...], tuple]:
    positions = tuple((int(i), int(j)) for i, j in np.argwhere(mask))
    return tuple(table.cell_name(i, j) for i, j in positions), positions


def _small_totals(table: FrequencyTable, profile: Profile) -> RuleResult:
    """True totals are published, so a row or column total is itself a count of a group."""
    counts = table.counts
    small: list[str] = []
    positions: list[tuple[int, int]] = []
    margins = []
    if table.row_totals_published:
        margins += [
            (f"total for {table.rows.name}={label}", counts[i].sum(), (i, -1))
            for i, label in enumerate(table.rows.labels)
        ]
    if table.column_totals_published and table.columns is not None:
        margins += [
            (f"total for {table.columns.name}={label}", counts[:, j].sum(), (-1, j))
            for j, label in enumerate(table.columns.labels)
        ]
    margins.append(("grand total", counts.sum(), (-1, -1)))
    for name, total, position in margins:
        if 0 < total < profile.threshold:
            small.append(name)
            positions.append(position)
    return RuleResult(
        "small_totals",
        not small,
        f"{len(small)} total(s) under {profile.threshold}: merge those categories"
        if small
        else f"no total under {profile.threshold}",
        f"threshold {profile.threshold}",
        profile.source("threshold"),
        tuple(small),
        tuple(positions),
    )


def protect(table: FrequencyTable, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """The primary cells and every hidden cell (primary plus complementary) under a profile."""
    primary = primary_mask(table.counts, profile)
    if profile.secondary_suppression and profile.totals == "true":
        by_rows, by_cols = table.row_totals_published, table.column_totals_published
        return primary, secondary_mask(table.counts, primary, by_rows, by_cols)
    return primary, primary.copy()


def safe_version(table: FrequencyTable, hidden: np.ndarray, profile: Profile) -> SafeTable:
    """Hidden cells as ``nan``, the rest rounded as the profile says, and its margins: the true
    totals (rounded alike), or sums of the published cells when the profile recomputes them."""
    counts = table.counts.astype(float)
    values = np.where(hidden, np.nan, round_counts(counts, profile))
    if profile.totals == "recompute":
        row_totals, col_totals = np.nansum(values, axis=1), np.nansum(values, axis=0)
        total = float(np.nansum(values))
    else:
        row_totals = round_counts(counts.sum(axis=1), profile)
        col_totals = round_counts(counts.sum(axis=0), profile)
        total = float(round_counts(np.array(counts.sum()), profile))
    return SafeTable(
        table.rows,
        table.columns,
        values,
        row_totals if table.row_totals_published else None,
        col_totals if table.column_totals_published else None,
        total if table.row_totals_published and table.column_totals_published else None,
    )


def check_frequency(
    table: FrequencyTable,
    profile: Profile,
    name: str = "table",
    history: ReleaseHistory | None = None,
) -> tuple[CheckReport, ReleasedTable]:
    """Check a table of counts; return the report and the record to keep if it is released."""
    report = CheckReport(name, "frequency table", profile.name)
    primary, hidden = protect(table, profile)
    cells, positions = _cells(table, primary)
    report.results.append(
        RuleResult(
            "small_numbers",
            not primary.any(),
            f"{len(cells)} cell(s) under {profile.threshold} must be suppressed"
            if cells
            else f"no non-zero cell under {profile.threshold}",
            f"threshold {profile.threshold}" + (", zeros too" if profile.suppress_zeros else ""),
            profile.source("threshold"),
            cells,
            positions,
        )
    )
    if profile.totals == "true":
        report.results.append(_small_totals(table, profile))
    if profile.secondary_suppression and profile.totals == "true" and primary.any():
        by_rows, by_cols = table.row_totals_published, table.column_totals_published
        leaks = exposed(table.counts, hidden, primary, by_rows, by_cols)
        complement, complement_positions = _cells(table, hidden & ~primary)
        report.results.append(
            RuleResult(
                "secondary_suppression",
                not leaks.any(),
                f"{len(complement)} more cell(s) hidden so no suppressed cell can be worked out "
                "from the row and column totals"
                if not leaks.any()
                else "a suppressed cell can still be worked out from the totals; merge categories",
                "true totals published",
                profile.source("totals"),
                complement,
                complement_positions,
            )
        )
    elif profile.totals == "recompute" and primary.any():
        report.notes.append("totals are recomputed from the published cells, so they hide nothing")
    if profile.rounding != "none":
        published = table.counts[~hidden].astype(float)
        unrounded = int((round_counts(published, profile) != published).sum())
        report.results.append(
            RuleResult(
                "rounding",
                unrounded == 0,
                f"{unrounded} published count(s) rounded"
                if unrounded
                else "every count already rounded",
                f"{profile.rounding} {profile.rounding_base}",
                profile.source("rounding"),
            )
        )
    record = ReleasedTable(name, table, hidden, primary, profile.totals == "true")
    if history is not None and profile.differencing:
        earlier = list(history.released())
        exposures = check_history(record, earlier, profile.threshold)
        names = tuple(
            f"with {e.earlier} ({e.hypothesis}): {e.what}"
            + (f" via {', '.join(e.cells[:4])}" if e.cells else "")
            for e in exposures
        )
        report.results.append(
            RuleResult(
                "differencing",
                not exposures,
                f"{len(exposures)} way(s) to expose a small group by subtracting tables"
                if exposures
                else f"checked against {len(earlier)} earlier release(s) of this project",
                f"groups under {profile.threshold}",
                profile.source("differencing"),
                names,
                tuple(p for e in exposures for p in e.positions),
            )
        )
    report.safe = safe_version(table, hidden, profile)
    report.records.append(record)
    return report, record
