"""Commands for data in: synth, validate, load, quarantine (the catalogue is in catalogue.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich.table import Table as RichTable
from rich.text import Text

from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    err,
    fail,
    need_token,
    progress_bar,
)
from fivesafes.cli.environment import opened
from fivesafes.environment.refusals import Refused
from fivesafes.ingest.readers import FILE_EMPTY
from fivesafes.ingest.sources import UnreadableSource, survey
from fivesafes.store.config import DataDir

if TYPE_CHECKING:  # the store and the load are imported by the commands that use them
    from fivesafes.environment.loading import LoadResult
    from fivesafes.store.database import Store
    from fivesafes.store.load import LoadReport, ProgressCallback

T = TypeVar("T")

# Exit codes of `load` and `validate` (docs/loading-data.md): like diff and grep, 0 means
# nothing to look at, 1 that some records were quarantined (or rejected), 2 that the command was
# refused and nothing was read or changed; 3 that nothing at all was loaded (or accepted).
EXIT_ALL = 0
EXIT_SOME = 1
EXIT_NONE = 3


def exit_code(accepted: int, rejected: int) -> int:
    """The exit code for a run that accepted and rejected this many records."""
    if not rejected:
        return EXIT_ALL
    return EXIT_SOME if accepted else EXIT_NONE


def _survey(paths: list[Path]) -> list[Path]:
    """The files to read, or a clean refusal; files left out on purpose are said, not hidden."""
    try:
        found = survey(paths)
    except UnreadableSource as refused:
        raise fail(f"{refused}; nothing was checked or loaded") from None
    if found.ignored:
        names = ", ".join(p.name for p in found.ignored[:5])
        more = f" and {len(found.ignored) - 5} more" if len(found.ignored) > 5 else ""
        err.print(
            f"left out {len(found.ignored):,} file(s) that are not data (not .ndjson, .jsonl, "
            f".json or .csv, or named with a leading _ or .): {names}{more}"
        )
    if not found.files:
        raise fail("no .ndjson, .jsonl, .json or .csv files found in " + ", ".join(map(str, paths)))
    return list(found.files)


def _store(data_dir: Path | None, read_only: bool = False) -> Store:
    """The environment's store, or a clear error: none yet (to read), or another process has it."""
    from fivesafes.store.database import Store, StoreBusy
    from fivesafes.store.upgrades import StoreOutdated

    try:
        return Store.open(DataDir.from_env(data_dir), read_only=read_only)
    except (FileNotFoundError, StoreBusy, StoreOutdated) as exc:
        raise fail(str(exc)) from None


def _with_progress(files: list[Path], run: Callable[[ProgressCallback], T]) -> T:
    """``run`` with a progress bar over the files :func:`_survey` found; a file that cannot be
    read after all (gone, or its permissions changed) refuses the run."""
    with progress_bar() as progress:
        task = progress.add_task("checking", total=len(files))

        def advance(file: str, records: int) -> None:
            if records < 0:
                progress.advance(task)
            else:
                progress.update(task, description=f"{Path(file).name}: {records:,} records")

        try:
            return run(advance)
        except UnreadableSource as refused:
            raise fail(f"{refused}; nothing was loaded") from None


def _summary_table(report: LoadReport, title: str) -> RichTable:
    from fivesafes.store.load import OUTCOMES

    table = RichTable(title=title)
    table.add_column("resource / table", no_wrap=True)
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    for kind, counts in sorted(report.counts.items()):
        table.add_row(kind, *(f"{counts[o]:,}" for o in OUTCOMES))
    totals = report.totals
    table.add_row(
        *(Text(cell, style="bold") for cell in ("total", *(f"{totals[o]:,}" for o in OUTCOMES)))
    )
    return table


def _rules_table(rules: dict[str, int]) -> RichTable:
    from fivesafes.ingest.rules import RULES

    table = RichTable(title="Quarantined by rule")
    table.add_column("rule", no_wrap=True)
    table.add_column("records", justify="right")
    table.add_column("what it checks")
    for rule_id, n in sorted(rules.items(), key=lambda kv: -kv[1]):
        known = RULES.get(rule_id)
        table.add_row(rule_id, f"{n:,}", known.summary if known else "")
    return table


def _findings_table(title: str, *names: str) -> RichTable:
    """One row per finding; the names (file, FHIR path, rule, and any ``names`` after them) are
    kept whole, the message wraps."""
    table = RichTable(title=title)
    for name in ("file", "position", "resource", "path", "rule", *names):
        table.add_column(name, no_wrap=True)
    table.add_column("message", overflow="fold")
    return table


