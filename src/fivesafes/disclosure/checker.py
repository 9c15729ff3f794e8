"""One entry point for any output file: work out what kind of table it is and check it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from fivesafes.disclosure.columns import classify, read_output
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.frequency import check_frequency
from fivesafes.disclosure.history import MemoryReleaseHistory, ReleaseHistory
from fivesafes.disclosure.magnitude import contributions, is_contributions, on_grid
from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
from fivesafes.disclosure.summaries import check_model, check_statistics, is_model_table
from fivesafes.disclosure.tables import (
    EMPTY_TABLE,
    FrequencyTable,
    LongLayout,
    TableError,
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
    contributions_file: Path | None = None,
) -> CheckReport:
    """Check a CSV or Parquet output: a model table (has residual df), or a table of counts
    and statistics by group (``labels`` names its category columns when their order does not
    make them plain). Statistics are checked with the contributions the job kept
    (``contributions_file``), or rebuilt from the ``microdata`` a table of sums of ``value``
    was made from: the dominance rules need each contributor's share, which only the records
    hold.

    Raises ``TableError`` with a message naming the file when it cannot be read.
    """
    data = read_arrow(path)
    given = read_arrow(contributions_file) if contributions_file is not None else None
    sums: tuple[str, ...] = ()
    if microdata is not None:
        if value is None:
            raise TableError("say which column of the microdata the table sums (value)")
        keys = labels if labels is not None else list(classify(data).labels)
        measure = value if value in data.column_names else _first_measure(data, keys)
        records = read_arrow(microdata)
        missing = [c for c in [*keys, value] if c not in records.column_names]
        if missing:
            raise TableError(f"{path.name}: the microdata has no column {', '.join(missing)}")
        given = contributions(records, keys, value, measure, contributor)
        sums = (measure,)
    return check_table(data, profile, path.name, history, labels, given, sums)


def _first_measure(data: pa.Table, keys: list[str]) -> str:
    measure = next((c for c in data.column_names if c not in keys), None)
    if measure is None:
        raise TableError("the table has no column besides its labels")
    return str(measure)


def check_table(
    data: pa.Table,
    profile: Profile | str = "default",
    name: str = "table",
    history: ReleaseHistory | None = None,
    labels: list[str] | None = None,
    given: pa.Table | None = None,
    sums: tuple[str, ...] = (),
) -> CheckReport:
    """Check an output held as an Arrow table: what ``check_file`` does once it has read it,
    and what the safe API does where the table is made — so both reach the same verdict.
    ``given`` holds the job's contributions behind its statistics; ``sums`` names columns
    declared to be sums of a value (checked as statistics whatever their values)."""
    rules = named_profile(profile) if isinstance(profile, str) else profile
    try:
        return _check_table(data, rules, name, history, labels, given, sums)
    except TableError as exc:
        if str(exc).startswith(f"{name}:"):
            raise
        raise TableError(f"{name}: {exc}") from None


def _check_table(
    data: pa.Table,
    rules: Profile,
    name: str,
    history: ReleaseHistory | None,
    labels: list[str] | None,
    given: pa.Table | None,
    sums: tuple[str, ...],
) -> CheckReport:
    if is_contributions(data):
        raise TableError(
            f"{name}: a contributions file holds individual values; it never leaves the "
            "environment (declare it highly_sensitive)"
        )
    if not data.num_rows:
        raise TableError(f"{name}: {EMPTY_TABLE}")
    if is_model_table(data):
        return check_model(data, rules, name)
    output = read_output(data, labels, sums)
    if not output.statistics:
        return check_counts(output.counts, rules, name, history, output.layout)
    assert output.layout is not None and output.columns is not None  # only long files
    if output.counts:
        report = check_counts(output.counts, rules, name, history, output.layout)
    else:
        report = CheckReport(name, "summary statistics", rules.name)
    labels_of = output.columns.labels
    cells = on_grid(given, labels_of, output.layout, name) if given is not None else {}
    return check_statistics(report, output, rules, cells, frozenset(sums))


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
    combined.safe = replace(SafeTable.side_by_side(safes), layout=layout)
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
