"""Checks on frequency tables: small numbers, secondary suppression, rounding, differencing."""

from __future__ import annotations

import numpy as np

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.differencing import check_history
from fivesafes.disclosure.history import ReleasedTable, ReleaseHistory, releases_in
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.suppression import (
    exposed,
    primary_mask,
    round_counts,
    secondary_mask,
)
from fivesafes.disclosure.tables import FrequencyTable


def _cells(
    table: FrequencyTable, mask: np.ndarray
) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    positions = tuple((int(i), int(j)) for i, j in np.argwhere(mask))
    return tuple(table.cell_name(i, j) for i, j in positions), positions


def _withheld_leaks(table: FrequencyTable, withheld: np.ndarray, profile: Profile) -> RuleResult:
    """A file that hides cells but shows totals may give the hidden cells away."""
    leaks = exposed(_audit_counts(table), withheld, withheld, table.published())
    cells, positions = _cells(table, leaks)
    return RuleResult(
        "hidden_cells_recoverable",
        not leaks.any(),
        f"{len(cells)} hidden cell(s) can be worked out from the totals the file shows"
        if cells
        else "no hidden cell can be worked out from the totals the file shows",
        "totals shown in the file",
        profile.source("totals"),
        cells,
        positions,
    )


def _margins(table: FrequencyTable) -> list[tuple[str, float, tuple[int, int]]]:
    """Every total published beside the table: the file's own, or the true ones."""
    rows, cols = table.rows, table.columns
    if table.file_totals is not None:
        shown = table.file_totals
        row_totals, col_totals, total = shown.rows, shown.columns, shown.total
    else:
        counts = table.counts
        row_totals = counts.sum(axis=1) if table.row_totals_published else []
        col_totals = counts.sum(axis=0) if table.column_totals_published and cols else []
        total = counts.sum()
    margins = [
        (f"total for {rows.name}={rows.labels[i]}", float(v), (i, -1))
        for i, v in enumerate(row_totals)
    ]
    if cols is not None:
        margins += [
            (f"total for {cols.name}={cols.labels[j]}", float(v), (-1, j))
            for j, v in enumerate(col_totals)
        ]
    return [*margins, ("grand total", float(total), (-1, -1))]


def _small_totals(table: FrequencyTable, profile: Profile) -> RuleResult:
    """True totals are published, so a row or column total is itself a count of a group."""
    small: list[str] = []
    positions: list[tuple[int, int]] = []
    margins = _margins(table)
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


def _withheld(table: FrequencyTable) -> np.ndarray:
    if table.withheld is None:
        return np.zeros(table.counts.shape, dtype=bool)
    return table.withheld


def _audit_counts(table: FrequencyTable) -> np.ndarray:
    """Counts for the audit: a cell the file withheld is unknown but, being hidden for being
    small, taken as non-zero."""
    return np.where(_withheld(table), 1, table.counts)


