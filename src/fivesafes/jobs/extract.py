"""The actions that read the store, run in two steps so no user code ever runs beside data.

``fivesafes generate-dataset STUDY --output FILE`` (and ``generate-measures``) is how a study
reads the data, and its STUDY file is the analyst's own Python. So such an action is never run
as the command it says. The runner runs it in two steps instead, each in its own process (and,
inside the environment, its own sandbox):

1. **evaluate**: the definition is run, under the definition language's restrictions
   (:mod:`fivesafes.query.restricted`), in a sandbox with the project's code and *no data at
   all*; all that comes out is its query model, as JSON (:mod:`fivesafes.query.serial`), and
   any error in the definition (which, with no data to see, can say nothing about anyone);
2. **extract**: the environment's own code (``python -I``: nothing from the workspace can be
   imported) reads that JSON and runs it against the cut copy of the store made for this job
   (:mod:`.snapshot`), or makes dummy data from it, and writes the action's declared output.

The same two steps run on dummy data and against the store: a definition that tries ``import
os`` fails in the same place, with the same message, on a laptop and inside the environment.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from fivesafes.jobs.cgroups import confine
from fivesafes.jobs.process import Limits, run_limited
from fivesafes.jobs.sandbox import Mount, SandboxUnavailable, sandbox_argv, sandbox_available

if TYPE_CHECKING:
    from fivesafes.query.serial import Query

MODEL = PurePosixPath("/model")
"""Where the sandbox of either step sees the folder the query model passes through."""
STUDY = PurePosixPath("/study")
"""Where a definition evaluated outside a job sees the folder its paths are relative to."""
MODEL_FILE = "query.json"
ERROR_FILE = "error.txt"
MAX_ERROR = 16 * 1024
KINDS = {"generate-dataset": "dataset", "generate-measures": "measures"}
ENGINES = ("duckdb", "spark")
STEPS = "fivesafes.jobs.steps"
"""The module each step runs as (``python -I -m``): the environment's code, nothing else."""


@dataclass(frozen=True, slots=True)
class ExtractCommand:
    """What a ``fivesafes generate-dataset`` (or ``generate-measures``) action asks for."""

    kind: str
    study: str
    output: str
    dummy: bool = False
    dummy_patients: int | None = None
    engine: str = "duckdb"


class CommandError(ValueError):
    """An extraction action's command that cannot be run as it is written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print and exit
        raise CommandError(message)


def parse_command(argv: Sequence[str]) -> ExtractCommand:
    """The extraction an action's ``run`` asks for; ``CommandError`` saying what is wrong."""
    if len(argv) < 2 or argv[0] != "fivesafes" or argv[1] not in KINDS:
        raise CommandError("expected fivesafes generate-dataset (or generate-measures) STUDY")
    parser = _Parser(prog=f"fivesafes {argv[1]}", add_help=False)
    parser.add_argument("study")
    parser.add_argument("--output", required=True)
    parser.add_argument("--dummy", action="store_true")
    parser.add_argument("--dummy-patients", type=int)
    parser.add_argument("--engine", choices=ENGINES, default="duckdb")
    found = parser.parse_args(list(argv[2:]))
    for name in ("study", "output"):
        path = PurePosixPath(getattr(found, name))
        if path.is_absolute() or ".." in path.parts:
            raise CommandError(f"the {name} must be a path inside the project, not {path}")
    return ExtractCommand(
        KINDS[argv[1]], found.study, found.output, found.dummy, found.dummy_patients, found.engine
    )


def evaluate_argv(command: ExtractCommand, model: PurePosixPath | Path) -> list[str]:
    """Step 1: run the definition (restricted, no data) and write its query model to ``model``."""
    return [
        sys.executable,
        "-I",
        "-m",
        STEPS,
        "evaluate",
        command.kind,
        command.study,
        str(model),
    ]


def extract_argv(
    command: ExtractCommand, model: PurePosixPath | Path, store: PurePosixPath | Path | None
) -> list[str]:
    """Step 2: the environment's own code runs the query model on ``store`` (a cut copy), or on
    dummy data when there is none, writing the action's output."""
    argv = [sys.executable, "-I", "-m", STEPS, "extract", str(model), command.output]
    argv += ["--engine", command.engine]
    if command.dummy_patients is not None:
        argv += ["--dummy-patients", str(command.dummy_patients)]
    if store is not None and not command.dummy:
        argv += ["--store", str(store)]
    return argv


def read_plain(path: Path, cap: int) -> bytes | None:
    """A plain file's first ``cap`` bytes, never through a link: what a sandboxed step left in
    the model folder may be a link it made to something it could not itself read. None if
    there is no plain file there."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(cap)


def read_error(folder: Path) -> str | None:
    """What step 1 said was wrong with the definition (no data was in reach to say anything
    else), capped; None if it said nothing."""
    said = read_plain(folder / ERROR_FILE, MAX_ERROR)
    return said.decode("utf-8", "replace").strip() or None if said is not None else None


class DefinitionRefused(ValueError):
    """A definition that could not be evaluated; the message is what it got wrong."""


def evaluate_definition(root: Path, study: str, kind: str, limits: Limits) -> Query:
    """A definition's query model, evaluated as a job's first step is (restricted, sandboxed,
    no data in reach) with ``root``, the folder its paths are relative to, shown read-only: how a
    custodian's extraction outside a job evaluates one too. ``DefinitionRefused`` with what was
    wrong, or ``SandboxUnavailable`` where no sandbox can run."""
    from fivesafes.query import serial

    reason = sandbox_available()
    if reason is not None:
        raise SandboxUnavailable(f"refusing to evaluate a definition for real data: {reason}")
    try:
        inside = (root / study).resolve().relative_to(root.resolve())
    except ValueError:
        raise DefinitionRefused(
            f"{study} is not inside {root}: run from the study's folder, so the definition and "
            "the files it names are all that its sandbox is shown"
        ) from None
    command = ExtractCommand(kind, inside.as_posix(), "unused")
    with tempfile.TemporaryDirectory(prefix="fivesafes-definition-") as tmp:
        workspace, model = Path(tmp) / "workspace", Path(tmp) / "model"
        workspace.mkdir(mode=0o700)
        model.mkdir(mode=0o700)
        mounts = [Mount(root.resolve(), STUDY), Mount(model, MODEL, writable=True)]
        argv = sandbox_argv(
            evaluate_argv(command, MODEL / MODEL_FILE),
            workspace,
            mounts,
            {"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"},
            limits.tmp_bytes,
            cwd=STUDY,
        )
        log = Path(tmp) / "log"
        with confine(f"definition-{os.getpid()}", limits) as held:
            finished = run_limited(argv, workspace, {}, log, limits, held.before_exec)
        text = read_plain(model / MODEL_FILE, serial.MAX_BYTES + 1)
        if finished.exit_code != 0 or text is None:
            said = read_error(model) or log.read_text(errors="replace")[-MAX_ERROR:].strip()
            raise DefinitionRefused(said or f"exit code {finished.exit_code}")
        return serial.loads(text)
