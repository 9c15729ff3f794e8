"""A released environment for the dashboard tests: an approved project, a study whose job
records say it ran against the store, two monthly measure tables released through the release
stage (request → checks → two signed approvals → publish), and a third whose small counts the
checker suppresses, so it is published as the checker's safe version.

The job records are written with the jobs stage's record types, hashing the files as they are
(as the runner records a store job): running sandboxed store jobs here would test the jobs
stage, not the dashboard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fivesafes.governance import (
    Application,
    ControlPlane,
    NewAccount,
    Purpose,
    Role,
    Verdict,
    create_account,
    decide,
    enrol,
    register_key,
    submit_project,
)
from fivesafes.jobs import FileRecord, JobRecord, JsonJobRecords
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.records import METADATA_DIR, new_job_id
from fivesafes.release import (
    Publication,
    ReleaseOffice,
    check_request_files,
    publish_release,
    request_release,
    review_release,
)
from fivesafes.release import Verdict as Vote
from fivesafes.store.config import DataDir
from governance.governance_support import delegate, job_record

PROJECT = "monthly-measures"
DATASETS = ("patients",)
"""What the project is approved for, so what its job read."""
ADMISSIONS = "output/emergency_admissions_by_region.csv"
HBA1C = "output/hba1c_recorded_by_imd_quintile.csv"
CONVEYANCES = "output/ambulance_conveyances_by_region.csv"
PROJECT_YAML = f"""\
version: 1
actions:
  summarise:
    run: python analysis/summarise.py
    outputs:
      moderately_sensitive:
        admissions: {ADMISSIONS}
        hba1c: {HBA1C}
        conveyances: {CONVEYANCES}
"""
MONTHS = tuple(f"{2022 + (i // 12)}-{i % 12 + 1:02d}-01" for i in range(15))


def admissions_csv(seed: int = 1) -> str:
    """Monthly emergency admissions and registered patients in three regions; the North West
    rises from month 9, a shift an SPC chart should flag."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "region", "events", "population"])
    for region, population, base in (
        ("London", 40_000, 9.0),
        ("North West", 30_000, 10.0),
        ("South West", 20_000, 8.0),
    ):
        for i, month in enumerate(MONTHS):
            rate = base * (1.4 if region == "North West" and i >= 8 else 1.0)
            writer.writerow([month, region, int(rng.poisson(rate * population / 1000)), population])
    return out.getvalue()


def hba1c_csv(seed: int = 2) -> str:
    """Monthly HbA1c recording among people with diabetes by deprivation quintile."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "imd_quintile", "numerator", "denominator"])
    for quintile in range(1, 6):
        people = 900 + 40 * quintile
        for month in MONTHS:
            writer.writerow(
                [month, quintile, int(rng.binomial(people, 0.70 + 0.02 * quintile)), people]
            )
    return out.getvalue()


SMALL = {("2022-03-01", "London"), ("2022-08-01", "South West")}
"""Where conveyances_csv plants a count under the disclosure threshold."""


def conveyances_csv(seed: int = 3) -> str:
    """Monthly ambulance conveyances in three regions, two of them small: released only as the
    checker's safe version, with those cells (and complementary ones) hidden."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "region", "events", "population"])
    for region in ("London", "North West", "South West"):
        for month in MONTHS:
            events = 3 if (month, region) in SMALL else int(rng.poisson(40)) + 15
            writer.writerow([month, region, events, 5_000])
    return out.getvalue()


def _account(person_id: str, role: Role, cp: ControlPlane) -> NewAccount:
    return NewAccount(
        person_id=person_id,
        public_name=person_id.replace("-", " ").title(),
        organisation="Test Environment",
        roles=frozenset({role}),
        expires_on=cp.today() + timedelta(days=365),
        trained_on=cp.today() - timedelta(days=1),
    )


@dataclass(frozen=True)
class Approved:
    """The people of the approved project: the analyst's token, and each checker's token and key."""

    analyst: str
    checkers: tuple[tuple[str, Ed25519PrivateKey], ...]


