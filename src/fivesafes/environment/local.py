"""A study on dummy data, on an analyst's own machine: the one use case with no environment.

``fivesafes run`` runs a study's actions where it is, on data made up from its definitions, so
a study can be written and tested before it is submitted. There is no store, no key and no
ledger to reach, and nothing to authorise; but its extractions take the same two steps as inside
the environment (the definition evaluated alone, restricted, then dummy data made from its query
model), so a definition that would be refused inside is refused here, in the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fivesafes.jobs import Backend, JobResult, Limits, RunOptions, load_project, run_project


def run_on_dummy_data(
    study: Path,
    action: str | None,
    sandbox: bool,
    limits: Limits,
    force: bool = False,
    on_event: Callable[[str, str], None] | None = None,
) -> list[JobResult]:
    """Run ``action`` (every action when None) of the study at ``study`` on dummy data."""
    project = load_project(study)
    project.plan(action)
    options = RunOptions(Backend.DUMMY, sandbox, limits, force=force)
    return run_project(project, action, options, on_event=on_event)
