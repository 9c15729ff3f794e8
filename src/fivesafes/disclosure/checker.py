"""One entry point for any output file: work out what kind of table it is and check it."""

from __future__ import annotations

from pathlib import Path

from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.frequency import check_frequency
from fivesafes.disclosure.history import FileReleaseHistory, ReleaseHistory
from fivesafes.disclosure.report import CheckReport
from fivesafes.disclosure.summaries import (
    check_model,
    check_statistics,
    is_model_table,
    is_statistics_table,
)
from fivesafes.disclosure.tables import frequency_table, read_arrow

HISTORY_FOLDER = Path(".fivesafes") / "disclosure-history"


def project_history(project: Path) -> FileReleaseHistory:
    """The default place a project's released tables are remembered (inside the environment)."""
    return FileReleaseHistory(project / HISTORY_FOLDER)


def check_file(
    path: Path, profile: Profile | str = "default", history: ReleaseHistory | None = None
) -> CheckReport:
    """Check a CSV or Parquet output: a model table (has residual df), summary statistics by
    group (has n and min/max/mean…), or else a frequency table of counts.

    Raises ``TableError`` with a message naming the file when it cannot be read.
    """
    rules = named_profile(profile) if isinstance(profile, str) else profile
    data = read_arrow(path)
    name = path.name
    if is_model_table(data):
        return check_model(data, rules, name)
    if is_statistics_table(data):
        return check_statistics(data, rules, name)
    report, _ = check_frequency(frequency_table(data), rules, name, history)
    return report
