"""The portal's world as its custodian and operator find it: a copy of the portal's world (so
the other tests' world is left as it was) in which the custodian loaded a small file holding
one good patient and one bad record, the analyst queued two jobs (one claimed by a worker
holding its lease) and applied for a project that waits for a decision. The bad record's id and
its wrong value are markers: the custodian sees them on the quarantine page; nobody else may
see them anywhere."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from portal_support import Portal

from environment.environment_support import PROJECT, quick_study
from fhir_factory import nhs_number, patient, write_ndjson
from fivesafes.environment import Environment, data, jobs, projects
from fivesafes.environment.job_queue import claim, new_worker_id
from fivesafes.store.config import DataDir
from governance.governance_support import application

BAD_ID = "qz-marker-7781"
BAD_BIRTH = "2999-13-45"
"""A birth date no calendar holds: the record is rejected and its finding quotes it."""
LOAD_FILE = "arrivals.ndjson"
WAITING = "quiet-wards"
"""An application of this world's own that waits for a decision (the portal's may have been
decided by the tests that ran before this world was copied)."""


@dataclass(frozen=True)
class StaffWorld:
    data_dir: DataDir
    tokens: dict[str, str]
    load_id: str
    claimed_job: str
    waiting_job: str
    worker: str


def build_staff_world(portal: Portal, root: Path) -> StaffWorld:
    shutil.copytree(portal.data_dir.root, root / "data")
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    good = patient("p-arrived", nhs_number(40))
    bad = patient(BAD_ID, nhs_number(41), birth=BAD_BIRTH)
    file = write_ndjson(root / LOAD_FILE, [good, bad])
    with Environment.open(data_dir) as env:
        loaded = data.load(env, portal.tokens["cus"], [file])
        assert loaded.report is not None and loaded.report.totals["quarantined"] == 1
        worker = new_worker_id()
        queued = [
            jobs.submit(env, portal.tokens["ana"], PROJECT, quick_study(root / f"study{i}")).job_id
            for i in range(2)
        ]
        assert claim(env, queued[0], worker, lease=3600)
        projects.apply(env, portal.tokens["ana"], WAITING, application("ana", title="Quiet wards"))
    return StaffWorld(
        data_dir, dict(portal.tokens), loaded.report.load_id, queued[0], queued[1], worker
    )