def approved_project(cp: ControlPlane) -> Approved:
    """A custodian, an analyst, two output checkers (release delegates of its datasets), and
    PROJECT approved by an approver."""

    def made(by: str | None, person_id: str, role: Role) -> str:
        return enrol(cp, create_account(cp, by, _account(person_id, role, cp)).code).token

    def keyed(token: str) -> tuple[str, Ed25519PrivateKey]:
        key = Ed25519PrivateKey.generate()
        register_key(cp, token, key.public_key())
        return token, key

    custodian = made(None, "cus", Role.DATA_CUSTODIAN)
    analyst = made(custodian, "ana", Role.ANALYST)
    approver, key = keyed(made(custodian, "apo", Role.APPROVER))
    checkers = tuple(keyed(made(custodian, c, Role.OUTPUT_CHECKER)) for c in ("chk1", "chk2"))
    form = Application(
        title="Emergency admissions and diabetes care by month",
        purpose=Purpose.PLANNING,
        purpose_description="Monthly measures for the board.",
        public_benefit="Shows where services are under pressure.",
        legal_basis="Test environment: synthetic data only",
        datasets={d: ("patient_id",) for d in DATASETS},
        members=("ana",),
        repository="examples/emergency-admissions",
        planned_outputs=("monthly measure tables",),
        organisation="Test Environment",
    )
    submit_project(cp, analyst, PROJECT, form)
    until = cp.today() + timedelta(days=365)
    decide(cp, approver, PROJECT, Verdict.APPROVE, "Aggregates only.", key, until=until)
    delegate(cp, custodian, approver, DATASETS, ("chk1", "chk2"))
    return Approved(analyst, checkers)


def write_study(root: Path, files: dict[str, str]) -> Path:
    """The study folder with its outputs and a job record saying they came from the store."""
    root.mkdir(parents=True)
    (root / "project.yaml").write_text(PROJECT_YAML)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    record = JobRecord(
        job_id=new_job_id("summarise"),
        project=str(root.resolve()),
        action="summarise",
        command="python analysis/summarise.py",
        backend="store",
        sandboxed=True,
        git_commit=None,
        git_dirty=None,
        started_at="2026-01-02T03:04:05Z",
        cache_key="test",
        status="succeeded",
        exit_code=0,
        outputs=[
            FileRecord(
                p,
                file_sha256(root / p),
                (root / p).stat().st_size,
                "summarise",
                Path(p).stem,
                "moderately_sensitive",
            )
            for p in files
        ],
    )
    JsonJobRecords(root / METADATA_DIR).save(record)
    return root


@dataclass(frozen=True)
class Released:
    data_dir: DataDir
    publication: Publication


def released_environment(root: Path) -> Released:
    """An environment in ``root`` that has released the three measure tables."""
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    files = {ADMISSIONS: admissions_csv(), HBA1C: hba1c_csv(), CONVEYANCES: conveyances_csv()}
    study = write_study(data_dir.jobs / "job-board" / "study", files)
    with ControlPlane.open(data_dir) as cp:
        people = approved_project(cp)
        job_record(cp, data_dir, "job-board", PROJECT, DATASETS)
        office = ReleaseOffice(cp, data_dir)
        checks = check_request_files(office, PROJECT, study, list(files))
        exceptions = {c.path: "the checker's safe version" for c in checks if c.needs_exception}
        release_id, _ = request_release(
            office, people.analyst, PROJECT, study, list(files), "board report", exceptions
        )
        for token, key in people.checkers:
            review_release(office, token, release_id, Vote.APPROVE, "checked", key)
        publication = publish_release(office, people.analyst, release_id)
    return Released(data_dir, publication)


@dataclass(frozen=True)
class Built:
    """A dashboard built from a released environment."""

    released: Released
    page: Path

    @property
    def html(self) -> str:
        return self.page.read_text(encoding="utf-8")
