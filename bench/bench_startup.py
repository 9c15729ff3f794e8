"""Benchmark how long `fivesafes` takes to start: before and after lazy commands, and per command.

A person (or a demo, or a script) starts ``fivesafes`` dozens of times in an hour; each start
used to import every stage of the environment before doing anything. Here each start is a new
interpreter running ``fivesafes ARGS`` as the executable does, and every figure is the best of
``--rounds`` runs, timed alternately in the same run:

* ``fivesafes --help`` and a study with a mistake in it (``generate-dataset bad.py --dummy``),
  on the code as it was before commands were registered lazily (``--before``, by default the
  parent of the commit that added ``cli/commands.py``, extracted with ``git archive`` into a
  temporary folder and put first on ``PYTHONPATH``) and on this checkout, beside two floors:
  the interpreter alone, and typer with its rich help and nothing of ours (``--help`` cannot
  cost less than the library that prints it);
* ``fivesafes X --help`` for every command X: what starting that command costs now, its module
  and what the module imports included.

The machine is shared, so besides wall time each run's CPU time (user + system, from the
child's own resource usage) is printed, the time an unshared core would take; and its peak
resident memory.

    .venv/bin/python bench/bench_startup.py              # 5 rounds
    .venv/bin/python bench/bench_startup.py --rounds 2   # a quick run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fivesafes.cli.commands import COMMANDS

REPO = Path(__file__).resolve().parent.parent
RUN_CLI = "from fivesafes.cli import app; app(prog_name='fivesafes')"
TYPER_FLOOR = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def one() -> None: "One command."
@app.command()
def two() -> None: "Another."
app()
"""
BAD_STUDY = """\
from fivesafes import Dataset
from fivesafes.tables import patients

dataset = Dataset()
dataset.define_population(patients.exists_for_patient())
dataset.age = patients.age_on("2024-01-01") + "x"
"""


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_mib: float
    code: int
    output: str


def start(code: str, args: Sequence[str], pythonpath: Path | None, cwd: Path) -> Run:
    """Run ``python -c CODE ARGS`` in a fresh interpreter; its times and peak memory."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [sys.executable, "-c", code, *args]
    began = time.perf_counter()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as child:
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, child.returncode, output.decode())


def before_tree(revision: str, into: Path) -> Path:
    """The package's source at ``revision``, extracted (not checked out: the repository and its
    worktrees are left alone); the folder to put on ``PYTHONPATH``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True, check=True
    )
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def default_before() -> str:
    """The commit before the one that made commands lazy (found by the file it added)."""
    log = ["git", "-C", str(REPO), "log", "--reverse", "--diff-filter=A", "--format=%H"]
    found = subprocess.run(
        [*log, "--", "src/fivesafes/cli/commands.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not found:
        raise SystemExit("no commit adds src/fivesafes/cli/commands.py here: pass --before REV")
    return f"{found[0]}^"


def best(runs: list[Run]) -> Run:
    return Run(
        min(r.wall for r in runs),
        min(r.cpu for r in runs),
        min(r.peak_mib for r in runs),
        runs[0].code,
        runs[0].output,
    )


def show(label: str, run: Run, versus: Run | None = None) -> None:
    ratio = f"  {versus.cpu / run.cpu:5.1f}x less CPU" if versus else ""
    print(
        f"  {label:<34}{run.wall:7.2f} s wall {run.cpu:6.2f} s CPU {run.peak_mib:7.1f} MiB{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="the revision to compare with (default: see above)")
    args = parser.parse_args()
    revision = args.before or default_before()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old_src = before_tree(revision, work / "before")
        new_src = REPO / "src"
        (work / "bad.py").write_text(BAD_STUDY)
        bad = ["generate-dataset", "bad.py", "--output", "out.csv", "--dummy"]
        cases = {"fivesafes --help": ["--help"], "definition error": bad}
        sides = {"before": old_src, "after": new_src}
        where = "import fivesafes, sys; print(fivesafes.__file__)"
        for side, src in sides.items():  # each side runs the code it is meant to
            located = start(where, [], src, work).output.strip()
            assert located.startswith(str(src)), (side, located)

        timed: dict[tuple[str, str], list[Run]] = {}
        floors: dict[str, list[Run]] = {"python -c pass": [], "typer alone, --help": []}
        for round_ in range(args.rounds):
            order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
            for case, case_args in cases.items():
                for side, src in order:
                    timed.setdefault((case, side), []).append(start(RUN_CLI, case_args, src, work))
            floors["python -c pass"].append(start("pass", [], None, work))
            floors["typer alone, --help"].append(start(TYPER_FLOOR, ["--help"], None, work))

        print(f"fivesafes start-up, best of {args.rounds} (before = {revision})")
        for case in cases:
            old, new = best(timed[case, "before"]), best(timed[case, "after"])
            assert old.code == new.code, (case, old.output, new.output)
            print(f"{case} (exit {new.code})")
            show("before", old)
            show("after", new, versus=old)
        print("floors")
        for label, runs in floors.items():
            show(label, best(runs))

        rounds = max(1, min(args.rounds, 3))
        print(f"\nfivesafes X --help for every command, now, best of {rounds}")
        each: dict[str, list[Run]] = {name: [] for name in COMMANDS}
        for _ in range(rounds):
            for name in COMMANDS:
                each[name].append(start(RUN_CLI, [name, "--help"], new_src, work))
        for name, runs in sorted(each.items(), key=lambda item: best(item[1]).cpu):
            run = best(runs)
            assert run.code == 0, (name, run.output)
            show(f"{name} ({COMMANDS[name].module})", run)


if __name__ == "__main__":
    main()