def protect(table: FrequencyTable, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """The primary cells and every hidden cell (primary, withheld by the file, complementary)."""
    withheld = _withheld(table)
    primary = primary_mask(table.counts, profile) & ~withheld
    if profile.secondary_suppression and profile.totals == "true":
        hidden = secondary_mask(_audit_counts(table), primary | withheld, table.published())
        return primary, hidden
    return primary, primary | withheld


def safe_version(table: FrequencyTable, hidden: np.ndarray, profile: Profile) -> SafeTable:
    """Hidden cells as ``nan``, the rest rounded as the profile says, and its margins: the true
    totals (rounded alike), or sums of the published cells when the profile recomputes them."""
    counts = table.counts.astype(float)
    values = np.where(hidden, np.nan, round_counts(counts, profile))
    shown = table.file_totals
    if profile.totals == "recompute":
        row_totals, col_totals = np.nansum(values, axis=1), np.nansum(values, axis=0)
        total = float(np.nansum(values))
    elif shown is not None:  # the true totals are unknown: only what the file shows
        row_totals, col_totals = (
            round_counts(shown.rows, profile),
            round_counts(shown.columns, profile),
        )
        total = float(round_counts(np.array(shown.total), profile))
        return SafeTable(
            table.rows,
            table.columns,
            values,
            row_totals if not np.isnan(row_totals).all() else None,
            col_totals if not np.isnan(col_totals).all() else None,
            None if np.isnan(total) else total,
        )
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


def _small_numbers(table: FrequencyTable, primary: np.ndarray, profile: Profile) -> RuleResult:
    cells, positions = _cells(table, primary)
    return RuleResult(
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


def _secondary(
    table: FrequencyTable, protected: np.ndarray, hidden: np.ndarray, profile: Profile
) -> RuleResult:
    """The complementary cells, and whether they leave every protected cell undetermined."""
    leaks = exposed(_audit_counts(table), hidden, protected, table.published())
    complement, positions = _cells(table, hidden & ~protected)
    return RuleResult(
        "secondary_suppression",
        not leaks.any(),
        f"{len(complement)} more cell(s) hidden so no suppressed cell can be worked out "
        "from the row and column totals"
        if not leaks.any()
        else "a suppressed cell can still be worked out from the totals; merge categories",
        "true totals published",
        profile.source("totals"),
        complement,
        positions,
    )


def _rounding(table: FrequencyTable, hidden: np.ndarray, profile: Profile) -> RuleResult:
    published = table.counts[~hidden].astype(float)
    unrounded = int((round_counts(published, profile) != published).sum())
    return RuleResult(
        "rounding",
        unrounded == 0,
        f"{unrounded} published count(s) rounded" if unrounded else "every count already rounded",
        f"{profile.rounding} {profile.rounding_base}",
        profile.source("rounding"),
    )


def _checked_against(earlier: list[ReleasedTable]) -> str:
    """What a table was compared with, counting releases (not files or tables), and the tables
    of the same request or file that go out with it."""
    releases, tables = releases_in(earlier)
    alongside = len(earlier) - tables
    said = f"checked against {releases} earlier release(s) of this data ({tables} table(s))"
    return said + (f" and {alongside} table(s) going out with it" if alongside else "")


def _differencing(record: ReleasedTable, history: ReleaseHistory, profile: Profile) -> RuleResult:
    earlier = list(history.released())
    exposures = check_history(record, earlier, profile.threshold)
    names = tuple(
        f"with {e.earlier} ({e.hypothesis}): {e.what}"
        + (f" via {', '.join(e.cells[:4])}" if e.cells else "")
        for e in exposures
    )
    return RuleResult(
        "differencing",
        not exposures,
        f"{len(exposures)} way(s) to expose a small group by subtracting tables"
        if exposures
        else _checked_against(earlier),
        f"groups under {profile.threshold}",
        profile.source("differencing"),
        names,
        tuple(p for e in exposures for p in e.positions),
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
    withheld = _withheld(table)
    protected = primary | withheld
    report.results.append(_small_numbers(table, primary, profile))
    if profile.totals == "true":
        report.results.append(_small_totals(table, profile))
    if withheld.any():
        report.notes.append(
            f"{int(withheld.sum())} cell(s) already hidden in the file; their counts are unknown"
        )
        report.results.append(_withheld_leaks(table, withheld, profile))
    if profile.secondary_suppression and profile.totals == "true" and protected.any():
        report.results.append(_secondary(table, protected, hidden, profile))
    elif profile.totals == "recompute" and protected.any():
        report.notes.append("totals are recomputed from the published cells, so they hide nothing")
    if profile.rounding != "none":
        report.results.append(_rounding(table, hidden, profile))
    record = ReleasedTable(name, table, hidden, primary, profile.totals == "true")
    if history is not None and profile.differencing:
        report.results.append(_differencing(record, history, profile))
    report.safe = safe_version(table, hidden, profile)
    report.records.append(record)
    return report, record
