"""Helpers for tests of the environment layer and its faces: a new environment, people enrolled
through their own codes (read from the file outbox, which stands for their mail), and a world
with an approved project and a small population with opt-outs and shared data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fhir_factory import basic_population, nhs_number, write_ndjson
from fivesafes.environment import Environment, accounts, consent, jobs, projects
from fivesafes.environment.delivery import OUTBOX
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import ConsentScope, NewAccount, OptOutKind, Role, Verdict
from fivesafes.store.config import DataDir
from fivesafes.store.load import load
from governance.governance_support import application, delegate
from jobs.jobs_support import write_project

DECIDERS = {Role.APPROVER, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN}


def address(person_id: str) -> str:
    return f"{person_id}@example.org"


def outbox_code(data_root: Path, to: str) -> str:
    """The latest enrolment code sent to ``to``: what that person reads in their mail."""
    codes = [
        match.group(1)
        for path in sorted((data_root / OUTBOX).glob("*.eml"))
        if f"To: {to}\n" in (text := path.read_text(encoding="utf-8"))
        for match in [re.search(r"fivesafes user enrol (fse_[A-Za-z0-9_-]+)", text)]
        if match
    ]
    assert codes, f"no enrolment code was sent to {to}"
    return codes[-1]


def person(person_id: str, *roles: Role, today: date | None = None) -> NewAccount:
    today = today or date.today()
    return NewAccount(
        person_id=person_id,
        public_name=f"Person {person_id.title()}",
        organisation="Test Trust",
        roles=frozenset(roles),
        expires_on=today + timedelta(days=365),
        trained_on=today - timedelta(days=30),
        contact=address(person_id),
    )


@dataclass
class People:
    """An initialised environment's people: their own tokens, and deciders' signing keys."""

    env: Environment
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    custodian: str = "cus"
    """Who makes the accounts."""

    def enrol(self, person_id: str) -> str:
        code = outbox_code(self.env.data_dir.root, address(person_id))
        self.tokens[person_id] = accounts.enrol(self.env, code).token
        return self.tokens[person_id]

    def add(self, person_id: str, *roles: Role) -> str:
        """A custodian creates the account; the person enrols with the code they were sent."""
        accounts.create(self.env, self.tokens[self.custodian], person(person_id, *roles))
        token = self.enrol(person_id)
        if DECIDERS & set(roles):
            self.key(person_id)
        return token

    def delegate(
        self, *checkers: str, datasets: Iterable[str] | None = None, approver: str = "val"
    ) -> None:
        """Make ``checkers`` release delegates of each of ``datasets`` (the project's grant),
        as the datasets' owners would (the custodian records, ``approver`` confirms): only
        then may they judge the outputs of a job that read them."""
        custodian, confirmer = self.tokens[self.custodian], self.tokens[approver]
        chosen = GRANT if datasets is None else datasets
        delegate(self.env.cp, custodian, confirmer, chosen, checkers)

    def key(self, person_id: str) -> Ed25519PrivateKey:
        key = self.keys[person_id] = Ed25519PrivateKey.generate()
        accounts.register_key(self.env, self.tokens[person_id], key.public_key())
        return key


def new_environment(data_dir: DataDir, custodian: str = "cus") -> None:
    """Initialise an environment whose first custodian is ``custodian`` (not yet enrolled)."""
    initialise(data_dir, Settings("Test environment"), person(custodian, Role.DATA_CUSTODIAN))


def open_with_custodian(data_dir: DataDir, custodian: str = "cus") -> People:
    """A new environment at ``data_dir``, opened, with its custodian enrolled and keyed."""
    new_environment(data_dir, custodian)
    people = People(Environment.open(data_dir), custodian=custodian)
    people.enrol(custodian)
    people.key(custodian)
    return people


def custodian_by_command(
    data: list[str], person_id: str = "cara", public_name: str = "Cara Custodian",
    organisation: str = "Test",
) -> str:  # fmt: skip
    """`fivesafes environment init` as an operator types it (``data`` is ``--data-dir DIR``),
    then the custodian's own `fivesafes user enrol` with the code sent to them; their token."""
    from typer.testing import CliRunner

    from fivesafes.cli.common import app

    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            *("environment", "init", "--name", "Test", "--custodian", person_id),
            *("--custodian-name", public_name, "--organisation", organisation),
            *("--contact", address(person_id), *data),
        ],
    )
    assert made.exit_code == 0, made.output
    code = outbox_code(Path(data[1]), address(person_id))
    enrolled = runner.invoke(app, ["user", "enrol", code, *data])
    assert enrolled.exit_code == 0, enrolled.output
    return enrolled.stdout.strip().splitlines()[-1]


