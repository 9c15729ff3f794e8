"""Commands for running a study: ``run`` on dummy data, ``submit`` against the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
    control_plane,
    err,
    fail,
    need_token,
)
from fivesafes.governance import (
    ConsentScope,
    authorise_job,
    excluded_patient_ids,
    record_opt_outs_applied,
    wearable_consented_ids,
)
from fivesafes.governance.project_records import bounded
from fivesafes.jobs import (
    Backend,
    JobResult,
    Limits,
    ProjectError,
    RunInProgress,
    RunOptions,
    SandboxUnavailable,
    load_project,
    run_project,
)
from fivesafes.jobs.records import JobRecord
from fivesafes.ledger import ENTRY_KINDS
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

ActionArgument = Annotated[
    str | None,
    typer.Argument(help="The action to run, after what it needs", show_default="all actions"),
]
ProjectOption = Annotated[
    Path, typer.Option("--project", help="The study folder, holding project.yaml")
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Run even actions whose outputs could be reused")
]
MemoryOption = Annotated[int, typer.Option("--memory-mb", help="Memory per action, MiB")]
CpuOption = Annotated[int, typer.Option("--cpu-seconds", help="CPU time per action, seconds")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Wall-clock time per action, s")]
ProcessesOption = Annotated[
    int, typer.Option("--processes", help="Processes and threads per sandboxed action")
]
CoresOption = Annotated[
    float, typer.Option("--cpu-cores", help="Cores' worth of CPU per sandboxed action")
]

DEFAULTS = Limits()
MIB = 1024**2


def _limits(
    memory_mb: int, cpu_seconds: int, timeout: float, processes: int, cpu_cores: float
) -> Limits:
    if processes < 1 or cpu_cores <= 0:
        raise fail("--processes must be at least 1 and --cpu-cores more than 0")
    return Limits(
        memory_bytes=memory_mb * MIB,
        cpu_seconds=cpu_seconds,
        wall_seconds=timeout,
        processes=processes,
        cpu_cores=cpu_cores,
    )


def _asked(limits: Limits) -> dict[str, float]:
    """The limits the analyst set on the command line (those that differ from the defaults),
    named as a project's resource ceiling names them."""
    given = {
        "cpu_cores": (limits.cpu_cores, DEFAULTS.cpu_cores),
        "memory_bytes": (limits.memory_bytes, DEFAULTS.memory_bytes),
        "wall_seconds": (limits.wall_seconds, DEFAULTS.wall_seconds),
    }
    return {name: value for name, (value, default) in given.items() if value != default}


def _run(
    project_dir: Path, action: str | None, options: RunOptions, output_format: str
) -> list[JobResult]:
    try:
        project = load_project(project_dir)
        project.plan(action)
    except ProjectError as exc:
        raise fail(f"{len(exc.problems)} problem(s) in project.yaml:\n{exc}") from None
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None

    def show(name: str, message: str) -> None:
        if output_format == "text":
            err.print(Text.assemble((name, "bold"), f": {message}"))

    try:
        results = run_project(project, action, options, on_event=show)
    except (SandboxUnavailable, RunInProgress, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    if output_format == "json":
        sys.stdout.write(orjson.dumps([_as_dict(r) for r in results]).decode() + "\n")
    else:
        console.print(_results_table(results, project_dir))
    return results


def _as_dict(result: JobResult) -> dict[str, object]:
    record = result.record
    return {
        "action": result.action,
        "status": result.status,
        "reason": result.reason,
        "job_id": record.job_id if record else None,
        "outputs": [o.path for o in record.outputs] if record else [],
    }


def _results_table(results: list[JobResult], project_dir: Path) -> RichTable:
    table = RichTable(title=f"Study {project_dir.resolve().name}")
    for name in ("action", "status", "job", "seconds"):
        table.add_column(name, no_wrap=True)
    table.add_column("outputs, or why not")
    colours = {"ran": "green", "reused": "cyan", "failed": "red", "skipped": "yellow"}
    for r in results:
        record = r.record
        detail = r.reason if r.status in ("failed", "skipped") else None
        if detail is None and record:
            detail = "\n".join(o.path for o in record.outputs)
        table.add_row(
            r.action,
            Text(r.status, style=colours[r.status]),
            record.job_id if record else "",
            f"{record.duration_s:.2f}" if record and record.duration_s is not None else "",
            detail or "",
        )
    return table


@app.command("run")
def run_command(
    action: ActionArgument = None,
    project: ProjectOption = Path("."),
    force: ForceOption = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Run each action in the sandbox, as submit does")
    ] = False,
    memory_mb: MemoryOption = DEFAULTS.memory_bytes // MIB,
    cpu_seconds: CpuOption = DEFAULTS.cpu_seconds,
    timeout: TimeoutOption = DEFAULTS.wall_seconds,
    processes: ProcessesOption = DEFAULTS.processes,
    cpu_cores: CoresOption = DEFAULTS.cpu_cores,
    output_format: FormatOption = "text",
) -> None:
    """Run a study's actions on dummy data, on your own machine, in dependency order."""
    if not sandbox:
        err.print(
            Text.assemble(
                ("warning:", "yellow"),
                " running without a sandbox: actions can read and write whatever you can. "
                "Fine for dummy data; `--sandbox` runs them as `submit` will.",
            )
        )
    options = RunOptions(
        Backend.DUMMY,
        sandbox,
        _limits(memory_mb, cpu_seconds, timeout, processes, cpu_cores),
        force=force,
    )
    results = _run(project, action, options, output_format)
    if any(r.status in ("failed", "skipped") for r in results):
        raise typer.Exit(1)


