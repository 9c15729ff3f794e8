"""The `fivesafes` command: the face of the environment for operators and analysts.

Each module here adds the commands of one area to the one ``app``; each command
is a thin layer over a stage's Python API: it parses arguments, shows progress
and prints results with rich. Errors a user can fix are printed as one clear
message and a non-zero exit, never a traceback.

A module is imported when one of its commands runs, not when the command starts
(``fivesafes.cli.commands`` says which module defines which command), so that
``fivesafes --help`` and a mistake in a study are answered at once.
"""

from fivesafes.cli.commands import load_every_command
from fivesafes.cli.common import app

__all__ = ["app", "load_every_command"]
