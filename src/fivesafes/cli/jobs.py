"""Commands for running a study: ``run`` on dummy data, ``submit`` to queue it inside the
environment, ``worker`` to run what is queued, and ``job`` to follow or cancel a submitted job
(its state, log and outputs: the outputs themselves stay in the environment, and leave only
through ``fivesafes release``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
)
from fivesafes.cli.environment import opened
from fivesafes.environment.leases import LEASE_SECONDS
from fivesafes.jobs.process import Limits

if TYPE_CHECKING:  # the use cases are imported by the commands that run them, not by --help
    from fivesafes.environment.jobs import JobView
    from fivesafes.jobs.runner import JobResult

job_app = typer.Typer(
    help="Jobs run inside the environment: their state, log and outputs; cancel one."
)
app.add_typer(job_app, name="job", no_args_is_help=True)

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


def _show(output_format: str) -> Callable[[str, str], None]:
    """What to do with each progress event: print it, unless the output is JSON."""

    def show(name: str, message: str) -> None:
        if output_format == "text":
            err.print(Text.assemble((name, "bold"), f": {message}"))

    return show


def _run(
    project_dir: Path, action: str | None, sandbox: bool, limits: Limits, force: bool, fmt: str
) -> list[JobResult]:
    from fivesafes.environment.local import run_on_dummy_data
    from fivesafes.jobs.project import ProjectError
    from fivesafes.jobs.runner import RunInProgress
    from fivesafes.jobs.sandbox import SandboxUnavailable

    try:
        results = run_on_dummy_data(project_dir, action, sandbox, limits, force, _show(fmt))
    except ProjectError as exc:
        raise fail(f"{len(exc.problems)} problem(s) in project.yaml:\n{exc}") from None
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    except (SandboxUnavailable, RunInProgress, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    if fmt == "json":
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
    limits = _limits(memory_mb, cpu_seconds, timeout, processes, cpu_cores)
    results = _run(project, action, sandbox, limits, force, output_format)
    if any(r.status in ("failed", "skipped") for r in results):
        raise typer.Exit(1)


@app.command("submit")
def submit_command(
    action: ActionArgument = None,
    project: ProjectOption = Path("."),
    data_dir: DataDirOption = None,
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
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Stay until the job has ended: run it here if no worker has taken it yet",
        ),
    ] = False,
) -> None:
    """Queue a study to run on real data, inside the environment, every action sandboxed.

    Only a member of the approved, unexpired project may, and the actions see only the data
    the project was approved for, without anyone whose opt-out applies to its purpose. A worker
    (`fivesafes worker`, or the one `fivesafes serve` starts) runs it; with `--wait` this command
    stays until it has ended. The job's outputs stay in the environment: follow it with
    `fivesafes job`, and ask for the files with `fivesafes release request --job`.
    """
    from fivesafes.environment import jobs

    limits = _limits(memory_mb, cpu_seconds, timeout, processes, cpu_cores)
    credential = need_token(token)
    with opened(data_dir) as env:
        view = jobs.submit(env, credential, project_id, project, action, limits)
        if wait:
            view = jobs.wait(env, credential, view.job_id, _show(output_format))
    _render_job(view, output_format)
    if view.state not in ("succeeded", "queued"):
        raise typer.Exit(1)


@app.command("worker")
def worker_command(
    data_dir: DataDirOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run one queued job, then stop")] = False,
    until_empty: Annotated[
        bool, typer.Option("--until-empty", help="Stop once no job is waiting")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between looks at an empty queue")
    ] = 2.0,
    lease: Annotated[
        float,
        typer.Option(
            "--lease",
            min=1.0,
            help="Seconds a job stays this worker's unrenewed (renewed every third of it)",
        ),
    ] = LEASE_SECONDS,
    output_format: FormatOption = "text",
) -> None:
    """Run queued jobs, oldest first, one at a time, until stopped.

    `--until-empty` stops once no job is waiting, `--once` after one job (for scripts).

    Several workers may run at once, here or on other hosts sharing the environment: each job
    is taken by one. A job whose worker is killed ends failed, saying so, when the next worker
    or command starts; a job cancelled while it runs is stopped at the next heartbeat."""
    import signal

    from fivesafes.environment import jobs

    def stopped(signum: int, _frame: object) -> None:  # SIGTERM: end the running job as
        raise SystemExit(128 + signum)  # interrupted, leaving nothing running, then exit

    before = signal.signal(signal.SIGTERM, stopped)
    show = _show(output_format)
    try:
        with opened(data_dir) as env:
            ran = jobs.work(env, once=once, until_empty=until_empty, poll=poll, lease=lease,
                            on_event=show)  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, before)
    if output_format == "json":
        sys.stdout.write(orjson.dumps([_job_dict(v) for v in ran]).decode() + "\n")
    else:
        for view in ran:
            _render_job(view, output_format)


def _job_dict(view: JobView) -> dict[str, object]:
    r = view.record
    return {
        "job_id": r.job_id,
        "project_id": r.project_id,
        "person_id": r.person_id,
        "state": r.state,
        "error": r.error,
        "worker": r.worker,
        "cancel_requested_by": r.cancel_requested_by,
        "created_at": r.created_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "actions": [run.__dict__ for run in view.runs],
        "outputs": [o.__dict__ for o in r.outputs],
    }


def _render_job(view: JobView, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(orjson.dumps(_job_dict(view)).decode() + "\n")
        return
    r = view.record
    colour = {"succeeded": "green", "failed": "red", "interrupted": "red", "cancelled": "red"}
    colour_of_state = colour.get(r.state, "yellow")
    console.print(
        Text.assemble(
            "job ", (r.job_id, "bold"), f" of {r.project_id}: ", (r.state, colour_of_state)
        )
    )
    if r.error:
        console.print(Text(f"why: {r.error}"))
    if r.cancel_requested_by and r.state in ("queued", "running"):
        console.print(Text(f"cancel asked by {r.cancel_requested_by}: its worker stops it"))
    table = RichTable(title="Outputs (they stay in the environment)")
    for name in ("file", "privacy", "action", "sha256"):
        table.add_column(name, no_wrap=name != "privacy")
    for o in r.outputs:
        table.add_row(o.path, o.privacy, o.action, o.sha256[:16])
    if r.outputs:
        console.print(table)
    console.print(
        f"log: fivesafes job log {r.job_id}; release: fivesafes release check --job {r.job_id} FILE"
    )


JobArgument = Annotated[str, typer.Argument(help="The job's id (job-...)")]


@job_app.command("status")
def job_status(
    job_id: JobArgument,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A job's state, what each action did, and its outputs by name, privacy and hash."""
    from fivesafes.environment import jobs

    credential = need_token(token)
    with opened(data_dir) as env:
        view = jobs.status(env, credential, job_id)
    _render_job(view, output_format)


