"""Commands for data in: synth, validate, load, quarantine, catalogue."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.table import Table as RichTable
from rich.text import Text

from fivesafes.catalogue.metadata import build_catalogue
from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    control_plane,
    fail,
    need_token,
    progress_bar,
)
from fivesafes.environment.loading import LoadResult, load_data
from fivesafes.governance import Action
from fivesafes.ingest.readers import discover
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import OUTCOMES, LoadReport, ProgressCallback, load

T = TypeVar("T")


def _with_progress(paths: list[Path], run: Callable[[ProgressCallback], T]) -> T:
    """Check the paths name some files, then ``run`` with a progress bar over them."""
    files = discover(paths)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(map(str, missing))}")
    if not files:
        raise fail("no .ndjson, .json or .csv files found in " + ", ".join(map(str, paths)))
    with progress_bar() as progress:
        task = progress.add_task("checking", total=len(files))

        def advance(file: str, records: int) -> None:
            if records < 0:
                progress.advance(task)
            else:
                progress.update(task, description=f"{Path(file).name}: {records:,} records")

        return run(advance)


def _summary_table(report: LoadReport, title: str) -> RichTable:
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


def _findings_table(title: str) -> RichTable:
    """One row per finding; the names (file, FHIR path, rule) are kept whole, the message wraps."""
    table = RichTable(title=title)
    for name in ("file", "position", "resource", "path", "rule"):
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
) -> None:
    """Write a synthetic population as FHIR R4 NDJSON (and CSV tables); all of it made up."""
    from fivesafes.synth import generate
    from fivesafes.synth.generator import FAULTS_FILE

    try:
        with progress_bar() as progress:
            summary = generate(out, patients=patients, seed=seed, faults=faults, progress=progress)
    except ValueError as exc:
        raise fail(str(exc)) from None
    table = RichTable(title=f"Synthetic population: {summary.patients:,} people, seed {seed}")
    table.add_column("file", no_wrap=True)
    table.add_column("records", justify="right")
    for f in summary.files:
        table.add_row(f.name, f"{f.records:,}")
    table.add_row(Text("total", style="bold"), Text(f"{summary.records:,}", style="bold"))
    console.print(table)
    if summary.faults:
        console.print(f"{summary.faults:,} records spoiled on purpose; see {out / FAULTS_FILE}")


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
    """
    credential = need_token(token)
    with control_plane(data_dir) as cp:
        result = _with_progress(
            paths,
            lambda advance: load_data(
                cp, DataDir.from_env(data_dir), credential, paths, progress=advance
            ),
        )
    if result.report is None:
        _already_loaded(result, output_format)
        return
    report = result.report
    if output_format == "json":
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    console.print(_summary_table(report, f"Load {report.load_id}"))
    if report.rules:
        console.print(_rules_table(dict(report.rules)))
        console.print(
            Text.assemble(
                "See every reject and its reason with ", ("fivesafes quarantine", "bold"), "."
            )
        )


def _already_loaded(result: LoadResult, output_format: str) -> None:
    assert result.previous is not None
    previous = result.previous
    if output_format == "json":
        summary = {**previous.summary, "already_loaded": True}
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return
    console.print(
        f"already loaded: load {previous.load_id} committed these files (same names, same "
        f"bytes) at {previous.finished_at:%Y-%m-%d %H:%M:%S} UTC and nothing was loaded "
        "since; nothing to do"
    )