def steps(oid: str, pid: str, value: int = 9000, when: str = "2024-02-01") -> dict[str, object]:
    """A day's steps a person shared from their own device (a wearable observation)."""
    from fivesafes.synth.records import quantity
    from fivesafes.synth.wearables import ACTIVITY, KINDS

    code, unit = KINDS[0]
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": ACTIVITY,
        "code": code.concept,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, *unit),
    }


PROJECT = "heat"
GRANT = {
    "patients": ("patient_id", "sex"),
    "wearable_observations": ("patient_id", "date", "kind", "value"),
}
PROJECT_YAML = """
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/study.py --output output/dataset.csv
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
  count:
    run: python analysis/count.py
    needs: [extract]
    outputs:
      moderately_sensitive: {table: output/count.csv}
"""
DEFINITION = """
from fivesafes.query import Dataset
from fivesafes.tables import patients, wearable_observations as shared
dataset = Dataset()
dataset.define_population(patients.exists_for_patient())
dataset.sex = patients.sex
dataset.born = patients.date_of_birth
dataset.shared_days = shared.count_for_patient()
"""
COUNT = """
import csv
rows = list(csv.DictReader(open("output/dataset.csv")))
open("output/count.csv", "w").write(f"people\\n{len(rows)}\\n")
"""


def study(root: Path, definition: str = DEFINITION) -> Path:
    return write_project(
        root, PROJECT_YAML, {"analysis/study.py": definition, "analysis/count.py": COUNT}
    )


def approved_world(people: People, tmp_path: Path) -> People:
    """Analyst 'ana' on approved research project 'heat'; six people loaded, each sharing a
    day's steps; person 1 opted out; 2 and 3 consent to research use of what they share, 4 only
    to care."""
    env = people.env
    people.add("ana", Role.ANALYST)
    people.add("val", Role.APPROVER)
    projects.apply(env, people.tokens["ana"], PROJECT, application("ana", datasets=GRANT))
    until = env.cp.today() + timedelta(days=30)
    projects.decision(
        env, people.tokens["val"], PROJECT, Verdict.APPROVE, "ok", people.keys["val"], until
    )
    records = basic_population(6) + [steps(f"s{i}", f"p{i}") for i in range(6)]
    with env.store(read_only=False) as store:
        load(store, [write_ndjson(tmp_path / "people.ndjson", records)])
    cus = people.tokens["cus"]
    consent.add(env, cus, nhs_number(1), OptOutKind.NATIONAL)
    for i, scope in (
        (2, ConsentScope.RESEARCH),
        (3, ConsentScope.RESEARCH),
        (4, ConsentScope.CARE),
    ):
        consent.set_shared_data_consent(env, cus, nhs_number(i), scope, True)
    return people


def submitted(env: Environment, token: str, project_id: str, folder: Path) -> jobs.JobView:
    """Submit ``folder`` and see the job through in this process, as `fivesafes submit --wait`
    does when no worker has taken it: the job as it ended."""
    return jobs.wait(env, token, jobs.submit(env, token, project_id, folder).job_id)


QUICK_YAML = """
version: 1
actions:
  table:
    run: python analysis/table.py
    outputs:
      moderately_sensitive: {table: output/table.csv}
"""


def quick_study(root: Path) -> Path:
    """A study of one quick action that reads no data and writes one small table."""
    return write_project(
        root, QUICK_YAML, {"analysis/table.py": 'open("output/table.csv", "w").write("n\\n1\\n")\n'}
    )
