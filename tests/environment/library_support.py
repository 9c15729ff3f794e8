"""A world for the open library: an approved project whose application names a real git
repository on this machine, and a job run in the sandbox at one of its commits, fetched by
commit as the portal and the API fetch a study. The repository's history is hostile in the
ways a real one can be: an earlier commit held a file committed by mistake (and removed before
the commit that ran), a later commit never ran, and the commit that ran holds a symbolic link
to a file outside the study, a binary file and a file too large to show."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from environment.codelists_support import ASTHMA, PROJECT, coded_world
from environment.environment_support import People
from fivesafes.environment import codelists, jobs
from jobs.jobs_support import write_project

EXTRACT_AND_DESCRIBE = """
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/study.py --output output/dataset.csv
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
  describe:
    run: python analysis/describe.py
    needs: [extract]
    outputs:
      moderately_sensitive: {methods: output/methods.md}
"""
"""A study of two actions: extract a dataset, and write a note of the method (no figures)."""
STUDY_YAML = (
    EXTRACT_AND_DESCRIBE
    + """\
  summarise:
    run: python analysis/summarise.py
    needs: [extract, describe]
    outputs:
      moderately_sensitive: {summary: output/summary.txt}
"""
)
DEFINITION = """
from fivesafes import Dataset, codelist_from_csv
from fivesafes.tables import patients, clinical_events as events

asthma = codelist_from_csv("analysis/codelists/asthma.csv", column="code", system="snomedct")
fractures = codelist_from_csv("analysis/codelists/fractures.csv", column="code")
dataset = Dataset()
dataset.define_population(patients.exists_for_patient())
dataset.has_asthma = events.where(events.snomedct_code.is_in(asthma)).exists_for_patient()
dataset.fractures = events.where(events.snomedct_code.is_in(fractures)).count_for_patient()
"""
DESCRIBE = """
import csv
rows = sum(1 for _ in csv.reader(open("output/dataset.csv")))
words = "a cohort" if rows else "no cohort"
open("output/methods.md", "w").write(f"Method: {words} was extracted inside the environment.\\n")
"""
SUMMARISE = """
open("output/summary.txt", "w").write("See the method.\\n")
"""
FRACTURES = "code,term\n125605004,Fracture of bone\n"
MISTAKE = "MISTAKE-7f3a: a file committed by mistake and removed before anything ran"
NEVER_RAN = "NEVER-RAN-51c9: a commit no job ran"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
BIG = "x" * 99 + "\n"
METHODS = "output/methods.md"


@dataclass(frozen=True)
class Library:
    repository: Path
    mistake: str
    """The commit before the one that ran, holding a file committed by mistake."""
    ran: str
    """The commit a job ran."""
    unrun: str
    """A later commit no job ran."""
    job_id: str


def commit_all(folder: Path, message: str) -> str:
    """Commit everything in ``folder`` (a git repository from its first commit on), as an
    analyst does; the commit's id."""
    who = ["-c", "user.name=Ana", "-c", "user.email=ana@example.org"]
    steps = [["add", "-A"], [*who, "commit", "-q", "-m", message]]
    if not (folder / ".git").exists():
        steps.insert(0, ["init", "-q", "--initial-branch=main"])
    for args in steps:
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)
    head = ["git", "-C", str(folder), "rev-parse", "HEAD"]
    return subprocess.run(head, check=True, capture_output=True, text=True).stdout.strip()


def library_world(people: People, root: Path) -> Library:
    """'ana' on approved project 'codes', whose repository is ``root/repo``; code list
    asthma/1 published; a job run at the commit ``ran``."""
    repository = root / "repo"
    coded_world(people, root, repository=str(repository))
    env, token = people.env, people.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    codelists.add(env, token, "asthma", {ASTHMA: None})
    codelists.publish(env, token, "asthma/1")
    files = {
        "analysis/study.py": DEFINITION,
        "analysis/describe.py": DESCRIBE,
        "analysis/summarise.py": SUMMARISE,
        "analysis/codelists/asthma.csv": codelists.export_csv(env, token, "asthma/1"),
        "analysis/codelists/fractures.csv": FRACTURES,
        "docs/notes.md": BIG * (300 * 1024 // len(BIG)),
        "notes/mistake.txt": MISTAKE,
    }
    write_project(repository, STUDY_YAML, files)
    (repository / "docs" / "logo.png").write_bytes(BINARY)
    mistake = commit_all(repository, "first go")
    (repository / "notes" / "mistake.txt").unlink()
    # the environment keeps metadata/ for itself, so a job never copies it: a link there runs
    (repository / "metadata").mkdir()
    (repository / "metadata" / "escape").symlink_to("/etc/passwd")
    ran = commit_all(repository, "the study")
    (repository / "analysis" / "never_ran.py").write_text(f"# {NEVER_RAN}\n")
    unrun = commit_all(repository, "not run yet")
    job = jobs.wait(env, token, jobs.submit_commit(env, token, PROJECT, ran).job_id)
    assert job.state == "succeeded", job.record.error
    assert job.record.git_commit == ran
    return Library(repository, mistake, ran, unrun, job.job_id)
