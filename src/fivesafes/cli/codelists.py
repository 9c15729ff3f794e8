"""Commands for code lists: search the codes in the data, build a list, publish it, export it.

Each parses, opens the environment, calls one use case of :mod:`fivesafes.environment.codelists`
and renders what it returns; who may do what, and which counts may be shown, is decided there.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    fail,
    need_token,
)
from fivesafes.cli.environment import opened

codelist_app = typer.Typer(
    help="Code lists built from the codes in the data: search, build, publish, export as CSV."
)
app.add_typer(codelist_app, name="codelist")

SystemOption = Annotated[
    str | None,
    typer.Option("--system", help="A code system: snomedct, icd10, dmd, opcs4, loinc, ethnicity"),
]


def _codes(given: list[str]) -> dict[str, str | None]:
    """``CODE`` or ``CODE=TERM`` words as codes with their terms (None: the known term)."""
    found: dict[str, str | None] = {}
    for word in given:
        code, sep, term = word.partition("=")
        found[code] = term if sep else None
    return found


@codelist_app.command("search")
def search_command(
    term: str,
    system: SystemOption = None,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Codes in the data whose code or term holds TERM, with how many people and records have
    each (rounded; codes held by too few people are not listed, only counted)."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        found = codelists.search(env, need_token(token), term, system)
    if output_format == "json":
        sys.stdout.write(json.dumps(asdict(found), indent=2) + "\n")
        return
    table = RichTable("code", "term", "system", "in", "people", "records")
    for hit in found.hits:
        where = f"{hit.table}.{hit.column}"
        table.add_row(
            hit.code, hit.term or "", hit.system, where, f"{hit.patients:,}", f"{hit.records:,}"
        )
    if found.hits:
        console.print(table)
    else:
        console.print(f"no code held by at least {found.threshold} people matches {term!r}")
    for where, n in sorted(found.left_out.items()):
        console.print(
            f"{where}: {n} code(s) held by fewer than {found.threshold} people are not shown "
            f"(disclosure profile {found.profile}; counts rounded)"
        )


@codelist_app.command("new")
def new_command(
    name: str,
    system: Annotated[str, typer.Option("--system", help="snomedct, icd10, dmd, opcs4...")],
    slug: Annotated[str | None, typer.Option("--slug", help="Default: from the name")] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start a new, empty code list of one code system, owned by you."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        made = codelists.new(env, need_token(token), name, system, slug)
    console.print(f"{made.slug}: new {made.system} code list {made.name!r}, no codes yet")


@codelist_app.command("add")
def add_command(
    slug: str,
    codes: Annotated[list[str], typer.Argument(help="CODE, or CODE=TERM to give its term")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add codes to your list: a new version."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        made = codelists.add(env, need_token(token), slug, _codes(codes))
    console.print(f"{made.reference}: {made.change} ({len(made.codes)} codes)")


@codelist_app.command("remove")
def remove_command(
    slug: str,
    codes: list[str],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Remove codes from your list: a new version."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        made = codelists.remove(env, need_token(token), slug, codes)
    console.print(f"{made.reference}: {made.change} ({len(made.codes)} codes)")


@codelist_app.command("publish")
def publish_command(
    reference: Annotated[str, typer.Argument(help="SLUG/VERSION, or SLUG for its latest")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Publish a version of your list, for studies to use (a ledger entry)."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        done = codelists.publish(env, need_token(token), reference)
    assert done.published_at is not None  # publish returns the version as published
    console.print(
        f"{done.reference} published by {done.published_by} on {done.published_at:%Y-%m-%d} "
        f"(ledger entry {done.ledger_index}): {len(done.codes)} codes"
    )


@codelist_app.command("show")
def show_command(
    slug: str,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A list, every version of it, and the codes of its latest."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        shown = codelists.show(env, need_token(token), slug)
    if output_format == "json":
        sys.stdout.write(json.dumps(asdict(shown), indent=2, default=str) + "\n")
        return
    console.print(f"{shown.slug}: {shown.name} ({shown.system}), owned by {shown.owner}")
    for v in shown.versions:
        made = f"{v.created_by} on {v.created_at:%Y-%m-%d}"
        published = (
            f"; published by {v.published_by} on {v.published_at:%Y-%m-%d}"
            if v.published_at
            else ""
        )
        console.print(f"  version {v.version}: {v.change} ({made}){published}")
    latest = shown.latest
    if latest is None:
        console.print("  no codes yet")
        return
    for code in latest.codes:
        console.print(f"  {code.code}  {code.term}")


@codelist_app.command("list")
def list_command(
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every code list, with its latest version and its latest published one."""
    from fivesafes.environment import codelists

    with opened(data_dir) as env:
        found = codelists.listing(env, need_token(token))
    for view in found:
        published = [v.version for v in view.versions if v.published]
        latest = view.latest.version if view.latest else "none"
        console.print(
            f"{view.slug}: {view.name} ({view.system}), owner {view.owner}, latest version "
            f"{latest}, published {', '.join(map(str, published)) or 'none'}"
        )


@codelist_app.command("export")
def export_command(
    reference: Annotated[
        str, typer.Argument(help="SLUG/VERSION, or SLUG for its latest published")
    ],
    output_format: Annotated[str, typer.Option("--format", help="csv (OpenCodelists')")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file (default: print it)")
    ] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A published version as OpenCodelists' CSV (code,term), for a study's folder."""
    from fivesafes.environment import codelists

    if output_format != "csv":
        raise fail(f"cannot export as {output_format!r}: the format is csv")
    with opened(data_dir) as env:
        text = codelists.export_csv(env, need_token(token), reference)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    console.print(f"wrote {reference} to {output}")
