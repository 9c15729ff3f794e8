"""What every `fivesafes` command shares: the app, consoles, common options, progress, errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fivesafes.governance import AccessDenied, ControlPlane
from fivesafes.ledger import LedgerError
from fivesafes.store.config import DataDir

app = typer.Typer(
    help="fivesafes: a secure data environment for health and social care data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The environment's data directory [default: $FIVESAFES_DATA_DIR or ./fivesafes-data]",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="text or json")]


def fail(message: str) -> typer.Exit:
    """Print a message the user can act on; raise the returned Exit (code 2)."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def progress_bar() -> Progress:
    """A rich progress bar on stderr; shown on a terminal, or when FIVESAFES_PROGRESS=1."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and os.environ.get("FIVESAFES_PROGRESS") != "1",
    )


TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="FIVESAFES_TOKEN", help="Your personal token"),
]


def need_token(token: str | None) -> str:
    """The caller's token, or a clear error saying how to give one."""
    if not token:
        raise fail("say who you are: pass --token or set FIVESAFES_TOKEN")
    return token


@contextmanager
def control_plane(data_dir: Path | None) -> Iterator[ControlPlane]:
    """Open the control plane; print who acted; turn refusals and bad input into clear errors."""
    try:
        with ControlPlane.open(DataDir.from_env(data_dir)) as cp:
            try:
                yield cp
            finally:
                if cp.acting is not None:
                    roles = ", ".join(sorted(cp.acting.roles))
                    err.print(f"acting as [bold]{cp.acting.person_id}[/] ({roles})")
    except AccessDenied as refused:
        raise fail(f"refused: {refused}") from None
    except (ValueError, FileNotFoundError, FileExistsError, LedgerError) as exc:
        raise fail(str(exc)) from None
