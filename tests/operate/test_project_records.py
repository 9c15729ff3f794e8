"""A project over its lifetime: no work without its DPIA under the standard policy, none once any
of its documents has ended, and no job over the ceiling an approver set — each refusal naming
its reason, and in the ledger. The ceiling, not the analyst, bounds what the sandbox allows."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from governance_support import World, application
from operate_support import People
from typer.testing import CliRunner

import fivesafes.cli.jobs  # noqa: F401  (registers submit)
from fivesafes.cli.common import app
from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import (
    AccessDenied,
    ControlPlane,
    Role,
    Verdict,
    authorise_job,
    decide,
    submit_project,
)
from fivesafes.governance.datasets import (
    DatasetEntry,
    Sensitivity,
    approve_dataset,
    register_dataset,
)
from fivesafes.governance.project_records import Ceiling, bounded, record_document, set_ceiling
from fivesafes.jobs.process import Limits
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import create_key

sys.path.insert(0, str(Path(__file__).parents[1] / "jobs"))
from jobs_support import needs_sandbox, write_project

GIB, MIB = 1024**3, 1024**2


def _registered(cp: ControlPlane, people: People, dataset: str, days: int = 365) -> None:
    owner, dsa = "NHS Example Trust (information asset owner)", "DSA-2026-014"
    until, basis = cp.today() + timedelta(days=days), "UK GDPR 6(1)(e) and 9(2)(h)"
    entry = DatasetEntry(dataset, owner, dsa, Sensitivity.PSEUDONYMISED, basis, until)
    register_dataset(cp, people.tokens["cus"], entry)
    approve_dataset(cp, people.tokens["val"], dataset)


def _approved(cp: ControlPlane, register: bool = True) -> People:
    people = People.start(cp)
    people.add("ann", Role.ANALYST)
    people.add("val", Role.APPROVER)
    submit_project(cp, people.tokens["ann"], "heat", application("ann"))
    until = cp.today() + timedelta(days=365)
    decide(cp, people.tokens["val"], "heat", Verdict.APPROVE, "Sound.", people.keys["val"], until)
    if register:
        _registered(cp, people, "patients")
    return people


def test_a_job_reaches_only_datasets_the_register_agreed(cp: ControlPlane) -> None:
    """Access to a dataset needs the data controller's agreement (SATRE 1.5.04), whatever the
    project's approval says: not registered, awaiting agreement, past retention — refused."""
    people = _approved(cp, register=False)
    ann, val = people.tokens["ann"], people.tokens["val"]
    record_document(cp, val, "heat", "dpia", "DPIA-2026-014", cp.today() + timedelta(days=300))
    with pytest.raises(AccessDenied, match="heat: dataset patients is not in the register"):
        authorise_job(cp, ann, "heat", ["patients"])
    owner, basis = "NHS Example Trust", "UK GDPR 6(1)(e) and 9(2)(h)"
    soon = cp.today() + timedelta(days=5)
    entry = DatasetEntry("patients", owner, "DSA-1", Sensitivity.PSEUDONYMISED, basis, soon)
    register_dataset(cp, people.tokens["cus"], entry)
    with pytest.raises(AccessDenied, match="patients awaits an approver's agreement"):
        authorise_job(cp, ann, "heat", ["patients"])
    approve_dataset(cp, val, "patients")
    assert authorise_job(cp, ann, "heat", ["patients"]).datasets == {
        "patients": ("patient_id", "sex")
    }
    with pytest.raises(AccessDenied, match="hospital_admissions is not in the register"):
        authorise_job(cp, ann, "heat", None)  # everything approved: one dataset is not agreed
    cp.clock.advance(6 * 86400)  # type: ignore[attr-defined]
    with pytest.raises(AccessDenied, match="patients is past its retention date"):
        authorise_job(cp, people.sign_in("ann"), "heat", ["patients"])
    assert "past its retention date" in _refusals(cp)[-1]


def _refusals(cp: ControlPlane) -> list[str]:
    entries = [json.loads(e) for e in cp.ledger.entries()]
    return [
        e["subject"]["outcome"]
        for e in entries
        if e["kind"] == "login" and e["subject"]["outcome"].startswith("refused")
    ]


def test_no_dpia_or_a_lapsed_ethics_approval_stops_the_project_s_jobs(cp: ControlPlane) -> None:
    people = _approved(cp)
    ann, val = people.tokens["ann"], people.tokens["val"]
    with pytest.raises(AccessDenied, match="heat: no data protection impact assessment"):
        authorise_job(cp, ann, "heat", ["patients"])
    today = cp.today()
    record_document(cp, val, "heat", "dpia", "DPIA-2026-014", today + timedelta(days=300))
    record_document(cp, val, "heat", "ethics", "REC 26/NW/0001", today + timedelta(days=10))
    assert authorise_job(cp, ann, "heat", ["patients"]).project_id == "heat"

    cp.clock.advance(11 * 86400)  # type: ignore[attr-defined]
    people.sign_in("ann")
    with pytest.raises(AccessDenied, match=r"its ethics approval \(REC 26/NW/0001\) ended on"):
        authorise_job(cp, people.tokens["ann"], "heat", ["patients"])
    assert "ethics approval (REC 26/NW/0001) ended" in _refusals(cp)[-1]
    people.sign_in("val")
    record_document(
        cp,
        people.tokens["val"],
        "heat",
        "ethics",
        "REC 26/NW/0001 (amended)",
        cp.today() + timedelta(days=100),
    )
    assert authorise_job(cp, people.tokens["ann"], "heat", ["patients"]).person_id == "ann"


