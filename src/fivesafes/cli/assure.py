"""``fivesafes test STUDY.py``: check a study's test patients on every engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TaskID
from rich.text import Text

from fivesafes.cli.common import app, console, err, fail, progress_bar

if TYPE_CHECKING:
    from fivesafes.query.assurance import Runner

EnginesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--engine",
        help="reference, duckdb or spark (repeat for several); default: every engine available",
    ),
]


def _counted(run: Runner, progress: Progress, task: TaskID) -> Runner:
    """``run``, advancing the progress bar when it is done (Spark takes a while to start)."""

    def counted(tables: dict[str, Any], query: Any) -> Any:
        result = run(tables, query)
        progress.advance(task)
        return result

    return counted


@app.command("test")
def test_command(
    study: Annotated[
        Path, typer.Argument(help="The study file defining `dataset` and `test_patients`")
    ],
    engine: EnginesOption = None,
) -> None:
    """Run the dataset on the study's test patients (``test_patients``) with each engine, and
    say what each gives that the study does not expect."""
    from fivesafes.query.assurance import ENGINES, check, runner
    from fivesafes.query.engines import spark_unavailable
    from fivesafes.query.errors import DefinitionError
    from fivesafes.query.study import StudyError, load_test_patients

    chosen = list(dict.fromkeys(engine or ENGINES))
    unknown = [e for e in chosen if e not in ENGINES]
    if unknown:
        raise fail(f"unknown engine {unknown[0]!r}: choose {', '.join(ENGINES)}")
    if "spark" in chosen and (why := spark_unavailable()) is not None:
        if engine:  # asked for by name: an error; otherwise left out, and said so
            raise fail(f"Spark cannot run here: {why}")
        chosen.remove("spark")
        err.print(f"Spark left out: {why}")
    try:
        query, patients = load_test_patients(study)
        with progress_bar() as progress:
            task = progress.add_task("checking test patients", total=len(chosen))
            differences = check(
                query, patients, {n: _counted(runner(n), progress, task) for n in chosen}
            )
    except (StudyError, DefinitionError) as e:
        raise fail(str(e)) from None
    on = ", ".join(chosen)
    for difference in differences:
        console.print(Text.assemble(("✗ ", "bold red"), difference.describe()))
    failed = len({d.patient_id for d in differences})
    if failed:
        console.print(
            f"{failed} of {len(patients)} test patients differ from what {study} expects ({on})"
        )
        raise typer.Exit(1)
    console.print(
        Text.assemble(
            ("✓ ", "bold green"), f"all {len(patients)} test patients as expected on {on}"
        )
    )