@app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the FHIR and CSV files to")],
    patients: Annotated[int, typer.Option("--patients", help="How many people")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes")] = 1,
    faults: Annotated[
        float, typer.Option("--faults", help="Fraction of records to spoil (0 to 1)")
    ] = 0.0,
    published_workforce: Annotated[
        Path | None,
        typer.Option(
            "--published-workforce",
            help="Also write the organisations' published workforce statistics (a CSV, public "
            "data, not for loading) for the same synthetic trusts and practices",
        ),
    ] = None,
) -> None:
    """Write a synthetic population as FHIR R4 NDJSON (and CSV tables); all of it made up."""
    from fivesafes.synth import generate
    from fivesafes.synth.generator import FAULTS_FILE, write_published_workforce

    try:
        with progress_bar() as progress:
            summary = generate(out, patients=patients, seed=seed, faults=faults, progress=progress)
        if published_workforce is not None:
            write_published_workforce(published_workforce, patients, seed=seed)
    except ValueError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        where = exc.filename or out
        raise fail(f"cannot write the population to {where}: {exc.strerror or exc}") from None
    table = RichTable(title=f"Synthetic population: {summary.patients:,} people, seed {seed}")
    table.add_column("file", no_wrap=True)
    table.add_column("records", justify="right")
    for f in summary.files:
        table.add_row(f.name, f"{f.records:,}")
    table.add_row(Text("total", style="bold"), Text(f"{summary.records:,}", style="bold"))
    console.print(table)
    if summary.faults:
        console.print(f"{summary.faults:,} records spoiled on purpose; see {out / FAULTS_FILE}")
    if published_workforce is not None:
        console.print(f"published workforce statistics written to {published_workforce}")


@app.command("load")
def load_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (NDJSON, JSON, CSV)")],
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
    token: TokenOption = None,
) -> None:
    """Validate and load data into the store, in one transaction; rejects go to quarantine.

    Only a data custodian may load; the load is announced in the ledger before it commits and
    logged after. Loading again the very files of the latest load does nothing (a safe retry).
    Exit 0 when every record loaded, 1 when some were quarantined, 3 when all were.
    """
    from fivesafes.environment import data
    from fivesafes.store.database import StoreBusy

    credential = need_token(token)
    files = _survey(paths)
    with opened(data_dir) as env:
        try:
            result = _with_progress(
                files, lambda advance: data.load(env, credential, paths, advance)
            )
        except StoreBusy as busy:
            raise fail(str(busy)) from None
    if result.report is None:
        raise typer.Exit(_already_loaded(result, output_format))
    report = result.report
    totals = report.totals
    quarantined = totals["quarantined"]
    code = exit_code(sum(totals.values()) - quarantined, quarantined)
    if output_format == "json":
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console.print(_summary_table(report, f"Load {report.load_id}"))
        if report.rules:
            console.print(_rules_table(dict(report.rules)))
            console.print(
                Text.assemble(
                    "See every reject and its reason with ", ("fivesafes quarantine", "bold"), "."
                )
            )
    if code == EXIT_NONE:
        err.print(f"nothing was loaded: all {quarantined:,} records were quarantined")
    elif code == EXIT_SOME:
        err.print(f"{quarantined:,} records were quarantined; the rest loaded")
    raise typer.Exit(code)


def _already_loaded(result: LoadResult, output_format: str) -> int:
    """Say that the latest load holds these very files; exit as that load did, so a retry
    gives a script the answer the load it repeats gave."""
    assert result.previous is not None
    previous = result.previous
    if output_format == "json":
        summary = {**previous.summary, "already_loaded": True}
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console.print(
            f"already loaded: load {previous.load_id} committed these files (same names, same "
            f"bytes) at {previous.finished_at:%Y-%m-%d %H:%M:%S} UTC and nothing was loaded "
            "since; nothing to do"
        )
    counts = previous.summary.get("counts", {}).values()
    quarantined = sum(c.get("quarantined", 0) for c in counts)
    return exit_code(sum(sum(c.values()) for c in counts) - quarantined, quarantined)


Record = dict[str, Any]
"""One record's verdicts as `validate --format json` writes them (docs/loading-data.md)."""


