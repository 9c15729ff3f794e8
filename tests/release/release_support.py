"""Helpers for the release tests: a study whose job records say it ran against the store, and a
small world of people (analyst, approver, output checkers) on an approved project.

The job records are written through the jobs stage's own record types (``JobRecord``,
``JsonJobRecords``), hashing the files as they are, exactly as the runner records a store job:
running real sandboxed store jobs here would test the jobs stage, not the release gate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from governance_support import World, application, delegate, job_record

from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import ControlPlane, Role, Verdict, decide, submit_project
from fivesafes.jobs import FileRecord, JobRecord, JsonJobRecords
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.records import METADATA_DIR, new_job_id
from fivesafes.release import ReleaseOffice, request_release
from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key

PROJECT = "asthma-release"
PROJECT_DATASETS = tuple(application().datasets)
"""The datasets PROJECT is approved for, so the tables its jobs read."""
PROJECT_YAML = """\
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/study.py --output output/dataset.csv
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
  summarise:
    run: python analysis/summarise.py
    needs: [extract]
    outputs:
      moderately_sensitive:
        table: output/table.csv
        other: output/other.csv
        chart: output/chart.png
        notes: output/notes.md
        extra: output/extra.json
        people: output/people.csv
        sheet: output/sheet.xlsx
        drawing: output/drawing.svg
"""


def counts_csv(rows: Mapping[tuple[str, str], int]) -> str:
    """A long table of counts by age band and sex, as a GROUP BY writes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["age_band", "sex", "count"])
    for (band, sex), n in rows.items():
        writer.writerow([band, sex, n])
    return out.getvalue()


SAFE_COUNTS = {("0-17", "F"): 40, ("0-17", "M"): 35, ("18-64", "F"): 120, ("18-64", "M"): 110}


def people_table(rows: Mapping[tuple[str, str], int]):
    """The records behind a table of counts by age band and sex: one row a person."""
    import pyarrow as pa

    bands = [band for (band, _), n in rows.items() for _ in range(n)]
    sexes = [sex for (_, sex), n in rows.items() for _ in range(n)]
    return pa.table({"age_band": bands, "sex": sexes})


def safe_chart(
    study: Study, rows: Mapping[tuple[str, str], int], table: str, chart: str, profile="default"
) -> None:
    """A table and its chart made as a study's analysis makes them, with the safe API, from
    the study's folder (so the chart names the table by its path in the study)."""
    import contextlib

    from fivesafes.disclosure import safe

    made = safe.crosstab(people_table(rows), "age_band", "sex", profile=profile)
    with contextlib.chdir(study.root):
        made.write_csv(table)
        made.chart(chart)


def tiny_png() -> bytes:
    """A real PNG drawn by matplotlib (what an analysis script writes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(["F", "M"], [160, 145])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    plt.close(fig)
    return buffer.getvalue()


@dataclass
class Study:
    """A study folder on disk, and a way to record a job that wrote its outputs."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> Study:
        root.mkdir(parents=True, exist_ok=True)
        (root / "project.yaml").write_text(PROJECT_YAML)
        (root / "output").mkdir(exist_ok=True)
        return cls(root)

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        return target

    def record_job(
        self,
        action: str,
        paths: Sequence[str],
        backend: str = "store",
        privacy: str = "moderately_sensitive",
        status: str = "succeeded",
        highly_sensitive: Sequence[str] = (),
    ) -> JobRecord:
        """Record a job that wrote ``paths`` (of ``privacy``) and ``highly_sensitive`` files."""
        record = JobRecord(
            job_id=new_job_id(action),
            project=str(self.root.resolve()),
            action=action,
            command="python analysis/summarise.py",
            backend=backend,
            sandboxed=backend == "store",
            git_commit=None,
            git_dirty=None,
            started_at="2026-01-02T03:04:05Z",
            cache_key="test",
            status=status,
            exit_code=0 if status == "succeeded" else 1,
            outputs=[
                FileRecord(
                    p,
                    file_sha256(self.root / p),
                    (self.root / p).stat().st_size,
                    action,
                    Path(p).stem,
                    kind,
                )
                for kind, chosen in ((privacy, paths), ("highly_sensitive", highly_sensitive))
                for p in chosen
            ],
        )
        JsonJobRecords(self.root / METADATA_DIR).save(record)
        return record


@dataclass
class People:
    """Tokens of the analyst, the checkers (with keys in ``world.keys``) and others."""

    world: World

    def token(self, person: str) -> str:
        return self.world.tokens[person]

    def key(self, person: str) -> Ed25519PrivateKey:
        return self.world.keys[person]


def approved_project(office: ReleaseOffice) -> People:
    """A custodian, analyst 'ana' (member), second member 'bob', approver 'apo', output checkers
    'chk1'..'chk4' (chk4 also a member of the project, though one person may not be both analyst
    and output checker), each a release delegate of the project's datasets, and project PROJECT
    approved for a year."""
    cp = office.cp
    world = World.start(cp)
    world.add("ana", Role.ANALYST)
    world.add("bob", Role.ANALYST)
    world.add("apo", Role.APPROVER)
    for checker in ("chk1", "chk2", "chk3"):
        world.add(checker, Role.OUTPUT_CHECKER)
    world.add("chk4", Role.OUTPUT_CHECKER)
    submit_project(cp, world.tokens["ana"], PROJECT, application("ana", "bob", "chk4"))
    decide(
        cp,
        world.tokens["apo"],
        PROJECT,
        Verdict.APPROVE,
        "sound",
        world.keys["apo"],
        until=cp.today() + timedelta(days=365),
    )
    checkers = ("chk1", "chk2", "chk3", "chk4")
    delegate(cp, world.tokens["cus"], world.tokens["apo"], PROJECT_DATASETS, checkers)
    return People(world)


def as_environment(data_dir: DataDir) -> None:
    """A data directory built with the stages, made an environment the commands open: its
    settings written and its key made, as `fivesafes environment init` would."""
    if not data_dir.key_file.exists():
        create_key(data_dir.key_file)
    write_settings(data_dir.root, Settings("Test environment"))


def held_job(
    data_dir: DataDir,
    job_id: str = "job-cli",
    project_id: str = PROJECT,
    cp: ControlPlane | None = None,
    datasets: Sequence[str] = PROJECT_DATASETS,
) -> Study:
    """A job the environment holds for the project, which read ``datasets``: its record (in
    ``cp``, or the data directory's own control plane), and its study folder."""
    if cp is None:
        with ControlPlane.open(data_dir) as opened:
            return held_job(data_dir, job_id, project_id, opened, datasets)
    job_record(cp, data_dir, job_id, project_id, datasets)
    return Study.create(data_dir.jobs / job_id / "study")


def race_request(office: ReleaseOffice, people: People, job_id: str) -> str:
    """A fresh request by ana of a safe table from a new job ``job_id`` that read the project's
    datasets: one for each round of a race test."""
    study = held_job(office.data_dir, job_id, cp=office.cp)
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.record_job("summarise", ["output/table.csv"])
    return request_release(
        office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], "race"
    )[0]
