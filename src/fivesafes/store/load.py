"""Loading: checked records in, one transaction, one authoritative copy out.

A load stages every record that passed the record-level checks, then makes the
checks that need the whole picture (duplicates, references, dates against the
patient's birth and death) in SQL over the staging tables and the store,
quarantines what fails with its reason, merges the rest into the identifiable
layer (new, updated or unchanged by content hash; superseded versions kept in
history) and updates the analysis rows of the patients it touched -- all inside one DuckDB
transaction, held to a memory budget (:mod:`fivesafes.store.budget`).
If anything goes wrong, or the process is killed, the store is as it was.

The load's row in ``meta.loads`` is written in that same transaction, just before COMMIT, so
it is there exactly when the load committed: it is the evidence recovery reads
(:func:`load_committed`) to tell a committed load from one a kill cut short.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.ingest.pipeline import check_csv_file, is_csv
from fivesafes.ingest.sources import discover
from fivesafes.ingest.tabular import CSV_TABLES
from fivesafes.model import TABLES
from fivesafes.model.schema import DUCKDB_TYPES
from fivesafes.store.analysis import (
    AREAS,
    DATASETS_OF,
    note_changed_areas,
    note_changes,
    start_tracking,
    update_analysis_layer,
)
from fivesafes.store.budget import load_memory, memory_budget
from fivesafes.store.chunks import check_parts, stage_columns
from fivesafes.store.crosschecks import run_crosschecks
from fivesafes.store.database import QUARANTINE_COLUMNS, Store, identifiable_columns
from fivesafes.store.staging import StagingBuffer

ProgressCallback = Callable[[str, int], None]
"""Called with (file, records read so far in it) every few thousand records."""

PROGRESS_EVERY = 5_000
OUTCOMES = ("loaded", "updated", "unchanged", "quarantined")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One record's outcome, as `fivesafes validate` reports it."""

    file: str
    line: int
    entry: int | None
    resource_type: str | None
    resource_id: str | None
    accepted: bool
    findings: tuple[tuple[str, str, str], ...]
    """(path, rule, message) of each finding."""


@dataclass
class LoadReport:
    """What a load did, by resource type (or CSV table) and by rule."""

    load_id: str
    files: list[str]
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    rules: Counter[str] = field(default_factory=Counter)
    committed: bool = False
    verdicts: list[Verdict] = field(default_factory=list)
    digest: str | None = None
    """What the caller says identifies the files' content (kept with the load, see
    :func:`latest_load`)."""

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        if n:
            self.counts.setdefault(kind, Counter())[outcome] += n

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counter in self.counts.values():
            total.update(counter)
        return total

    def datasets(self) -> list[str]:
        """The datasets (analysis tables) this load adds records to or changes, which the
        datasets register must allow; quarantined and unchanged records enter none. A kind
        that feeds no known dataset is taken for a dataset's own name (a CSV table's is), so
        no record enters unchecked: the register has no such dataset and refuses it."""
        fed: set[str] = set()
        for kind, outcomes in self.counts.items():
            if outcomes["loaded"] or outcomes["updated"]:
                fed.update(DATASETS_OF.get(kind) or (kind,))
        return sorted(fed)

    def to_dict(self) -> dict[str, object]:
        return {
            "load_id": self.load_id,
            "files": self.files,
            "counts": {k: {o: c[o] for o in OUTCOMES} for k, c in sorted(self.counts.items())},
            "rules": dict(sorted(self.rules.items())),
            "committed": self.committed,
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True)
class StoredLoad:
    """A committed load as ``meta.loads`` keeps it."""

    load_id: str
    finished_at: datetime
    summary: dict[str, Any]


def _staging_name(kind: str) -> str:
    return f"stage_{kind}"


