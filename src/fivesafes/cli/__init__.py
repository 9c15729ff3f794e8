"""The `fivesafes` command: the face of the environment for operators and analysts.

Each module here adds the commands of one area to the one ``app``; each command
is a thin layer over a stage's Python API: it parses arguments, shows progress
and prints results with rich. Errors a user can fix are printed as one clear
message and a non-zero exit, never a traceback.
"""

# Each module registers its commands on the one app.
from fivesafes.cli import (  # noqa: F401
    assure,
    dashboard,
    data,
    disclosure,
    jobs,
    query,
    release,
    serve,
    trust,
)
from fivesafes.cli.common import app

__all__ = ["app"]
