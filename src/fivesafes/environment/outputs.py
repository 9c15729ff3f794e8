"""Checking an output before asking for its release: the checks, with what they must read.

Inside the environment a table is checked against everything released from its data, by every
project (the release history under the data directory, the one the release workflow checks and
records). Away from it — on an analyst's own machine — there is no history to check against,
and the report says that differencing was not checked rather than passing it on an empty
history. A table of statistics is checked with the contributions its job kept beside it
(``costs.contributions.csv``), when they are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fivesafes.disclosure import CheckReport, FileReleaseHistory, check_file
from fivesafes.disclosure.magnitude import contributions_path
from fivesafes.release.office import release_history
from fivesafes.store.config import DataDir


@dataclass(frozen=True)
class OutputCheck:
    """Where one output is checked: its file, the rules, the history (or why there is none)."""

    file: Path
    profile: str = "default"
    project_id: str | None = None
    data_dir: DataDir | None = None


def _history(check: OutputCheck) -> tuple[FileReleaseHistory | None, str | None]:
    if check.project_id is None:
        return None, (
            "differencing against earlier releases not checked: say which project with "
            "--project-id to compare this table with everything released from the data"
        )
    where = check.data_dir or DataDir.from_env()
    if not where.root.is_dir():
        return None, (
            f"differencing against earlier releases not checked: no environment data "
            f"directory here ({where.root}) to read the releases from; the checks run again "
            "inside the environment before anything is released"
        )
    return release_history(where), None


def check_output(
    check: OutputCheck,
    microdata: Path | None = None,
    value: str | None = None,
    contributor: str | None = None,
) -> CheckReport:
    """Check one output file; raises ``TableError`` naming it when it cannot be read."""
    history, unchecked = _history(check)
    kept = contributions_path(check.file)
    report = check_file(
        check.file,
        check.profile,
        history,
        microdata=microdata,
        value=value,
        contributor=contributor,
        contributions_file=kept if kept.is_file() and microdata is None else None,
    )
    if unchecked and report.records:
        report.notes.append(unchecked)
    return report