@app.command("submit")
def submit_command(
    action: ActionArgument = None,
    project: ProjectOption = Path("."),
    data_dir: DataDirOption = None,
    force: ForceOption = False,
    memory_mb: MemoryOption = DEFAULTS.memory_bytes // MIB,
    cpu_seconds: CpuOption = DEFAULTS.cpu_seconds,
    timeout: TimeoutOption = DEFAULTS.wall_seconds,
    processes: ProcessesOption = DEFAULTS.processes,
    cpu_cores: CoresOption = DEFAULTS.cpu_cores,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    project_id: Annotated[
        str, typer.Option("--project-id", help="The approved project this study runs under")
    ] = "",
) -> None:
    """Run a study against the store, inside the environment, every action sandboxed.

    Only a member of the approved, unexpired project may, and the actions see only the data
    the project was approved for, without anyone whose opt-out applies to its purpose.
    """
    limits = _limits(memory_mb, cpu_seconds, timeout, processes, cpu_cores)
    where = DataDir.from_env(data_dir)
    with control_plane(data_dir) as cp:
        allowed = authorise_job(cp, need_token(token), project_id, None, _asked(limits))
        limits = bounded(limits, allowed.ceiling)
        if not where.database.exists():
            raise fail(f"no store at {where.database}: load data first with `fivesafes load`")
        with Store.open(where, read_only=True) as store:
            excluded = frozenset(excluded_patient_ids(store, allowed.purpose, control=cp))
            shared = frozenset(wearable_consented_ids(store, ConsentScope.RESEARCH, cp))
        record_opt_outs_applied(cp, allowed.purpose, len(excluded), project_id)
        options = RunOptions(
            Backend.STORE,
            True,
            limits,
            where,
            force,
            grant=allowed.datasets,
            excluded=excluded,
            shared_with=shared,
        )
        results = _run(project, action, options, output_format)
        for result in results:
            if result.status == "ran" and result.record is not None:
                cp.log("job", _job_entry(project_id, result.record), allowed.person_id)
    if any(r.status in ("failed", "skipped") for r in results):
        raise typer.Exit(1)


def _job_entry(project_id: str, record: JobRecord) -> dict[str, object]:
    """What the public ledger keeps of a job: what ran and the hashes of what it made, in the
    fields the ledger's schema declares for a job (so the public view shows every one)."""
    return ENTRY_KINDS["job"].subject(
        project_id=project_id,
        job_id=record.job_id,
        action=record.action,
        command=record.command,
        commit=record.git_commit,
        status=record.status,
        outputs={o.path: o.sha256 for o in record.outputs},
    )