def _record(
    file: str,
    line: int,
    entry: int | None,
    resource: tuple[str | None, str | None],
    findings: list[tuple[str, str, str]],
    accepted: bool | None,
) -> Record:
    """A record's verdicts: valid FHIR R4 (None for CSV or a whole-file finding) and, unless
    only FHIR is judged (``accepted`` None), whether it would load here."""
    from fivesafes.ingest.conformance import breaks_fhir_r4, fhir_r4_valid
    from fivesafes.ingest.pipeline import is_csv

    rules = [rule for _, rule, _ in findings]
    csv = is_csv(Path(file))
    if csv or (rules and set(rules) == {FILE_EMPTY.id}):
        fhir = None
    else:
        fhir = "valid" if fhir_r4_valid(rules) else "invalid"
    record: Record = {
        "file": file,
        "line": line,
        "entry": entry,
        "resource_type": resource[0],
        "id": resource[1],
        "fhir_r4": fhir,
    }
    if accepted is not None:
        record["verdict"] = "accepted" if accepted else "rejected"
    record["findings"] = [
        {
            "path": path,
            "rule": rule,
            "message": message,
            "scope": "fhir-r4" if not csv and breaks_fhir_r4(rule) else "environment",
        }
        for path, rule, message in findings
    ]
    return record


def _file_summaries(records: list[Record], files: list[Path]) -> list[Record]:
    """Per file: how many records, how many are valid FHIR R4, how many would load."""
    from fivesafes.ingest.pipeline import is_csv

    summaries: dict[str, Record] = {
        str(f): {"file": str(f), "records": 0, "valid_fhir_r4": None} for f in files
    }
    for record in records:
        summary = summaries[record["file"]]
        summary["records"] += 1
        if record["fhir_r4"] is not None:
            summary["valid_fhir_r4"] = (summary["valid_fhir_r4"] or 0) + (
                record["fhir_r4"] == "valid"
            )
        if "verdict" in record:
            summary["accepted"] = summary.get("accepted", 0) + (record["verdict"] == "accepted")
    for path, summary in summaries.items():
        if summary["valid_fhir_r4"] is None and not is_csv(Path(path)):
            summary["valid_fhir_r4"] = 0
    return list(summaries.values())


def _print_verdicts(records: list[Record], files: list[Record], fhir_only: bool) -> None:
    """The records with findings, the files, and one line of totals."""
    flagged = [r for r in records if r["findings"]]
    if flagged:
        title = "Not valid FHIR R4" if fhir_only else "Rejected records"
        table = _findings_table(title, *(() if fhir_only else ("rule of",)))
        for r in flagged:
            position = f"line {r['line']}" + (
                f" entry {r['entry']}" if r["entry"] is not None else ""
            )
            resource = f"{r['resource_type'] or '?'}/{r['id'] or '?'}"
            for f in r["findings"]:
                scope = [] if fhir_only else ["FHIR R4" if f["scope"] == "fhir-r4" else "fivesafes"]
                cells = [Path(r["file"]).name, position, resource, f["path"], f["rule"], *scope]
                table.add_row(*cells, f["message"])
        console.print(table)
    summary = RichTable(title="Files")
    summary.add_column("file", no_wrap=True)
    for name in ("records", "valid FHIR R4", *(() if fhir_only else ("would load here",))):
        summary.add_column(name, justify="right")
    for f in files:
        valid = "-" if f["valid_fhir_r4"] is None else f"{f['valid_fhir_r4']:,}"
        cells = [Path(f["file"]).name, f"{f['records']:,}", valid]
        summary.add_row(*cells, *(() if fhir_only else (f"{f.get('accepted', 0):,}",)))
    console.print(summary)
    valid = sum(r["fhir_r4"] == "valid" for r in records)
    judged = sum(r["fhir_r4"] is not None for r in records)
    if fhir_only:
        console.print(f"{judged:,} FHIR records: {valid:,} valid FHIR R4, {judged - valid:,} not.")
        return
    accepted = sum(r["verdict"] == "accepted" for r in records)
    console.print(
        f"{len(records):,} records: {accepted:,} would load here, {len(records) - accepted:,} "
        f"rejected; {valid:,} of {judged:,} FHIR records are valid FHIR R4."
    )


