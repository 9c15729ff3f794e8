"""The release history through the release workflow: what one project publishes, every later
request of any project is checked against, hidden cells and all (holes 3 and 17a)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pyarrow as pa
import pytest
from governance_support import application
from release_support import PROJECT, People, Study, counts_csv, held_job, people_table

from fivesafes.disclosure import safe
from fivesafes.governance import Verdict, decide, submit_project
from fivesafes.release import (
    ReleaseError,
    ReleaseOffice,
    publish_release,
    request_release,
    review_release,
)

OTHER = "second-project"
WHY = "For the annual report."
EXCEPTION = "Publish the checker's safe version."


def _publish(office: ReleaseOffice, people: People, who: str, project: str, study: Study) -> str:
    files = ["output/table.csv"]
    study.record_job("summarise", files)
    release_id, _ = request_release(
        office, people.token(who), project, study.root, files, WHY, {files[0]: EXCEPTION}
    )
    for checker in ("chk1", "chk2"):
        token, key = people.token(checker), people.key(checker)
        review_release(office, token, release_id, Verdict.APPROVE, "ok", key)
    publish_release(office, people.token(who), release_id)
    return release_id


def _second_project(office: ReleaseOffice, people: People) -> None:
    cp = office.cp
    submit_project(cp, people.token("bob"), OTHER, application("bob", title="Another study"))
    until = cp.today() + timedelta(days=365)
    decide(cp, people.token("apo"), OTHER, Verdict.APPROVE, "sound", people.key("apo"), until=until)


def test_another_projects_release_is_in_the_history(office, people: People) -> None:
    """17(a): a 0-49 table published by one project and a 0-50 table asked for by another."""
    first = held_job(office.data_dir, "job-first", cp=office.cp)
    first.write("output/table.csv", counts_csv({("0-49", "F"): 300, ("0-49", "M"): 280}))
    release_id = _publish(office, people, "ana", PROJECT, first)
    (kept,) = office.history().released()
    assert (kept.release, kept.project) == (release_id, PROJECT)
    _second_project(office, people)
    second = held_job(office.data_dir, "job-second", OTHER, office.cp)
    second.write("output/table.csv", counts_csv({("0-50", "F"): 302, ("0-50", "M"): 281}))
    second.record_job("summarise", ["output/table.csv"])
    with pytest.raises(ReleaseError, match=r"(?s)differencing.*age_band 50.*release rel-"):
        request_release(office, people.token("bob"), OTHER, second.root, ["output/table.csv"], WHY)


def test_a_cell_the_safe_api_hid_stays_hidden_after_release(office, people) -> None:
    """Hole 3 through the workflow: the safe API's table goes out with a cell hidden; a later
    table of the categories around it, which alone passes, may not take it back."""
    rows = {("0-17", "F"): 40, ("0-17", "M"): 4, ("18-64", "F"): 120, ("18-64", "M"): 110}
    study = held_job(office.data_dir, "job-study", cp=office.cp)
    made = safe.crosstab(people_table(rows), "age_band", "sex")
    with contextlib.chdir(study.root):
        made.write_csv("output/table.csv")
    assert "[REDACTED]" in (study.root / "output/table.csv").read_text()
    _publish(office, people, "ana", PROJECT, study)
    assert office.history().released()[0].table.withheld is not None  # kept, unknown
    later = held_job(office.data_dir, "job-later", cp=office.cp)
    boys = pa.table({"age_band": ["0-17"] * 44, "sex": ["F"] * 40 + ["M"] * 4})
    girls_only = safe.crosstab(boys.filter(pa.compute.equal(boys["sex"], "F")), "age_band", "sex")
    assert girls_only.report.passed  # 40 girls: safe alone
    with contextlib.chdir(later.root):
        girls_only.write_csv("output/table.csv")
    later.record_job("summarise", ["output/table.csv"])
    with pytest.raises(
        ReleaseError, match=r"(?s)differencing.*suppressed cell table.csv \(release rel-"
    ):
        request_release(office, people.token("ana"), PROJECT, later.root, ["output/table.csv"], WHY)