def load(
    store: Store,
    paths: Iterable[Path],
    *,
    today: date | None = None,
    progress: ProgressCallback | None = None,
    commit: bool = True,
    verdicts: bool = False,
    workers: int | None = None,
    before_commit: Callable[[LoadReport], None] | None = None,
    load_id: str | None = None,
    digest: str | None = None,
) -> LoadReport:
    """Check and load ``paths`` into ``store`` in one transaction.

    With ``commit=False`` every check runs and the report is complete, but the
    transaction is rolled back: this is how ``fivesafes validate`` works. With
    ``verdicts=True`` the report also lists every record's outcome. ``workers``
    sets how many processes check records (default: all cores for large loads).
    ``before_commit`` sees the finished report just before COMMIT (the ledger's intent
    entry is written there); if it raises, the load is rolled back, so no load goes unlogged.
    ``load_id`` names the load (a fresh random one by default); ``digest`` is kept with it.
    The analysis layer is updated for the patients the load touched only, so the API's small
    self-service writes go through here too at a cost of their size, not the store's.
    """
    files = discover(paths)
    report = LoadReport(load_id or uuid.uuid4().hex[:16], [str(f) for f in files], digest=digest)
    today = today or date.today()
    con = store.con
    started = _utc_now()
    with memory_budget(con, load_memory()):
        con.execute("BEGIN TRANSACTION")
        try:
            staged = _stage_and_check(store, files, report, today, progress, verdicts, workers)
            if verdicts:
                report.verdicts = _verdicts(con, staged)
            if commit:
                if before_commit is not None:
                    before_commit(report)
                _record_load(con, report, started)
                con.execute("COMMIT")
                report.committed = True
            else:
                con.execute("ROLLBACK")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return report


