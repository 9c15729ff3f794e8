"""Helpers for the jobs tests: write a study to disk, run it, read what an action reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fivesafes.jobs import (
    JobResult,
    Project,
    RunOptions,
    load_project,
    run_project,
    sandbox_available,
)
from fivesafes.jobs.snapshot import DataCut
from fivesafes.model import TABLES

SANDBOX_PROBLEM = sandbox_available()
needs_sandbox = pytest.mark.skipif(
    SANDBOX_PROBLEM is not None, reason=f"bubblewrap cannot run here: {SANDBOX_PROBLEM}"
)


OPEN_CUT = DataCut(
    {t.name: tuple(c.name for c in t.columns) for t in TABLES.values()}, frozenset(), frozenset()
)
"""A cut that lets every table and column through, excludes nobody and keeps no shared data:
for tests of the runner and sandbox, where what is cut is not the point."""


def write_project(root: Path, project_yaml: str, files: dict[str, str] | None = None) -> Path:
    """A study folder with this ``project.yaml`` and these files (path → text)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "project.yaml").write_text(textwrap.dedent(project_yaml))
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def run(root: Path, target: str | None = None, **options: object) -> dict[str, JobResult]:
    """Load and run the study at ``root``; results by action name."""
    project: Project = load_project(root)
    results = run_project(project, target, RunOptions(**options))  # type: ignore[arg-type]
    return {r.action: r for r in results}


ONE_ACTION = """
version: 1
actions:
  probe:
    run: python probe.py
    outputs:
      moderately_sensitive: {result: output/result.txt}
"""


def probe(root: Path, script: str, **options: object) -> JobResult:
    """Run ``script`` as the one action of a fresh study; it reports to output/result.txt."""
    write_project(root, ONE_ACTION, {"probe.py": script})
    return run(root, force=True, **options)["probe"]


def reported(root: Path) -> str:
    return (root / "output" / "result.txt").read_text()