def test_documents_are_recorded_only_by_an_approver_off_the_project(cp: ControlPlane) -> None:
    people = _approved(cp)
    later = cp.today() + timedelta(days=30)
    with pytest.raises(AccessDenied, match="may not govern project"):
        record_document(cp, people.tokens["ann"], "heat", "dpia", "mine", later)
    people.add("vic", Role.APPROVER)  # no one is analyst and approver: vic is on the project
    submit_project(cp, people.tokens["ann"], "own", application("ann", "vic"))
    with pytest.raises(AccessDenied, match="conflict: on project own"):
        record_document(cp, people.tokens["vic"], "own", "dpia", "DPIA-1", later)
    with pytest.raises(ValueError, match="must be one of dpia"):
        record_document(cp, people.tokens["val"], "heat", "horoscope", "x", later)
    with pytest.raises(ValueError, match="must end in the future"):
        record_document(cp, people.tokens["val"], "heat", "dpia", "DPIA-1", cp.today())


def test_an_over_ceiling_job_is_refused_and_the_ceiling_bounds_the_sandbox(
    cp: ControlPlane,
) -> None:
    people = _approved(cp)
    ann, val = people.tokens["ann"], people.tokens["val"]
    record_document(cp, val, "heat", "dpia", "DPIA-2026-014", cp.today() + timedelta(days=300))
    ceiling = Ceiling(cpu_cores=2, memory_bytes=2 * GIB, storage_bytes=5 * GIB, wall_seconds=600)
    with pytest.raises(AccessDenied, match="may not govern project"):
        set_ceiling(cp, ann, "heat", Ceiling(64, 512 * GIB, 10**13, 10**6))  # not the analyst's
    set_ceiling(cp, val, "heat", ceiling)
    with pytest.raises(
        AccessDenied, match="memory_bytes 8192 MiB is over the project's ceiling of 2048 MiB"
    ):
        authorise_job(cp, ann, "heat", ["patients"], {"memory_bytes": 8 * GIB})
    assert "over the project's ceiling" in _refusals(cp)[-1]
    allowed = authorise_job(cp, ann, "heat", ["patients"], {"memory_bytes": GIB})
    assert allowed.ceiling == ceiling
    given = bounded(Limits(memory_bytes=GIB), allowed.ceiling)
    assert (given.memory_bytes, given.cpu_cores, given.wall_seconds) == (GIB, 2, 600)
    assert given.file_bytes == 5 * GIB
    with pytest.raises(ValueError, match="cpu_cores must be more than 0"):
        set_ceiling(cp, val, "heat", Ceiling(0, GIB, GIB, 60))


STUDY = """
version: 1
actions:
  count:
    run: python -c "open('output/n.csv', 'w').write('n\\n3\\n')"
    outputs:
      moderately_sensitive: {table: output/n.csv}
"""


@needs_sandbox
def test_submit_runs_within_the_ceiling_and_is_refused_over_it(tmp_path: Path) -> None:
    """``fivesafes submit`` as an analyst runs it: asking for more memory than the approver
    allowed is refused by name; asking for nothing runs the sandbox at the ceiling."""
    data_dir = DataDir.from_env(tmp_path / "data")
    create_key(data_dir.key_file)  # an environment, as `fivesafes environment init` makes one
    with ControlPlane.open(data_dir) as cp:
        world = World.start(cp)
        analyst = world.add("ana", Role.ANALYST)
        approver = world.add("val", Role.APPROVER)
        submit_project(cp, analyst, "heat", application("ana"))
        until = cp.today() + timedelta(days=365)
        decide(cp, approver, "heat", Verdict.APPROVE, "fine", world.keys["val"], until)
        set_ceiling(cp, approver, "heat", Ceiling(1, 512 * MIB, 64 * MIB, 120))
    write_settings(data_dir.root, Settings("Test environment"))
    Store.open(data_dir).close()
    study = write_project(tmp_path / "study", STUDY)
    args = ["submit", "--wait", "--project", str(study), "--data-dir", str(data_dir.root)]
    args += ["--project-id", "heat", "--token", analyst, "--format", "json"]
    over = CliRunner().invoke(app, [*args, "--memory-mb", "4096"])
    assert over.exit_code == 2
    assert "memory_bytes 4096 MiB is over the project's ceiling of 512 MiB" in " ".join(
        over.stderr.split()
    )
    ran = CliRunner().invoke(app, args)
    assert ran.exit_code == 0, ran.stderr
    (record,) = data_dir.jobs.glob("*/*/metadata/jobs/*.json")  # in the environment's copy
    limits = orjson.loads(record.read_bytes())["limits"]
    assert (limits["memory_bytes"], limits["cpu_cores"], limits["wall_seconds"]) == (
        512 * MIB,
        1,
        120,
    )
    assert limits["file_bytes"] == 64 * MIB