def _stage_and_check(
    store: Store,
    files: list[Path],
    report: LoadReport,
    today: date,
    progress: ProgressCallback | None,
    collect: bool,
    workers: int | None,
) -> list[Verdict]:
    """Stage, check, merge and update the analysis layer; returns the staged records'
    verdicts when ``collect``."""
    con = store.con
    staged: list[Verdict] = []
    quarantine = StagingBuffer(con, "stage_quarantine", QUARANTINE_COLUMNS)
    fhir = {
        rtype: StagingBuffer(con, _staging_name(rtype), stage_columns(rtype))
        for rtype in FLATTENINGS
    }
    tables = {
        name: StagingBuffer(
            con,
            _staging_name(name),
            (
                *((c.name, DUCKDB_TYPES[c.type]) for c in TABLES[name].columns),
                ("source_file", "VARCHAR"),
                ("source_line", "INTEGER"),
            ),
        )
        for name in CSV_TABLES
    }
    csv_files = [f for f in files if is_csv(f)]
    for path in csv_files:
        for n, checked in enumerate(check_csv_file(path, store.pseudonymise, today), start=1):
            kind = checked.table.name if checked.table else path.name
            if checked.findings:
                for f in checked.findings:
                    quarantine.append(
                        (
                            report.load_id,
                            checked.file,
                            checked.line,
                            None,
                            kind,
                            None,
                            f.path,
                            f.rule,
                            f.message,
                        )
                    )
                    report.rules[f.rule] += 1
                report.count(kind, "quarantined")
            elif checked.row is not None:
                tables[kind].append((*checked.row, checked.file, checked.line))
                if collect:
                    staged.append(Verdict(checked.file, checked.line, None, kind, None, True, ()))
            if progress and n % PROGRESS_EVERY == 0:
                progress(str(path), n)
        if progress:
            progress(str(path), -1)

    fhir_files = [f for f in files if not is_csv(f)]
    for part in check_parts(fhir_files, today, store.key, collect, workers):
        for rtype, table in part.tables.items():
            fhir[rtype].insert_arrow(table)
        for reject in part.rejects:
            quarantine.append((report.load_id, *reject))
            report.rules[reject[6]] += 1
        for kind, n in part.quarantined.items():
            report.count(kind, "quarantined", n)
        if collect:
            staged.extend(Verdict(*a, True, ()) for a in part.accepted)
        if progress:
            progress(part.path, -1 if part.last_part_of_file else part.records)
    for buffer in (quarantine, *fhir.values(), *tables.values()):
        buffer.flush()

    run_crosschecks(con, report)
    start_tracking(con)
    _merge_fhir(con, report)
    _merge_tables(con, report)
    update_analysis_layer(con)
    con.execute("INSERT INTO meta.quarantine SELECT * FROM stage_quarantine")
    return staged


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record_load(con: duckdb.DuckDBPyConnection, report: LoadReport, started: datetime) -> None:
    """The load's row, written last inside its transaction: present if and only if it commits."""
    summary = {**report.to_dict(), "committed": True}
    con.execute(
        "INSERT INTO meta.loads VALUES (?, ?, ?, ?, ?)",
        [report.load_id, started, _utc_now(), report.files, orjson.dumps(summary).decode()],
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """The one number a statement returns (a count, or the rows a DML statement touched)."""
    row = con.execute(sql, params).fetchone()
    assert row is not None, sql
    return int(row[0])


def load_committed(con: duckdb.DuckDBPyConnection, load_id: str) -> bool:
    """Whether load ``load_id`` committed: its ``meta.loads`` row exists."""
    return _count(con, "SELECT count(*) FROM meta.loads WHERE load_id = ?", [load_id]) > 0


def latest_load(con: duckdb.DuckDBPyConnection) -> StoredLoad | None:
    """The most recent committed load, or None before the first."""
    row = con.execute(
        "SELECT load_id, finished_at, summary FROM meta.loads ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else StoredLoad(row[0], row[1], orjson.loads(row[2]))


def _merge_fhir(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """New, updated and unchanged by content hash; old versions of updated resources to history."""
    for rtype in FLATTENINGS:
        stage = _staging_name(rtype)
        target = f'identifiable."{rtype}"'
        unchanged = _count(
            con,
            f"DELETE FROM {stage} s USING {target} t "
            "WHERE s.id = t.id AND s.content_hash = t.content_hash",
        )
        note_changes(con, rtype, stage)
        # The stored versions being replaced, found by id alone first: selecting them by
        # id straight away would read (and decompress) every stored resource to keep a few.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE replaced AS "
            f"SELECT rowid AS r FROM {target} WHERE id IN (SELECT id FROM {stage})"
        )
        provenance = "id, content_hash, resource, source_file, source_line, source_entry"
        updated = _count(
            con,
            f"INSERT INTO identifiable.history SELECT '{rtype}', {provenance}, load_id, "
            f"loaded_at, ? FROM {target} WHERE rowid IN (SELECT r FROM replaced)",
            [report.load_id],
        )
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT r FROM replaced)")
        columns = ", ".join(f'"{n}"' for n, _ in identifiable_columns(rtype))
        inserted = _count(
            con,
            f"INSERT INTO {target} SELECT {columns}, ?, now()::TIMESTAMP FROM {stage}",
            [report.load_id],
        )
        report.count(rtype, "unchanged", unchanged)
        report.count(rtype, "updated", updated)
        report.count(rtype, "loaded", inserted - updated)


def _merge_tables(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """CSV tables: rows replace the rows with the same key; identical rows are unchanged."""
    for name in CSV_TABLES:
        table = TABLES[name]
        stage = _staging_name(name)
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        key = ", ".join(f'"{c}"' for c in table.key)
        unchanged = _count(
            con,
            f"SELECT count(*) FROM (SELECT {cols} FROM {stage} INTERSECT ALL "
            f"SELECT {cols} FROM analysis.{name})",
        )
        if name == AREAS:
            note_changed_areas(con, stage)
        replaced = _count(
            con, f"DELETE FROM analysis.{name} WHERE ({key}) IN (SELECT ({key}) FROM {stage})"
        )
        inserted = _count(con, f"INSERT INTO analysis.{name} SELECT {cols} FROM {stage}")
        report.count(name, "unchanged", unchanged)
        report.count(name, "updated", replaced - unchanged)
        report.count(name, "loaded", inserted - replaced)


def _verdicts(con: duckdb.DuckDBPyConnection, staged: list[Verdict]) -> list[Verdict]:
    """Every record's outcome: staged records stand accepted unless a whole-load check failed."""
    found = {(v.file, v.line, v.entry): v for v in staged}
    for file, line, entry, rtype, rid, path, rule, message in con.execute(
        "SELECT file, line, entry, resource_type, resource_id, path, rule, message "
        "FROM stage_quarantine"
    ).fetchall():
        key = (file, line, entry)
        old = found.get(key)
        findings = (old.findings if old else ()) + ((path, rule, message),)
        found[key] = Verdict(file, line, entry, rtype, rid, False, findings)
    return sorted(found.values(), key=lambda v: (v.file, v.line, v.entry or 0))