def _fhir_only(files: list[Path]) -> tuple[list[Record], list[Path]]:
    """Every FHIR record judged as base R4 alone; CSV files are not FHIR and are not judged."""
    from fivesafes.ingest.conformance import fhir_r4_verdicts
    from fivesafes.ingest.pipeline import is_csv

    fhir_files = [f for f in files if not is_csv(f)]
    if not fhir_files:
        raise fail("--fhir-only judges FHIR files (.ndjson, .jsonl, .json); none were given")
    records: list[Record] = []
    with progress_bar() as progress:
        task = progress.add_task("checking", total=len(fhir_files))
        for path in fhir_files:
            try:
                for v in fhir_r4_verdicts(path):
                    findings = [(f.path, f.rule, f.message) for f in v.findings]
                    where = (v.resource_type, v.resource_id)
                    records.append(_record(v.file, v.line, v.entry, where, findings, None))
            except UnreadableSource as refused:
                raise fail(f"{refused}; nothing was checked") from None
            progress.advance(task)
    return records, fhir_files


@app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (NDJSON, JSON, CSV)")],
    output_format: FormatOption = "text",
    fhir_only: Annotated[
        bool,
        typer.Option(
            "--fhir-only",
            help="Judge base FHIR R4 only, as HL7's validator does with no profile; "
            "apply none of this environment's rules",
        ),
    ] = False,
) -> None:
    """Run every load check on files without loading anything, or only FHIR R4's.

    Each record gets two verdicts: is it valid FHIR R4, and would it load here. Exit 0 when
    every record passes, 1 when some do not, 3 when none do (with --fhir-only: are valid R4).
    """
    from fivesafes.environment import data
    from fivesafes.ingest.pipeline import is_csv

    files = _survey(paths)
    if fhir_only:
        records, judged = _fhir_only(files)
        passed = sum(r["fhir_r4"] == "valid" for r in records)
        not_judged = [str(f) for f in files if is_csv(f)]
        document: Record = {"mode": "fhir-only", "files": _file_summaries(records, judged)}
        document |= {"records": records, "not_judged": not_judged}
    else:
        try:
            report = _with_progress(files, lambda advance: data.validate(paths, advance))
        except Refused as refused:
            raise fail(refused.reason) from None
        records = [
            _record(
                v.file,
                v.line,
                v.entry,
                (v.resource_type, v.resource_id),
                list(v.findings),
                v.accepted,
            )
            for v in report.verdicts
        ]
        passed = sum(r["verdict"] == "accepted" for r in records)
        document = {"mode": "environment", "files": _file_summaries(records, files)}
        document |= {"records": records}
    if output_format == "json":
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_verdicts(records, document["files"], fhir_only)
        for path in document.get("not_judged", []):
            err.print(f"{Path(path).name}: CSV is not FHIR, so --fhir-only does not judge it")
    for f in document["files"] if fhir_only else ():
        if f["records"] == 0:
            err.print(f"{Path(f['file']).name} holds no records, so there is nothing to judge")
    raise typer.Exit(exit_code(passed, len(records) - passed))


@app.command("quarantine")
def quarantine_command(
    data_dir: DataDirOption = None,
    rule: Annotated[str | None, typer.Option(help="Only rejects under this rule")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows")] = 50,
    output_format: FormatOption = "text",
    token: TokenOption = None,
) -> None:
    """List rejected records with the rule they broke, why the rule exists and what to do.

    Rejects can hold identifiable values (a mistyped NHS number), so only a data custodian may.
    """
    from fivesafes.environment import data
    from fivesafes.ingest.rules import RULES
    from fivesafes.store.database import StoreBusy
    from fivesafes.store.upgrades import StoreOutdated

    credential = need_token(token)
    with opened(data_dir) as env:
        try:
            view = data.quarantine(env, credential, rule, limit)
        except (FileNotFoundError, StoreBusy, StoreOutdated) as exc:
            raise fail(str(exc)) from None
    rows = [
        (f.file, f.line, f.entry, f.resource_type, f.resource_id, f.path, f.rule, f.message)
        for f in view.findings
    ]
    if output_format == "json":
        keys = ("file", "line", "entry", "resource_type", "id", "path", "rule", "message")
        records = [dict(zip(keys, r, strict=True)) for r in rows]
        for rec in records:
            known = RULES.get(str(rec["rule"]))
            rec["reason"] = known.reason if known else None
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = _findings_table(f"Quarantine ({view.total:,} findings)")
    for file, line, entry, rtype, rid, path, rule_id, message in rows:
        position = f"line {line}" + (f" entry {entry}" if entry is not None else "")
        table.add_row(
            Path(file).name, position, f"{rtype or '?'}/{rid or '?'}", path, rule_id, message
        )
    console.print(table)
    for rule_id in sorted({r[6] for r in rows}):
        known = RULES.get(rule_id)
        if known:
            console.print(Text.assemble((rule_id, "bold"), f": {known.reason}"))