@app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (NDJSON, JSON, CSV)")],
    output_format: FormatOption = "text",
) -> None:
    """Run every load check on files without loading anything; exit 1 if any record is rejected."""
    import secrets

    with Store.in_memory(secrets.token_bytes(32)) as store:
        report = _with_progress(
            paths,
            lambda advance: load(store, paths, progress=advance, commit=False, verdicts=True),
        )
    rejected = [v for v in report.verdicts if not v.accepted]
    if output_format == "json":
        records = [
            {
                "file": v.file,
                "line": v.line,
                "entry": v.entry,
                "resource_type": v.resource_type,
                "id": v.resource_id,
                "verdict": "accepted" if v.accepted else "rejected",
                "findings": [{"path": p, "rule": r, "message": m} for p, r, m in v.findings],
            }
            for v in report.verdicts
        ]
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        table = _findings_table("Rejected records")
        for v in rejected:
            position = f"line {v.line}" + (f" entry {v.entry}" if v.entry is not None else "")
            resource = f"{v.resource_type or '?'}/{v.resource_id or '?'}"
            for path, rule, message in v.findings:
                table.add_row(Path(v.file).name, position, resource, path, rule, message)
        if rejected:
            console.print(table)
        console.print(
            f"{len(report.verdicts) - len(rejected):,} records accepted, "
            f"{len(rejected):,} rejected."
        )
    if rejected:
        raise typer.Exit(1)


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
    from fivesafes.ingest.rules import RULES

    with control_plane(data_dir) as cp:
        with cp.transaction() as session:
            who = cp.authenticate(session, need_token(token), Action.MANAGE_DATA)
        what = {"table": "quarantine", "rule": rule or "any", "limit": str(limit)}
        cp.log("identifiable_read", what, who.person_id)
    try:
        store = Store.open(DataDir.from_env(data_dir), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with store:
        where, params = ("WHERE rule = ?", [rule]) if rule else ("", [])
        rows = store.con.execute(
            "SELECT file, line, entry, resource_type, resource_id, path, rule, message "
            f"FROM meta.quarantine {where} ORDER BY load_id, file, line LIMIT ?",
            [*params, limit],
        ).fetchall()
        total = store.con.execute(
            f"SELECT count(*) FROM meta.quarantine {where}", params
        ).fetchone()
    if output_format == "json":
        keys = ("file", "line", "entry", "resource_type", "id", "path", "rule", "message")
        records = [dict(zip(keys, r, strict=True)) for r in rows]
        for rec in records:
            known = RULES.get(str(rec["rule"]))
            rec["reason"] = known.reason if known else None
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = _findings_table(f"Quarantine ({total[0] if total else 0:,} findings)")
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


@app.command("catalogue")
def catalogue_command(
    data_dir: DataDirOption = None,
    output_format: FormatOption = "text",
    columns: Annotated[bool, typer.Option("--columns", help="Also describe every column")] = False,
) -> None:
    """Every dataset in the store: description, columns, counts, coverage, completeness, loads."""
    try:
        store = Store.open(DataDir.from_env(data_dir), read_only=True)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with store:
        catalogue = build_catalogue(store.con)
    if output_format == "json":
        sys.stdout.write(catalogue.to_json().decode() + "\n")
        return
    overview = RichTable(title="Datasets (fivesafes catalogue --columns describes each column)")
    overview.add_column("dataset", no_wrap=True)
    for name in ("rows", "patients", "from", "to"):
        overview.add_column(name, justify="right" if name in ("rows", "patients") else "left")
    for d in catalogue.datasets:
        overview.add_row(
            d.name,
            f"{d.rows:,}",
            f"{d.patients:,}" if d.patients is not None else "",
            str(d.first_date or ""),
            str(d.last_date or ""),
        )
    console.print(overview)
    for d in catalogue.datasets if columns else ():
        table = RichTable(title=f"{d.name}: {d.description} ({d.source})", title_justify="left")
        for name in ("column", "type", "complete", "description"):
            table.add_column(name, no_wrap=name != "description")
        for c in d.columns:
            complete = f"{c.completeness:.0%}" if c.completeness is not None else "-"
            system = f" ({c.code_system})" if c.code_system else ""
            table.add_row(c.name, c.type + system, complete, c.description)
        console.print(table)
    loads = RichTable(title="Load history")
    for name in ("load", "finished", "files", *OUTCOMES):
        loads.add_column(name, no_wrap=True)
    for entry in catalogue.loads:
        loads.add_row(
            entry.load_id,
            entry.finished_at.isoformat(timespec="seconds"),
            str(len(entry.files)),
            *(f"{entry.totals.get(o, 0):,}" for o in OUTCOMES),
        )
    console.print(loads)
