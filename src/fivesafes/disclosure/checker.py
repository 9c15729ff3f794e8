"""One entry point for any output file: work out what kind of table it is and check it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.frequency import check_frequency
from fivesafes.disclosure.history import MemoryReleaseHistory, ReleaseHistory
from fivesafes.disclosure.magnitude import check_magnitude, magnitude_table
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.summaries import (
    check_model,
    check_statistics,
    is_model_table,
    is_statistics_table,
)
from fivesafes.disclosure.tables import (
    Dimension,
    FrequencyTable,
    LongLayout,
    TableError,
    count_tables,
    label_columns,
    read_arrow,
)


def check_file(
    path: Path,
    profile: Profile | str = "default",
    history: ReleaseHistory | None = None,
    labels: list[str] | None = None,
    microdata: Path | None = None,
    value: str | None = None,
    contributor: str | None = None,
) -> CheckReport:
    """Check a CSV or Parquet output: a model table (has residual df), summary statistics by
    group (has n and min/max/mean…), or else a table of counts (``labels`` names its category
    columns when the column names do not make them plain). Given the ``microdata`` the table
    was built from and the ``value`` it sums, it is checked as a magnitude table instead: the
    dominance rules need each contributor's share, which only the records hold.

    Raises ``TableError`` with a message naming the file when it cannot be read.
    """
    rules = named_profile(profile) if isinstance(profile, str) else profile
    data = read_arrow(path)
    name = path.name
    if is_model_table(data):
        return check_model(data, rules, name)
    if is_statistics_table(data):
        return check_statistics(data, rules, name)
    if microdata is not None:
        if value is None:
            raise TableError("say which column of the microdata the table sums (value)")
        return _check_from_microdata(
            data, labels, read_arrow(microdata), value, contributor, rules, name
        )
    tables, layout = count_tables(data, labels)
    return check_counts(tables, rules, name, history, layout)


def _check_from_microdata(
    data: pa.Table,
    labels: list[str] | None,
    records: pa.Table,
    value: str,
    contributor: str | None,
    profile: Profile,
    name: str,
) -> CheckReport:
    """Rebuild a magnitude table from its records, check dominance, and confirm the file's
    sums are the ones the records give (else the file was not made from these records)."""
    keys = labels if labels is not None else label_columns(data)
    if not 1 <= len(keys) <= 2:
        raise TableError(f"{name}: a magnitude table needs one or two label columns, not {keys}")
    missing = [c for c in [*keys, value] if c not in records.column_names]
    if missing:
        raise TableError(f"{name}: the microdata has no column {', '.join(missing)}")
    table = magnitude_table(
        records, keys[0], keys[1] if len(keys) == 2 else None, value, contributor
    )
    report = check_magnitude(table, profile, name)
    measure = (
        value
        if value in data.column_names
        else next((c for c in data.column_names if c not in keys), None)
    )
    shown = (
        {
            tuple(str(data[k][i].as_py()) for k in keys): data[measure][i].as_py()
            for i in range(data.num_rows)
        }
        if measure
        else {}
    )
    cols = table.columns.labels if table.columns else (None,)
    differ = [
        table.cell_name(i, j)
        for i, r in enumerate(table.rows.labels)
        for j, c in enumerate(cols)
        if table.contributors[i, j]
        and not np.isclose(shown.get((r,) if c is None else (r, c), np.nan), table.total[i, j])
    ]
    report.results.append(
        RuleResult(
            "matches_microdata",
            not differ,
            f"{len(differ)} sum(s) differ from the microdata" if differ else "every sum matches",
            f"sum of {value}",
            "",
            tuple(differ),
        )
    )
    return report


def check_counts(
    tables: dict[str, FrequencyTable],
    profile: Profile,
    name: str,
    history: ReleaseHistory | None = None,
    layout: LongLayout | None = None,
) -> CheckReport:
    """Check every count column of one output; each is also checked against the ones before it,
    because a numerator and its denominator differ by a group (people *without* asthma). Given
    the ``layout`` of a long table, its safe version is written in that layout."""
    if len(tables) == 1:
        ((measure, table),) = tables.items()
        report = check_frequency(table, profile, name, history)[0]
        if report.safe is not None and layout is not None:
            report.safe = replace(report.safe, value_name=measure, layout=layout)
        report.notes += _absent_note(layout)
        return report
    seen = MemoryReleaseHistory(history.released() if history is not None else ())
    combined = CheckReport(name, "frequency table", profile.name)
    parts: dict[str, CheckReport] = {}
    for measure, table in tables.items():
        report, _ = check_frequency(table, profile, f"{name}: {measure}", seen)
        for record in report.records:
            seen.record(record)
        parts[measure] = report
        combined.records += report.records
        combined.notes += [f"{measure}: {note}" for note in report.notes]
    combined.notes += _absent_note(layout)
    for rule in dict.fromkeys(r.rule for part in parts.values() for r in part.results):
        results = {m: r for m, part in parts.items() for r in part.results if r.rule == rule}
        first = next(iter(results.values()))
        combined.results.append(
            RuleResult(
                rule,
                all(r.passed for r in results.values()),
                "; ".join(f"{m}: {r.summary}" for m, r in results.items()),
                first.setting,
                first.source,
                tuple(f"{m}: {cell}" for m, r in results.items() for cell in r.cells),
                tuple(p for r in results.values() for p in r.positions),
            )
        )
    safes = {m: part.safe for m, part in parts.items() if part.safe is not None}
    combined.safe = replace(_side_by_side(safes), layout=layout)
    return combined


def _absent_note(layout: LongLayout | None) -> list[str]:
    """Say so when combinations with no row were counted as zeros: the analyst should know."""
    absent = int(layout.absent().sum()) if layout is not None else 0
    if layout is None or not absent:
        return []
    return [
        f"{absent} combination(s) of {', '.join(layout.labels)} have no row in the file and "
        "were checked as zero counts (a GROUP BY leaves out empty groups)"
    ]


def _side_by_side(safes: dict[str, SafeTable]) -> SafeTable:
    """Several safe tables over the same categories as one, a column of cells per count: the
    grids themselves are kept as its parts."""
    first = next(iter(safes.values()))
    if first.columns is None:
        keys = first.rows.labels
    else:
        keys = tuple(f"{r} / {c}" for r in first.rows.labels for c in first.columns.labels)
    name = first.rows.name if first.columns is None else f"{first.rows.name} / {first.columns.name}"
    values = np.column_stack([s.values.ravel() for s in safes.values()])
    totals = np.array([s.grand_total() for s in safes.values()])
    return SafeTable(
        Dimension(name, keys),
        Dimension("measure", tuple(safes)),
        values,
        None,
        totals,
        None,
        parts=tuple(replace(s, value_name=m) for m, s in safes.items()),
    )
