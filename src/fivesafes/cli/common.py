"""What every `fivesafes` command shares: the app, consoles, common options, progress, errors.

How output is written is decided here, once, so that no command can get it wrong:

- The consoles read no markup and no emoji codes: every string is printed as it is, so a path
  ``/tmp/x[red]y/nope.csv`` or a project called ``[bold]`` arrives unchanged, on a terminal or
  not. Plain strings (f-strings included) are therefore always safe to print; style is given
  with rich ``Text`` (``Text.assemble(("error:", "bold red"), " ", message)``), never by writing
  markup into a string that may hold what a user typed.
- Written to a file or a pipe, output is never wrapped or cropped, whatever ``COLUMNS`` says: a
  message stays on one line and a table takes its natural width, so scripts and logs see every
  path and name whole. On a terminal, rich fits output to the terminal's width at word
  boundaries; tables keep names (files, ids, rules) unbroken and wrap the prose beside them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from fivesafes.cli.commands import LazyGroup

app = typer.Typer(
    cls=LazyGroup,
    help="fivesafes: a secure data environment for health and social care data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _environment() -> None:
    # A callback keeps `fivesafes` a group of commands however few of their modules are loaded
    # (typer makes an app of one command that command itself). See cli/commands.py.
    pass


# Wide enough that nothing a command prints is wrapped: rich wraps text at the console's width
# and fits tables into it, but pads only what asks to fill the width (rules, code), which is
# why code goes through print_code.
UNWRAPPED_WIDTH = 1 << 16


class OutputConsole(Console):
    """A console without markup whose width is the terminal's on a terminal, and unlimited
    elsewhere. Whether output is a terminal, and how wide it is (``COLUMNS``, else the
    terminal's size), is asked at each print, not once when the module is imported: the same
    console serves the command line, a resized terminal, and test runners that swap
    ``sys.stdout``."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False)
        self._width = self._height = None  # rich fixes COLUMNS and LINES here; ask each time

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNWRAPPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = OutputConsole()
err = OutputConsole(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The environment's data directory",
        show_default="$FIVESAFES_DATA_DIR or ./fivesafes-data",
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="text or json")]


def fail(message: str) -> typer.Exit:
    """Print a message the user can act on; raise the returned Exit (code 2)."""
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    return typer.Exit(2)


def print_code(code: str, lexer: str) -> None:
    """Code to read or copy: highlighted on a terminal, as it is (not padded to the console's
    width, not wrapped) anywhere else."""
    if not console.is_terminal:
        console.print(Text(code))
        return
    from rich.syntax import Syntax

    console.print(Syntax(code, lexer, word_wrap=True))


def progress_bar() -> Progress:
    """A rich progress bar on stderr; shown on a terminal, or when FIVESAFES_PROGRESS=1."""
    return Progress(
        TextColumn("{task.description}", style="progress.description", markup=False),
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