@job_app.command("log")
def job_log(job_id: JobArgument, token: TokenOption = None, data_dir: DataDirOption = None) -> None:
    """What the environment did for a job, step by step (the actions' own output stays inside:
    it can quote the data they read)."""
    from fivesafes.environment import jobs

    credential = need_token(token)
    with opened(data_dir) as env:
        text = jobs.log(env, credential, job_id)
    sys.stdout.write(text)


@job_app.command("list")
def job_list(
    project_id: Annotated[str, typer.Option("--project-id", help="The project")],
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A project's jobs, oldest first (its members and the custodian)."""
    from fivesafes.environment import jobs

    credential = need_token(token)
    with opened(data_dir) as env:
        found = jobs.listing(env, credential, project_id)
    if output_format == "json":
        rows = [{"job_id": j.job_id, "state": j.state, "person_id": j.person_id} for j in found]
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = RichTable(title=f"Jobs of {project_id}")
    for name in ("job", "submitted by", "state", "created", "outputs"):
        table.add_column(name, no_wrap=True)
    for j in found:
        table.add_row(
            j.job_id, j.person_id, j.state, f"{j.created_at:%Y-%m-%d %H:%M}", str(len(j.outputs))
        )
    console.print(table)


@job_app.command("cancel")
def job_cancel(
    job_id: JobArgument,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Stop a job: a queued one at once, a running one at its worker's next heartbeat."""
    from fivesafes.environment import jobs

    credential = need_token(token)
    with opened(data_dir) as env:
        view = jobs.cancel(env, credential, job_id)
    _render_job(view, output_format)
