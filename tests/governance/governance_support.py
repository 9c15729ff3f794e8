"""Helpers for the governance tests: a hand-moved clock, an application form, a small world."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fivesafes.environment import job_records
from fivesafes.environment.core import Environment
from fivesafes.environment.delivery import delivery_for
from fivesafes.environment.settings import Settings
from fivesafes.governance import (
    Application,
    ControlPlane,
    NewAccount,
    Purpose,
    Role,
    create_account,
    enrol,
    register_key,
)
from fivesafes.governance.datasets import (
    DatasetEntry,
    Sensitivity,
    approve_dataset,
    register,
    register_dataset,
)
from fivesafes.governance.delegates import confirm_delegate, record_delegate
from fivesafes.store.config import DataDir
from ledger.ledger_support import ManualClock

__all__ = ["ManualClock", "World", "account", "application", "delegate", "job_record"]


def account(person_id: str, *roles: Role, today: date, days: int = 365) -> NewAccount:
    return NewAccount(
        person_id=person_id,
        public_name=f"Person {person_id.title()}",
        organisation="Test Trust",
        roles=frozenset(roles),
        expires_on=today + timedelta(days=days),
        trained_on=today - timedelta(days=30),
    )


def application(
    *members: str,
    purpose: Purpose = Purpose.RESEARCH,
    datasets: dict[str, tuple[str, ...]] | None = None,
    title: str = "Asthma admissions after heatwaves",
    repository: str = "https://example.org/asthma-heat",
) -> Application:
    return Application(
        title=title,
        purpose=purpose,
        purpose_description="How heatwaves change asthma admissions.",
        public_benefit="Better heatwave planning for respiratory services.",
        legal_basis="UK GDPR 6(1)(e) and 9(2)(j)",
        datasets=datasets
        or {"patients": ("patient_id", "sex"), "hospital_admissions": ("patient_id",)},
        members=members,
        repository=repository,
        planned_outputs=("counts of admissions by week",),
        organisation="Test University",
    )


def delegate(cp: ControlPlane, custodian: str, approver: str, datasets: Any, people: Any) -> None:
    """Make each of ``people`` a confirmed release delegate of each of ``datasets`` (tokens of a
    custodian, who records, and an approver, who confirms), registering and agreeing a dataset
    the register does not hold yet: what every flow that releases outputs must do first."""
    held, people = {e.dataset for e in register(cp) if not e.deleted}, tuple(people)
    for dataset in datasets:
        if dataset not in held:
            entry = DatasetEntry(
                dataset,
                "Test Trust's information asset owner",
                "DSA-TEST-1",
                Sensitivity.PSEUDONYMISED,
                "UK GDPR 6(1)(e) and 9(2)(j)",
                cp.today() + timedelta(days=3650),
            )
            register_dataset(cp, custodian, entry)
            approve_dataset(cp, approver, dataset)
        for person in people:
            record_delegate(cp, custodian, dataset, person, "owner's letter DEL-TEST-1")
            confirm_delegate(cp, approver, dataset, person)


def job_record(
    cp: ControlPlane,
    data_dir: DataDir,
    job_id: str,
    project_id: str,
    datasets: Iterable[str],
    person: str = "ana",
) -> None:
    """The control plane's record of a succeeded job of the project that read ``datasets``: what
    a release of its outputs is judged against, for a study a test writes by hand. Written by
    the environment's own functions (queued, started, ended ``succeeded``, each in the ledger as
    a worker writes them), so the row cannot drift from the ones real jobs leave."""
    settings = Settings("Test environment")
    env = Environment(data_dir, settings, cp, delivery_for(settings.delivery, data_dir.root))
    job_records.create(
        env,
        job_id,
        project_id=project_id,
        person_id=person,
        purpose="research",
        grant={d: ("patient_id",) for d in datasets},
        action=None,
        study_sha256="0" * 64,
        git=(None, None),
        limits={},
    )
    job_records.start(env, job_id)
    assert job_records.finish(env, job_id, "succeeded", "", ())


@dataclass
class World:
    """A custodian, and people added with their tokens (and signing keys, for deciders)."""

    cp: ControlPlane
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    @classmethod
    def start(cls, cp: ControlPlane) -> World:
        world = cls(cp)
        first = create_account(cp, None, account("cus", Role.DATA_CUSTODIAN, today=cp.today()))
        issued = enrol(cp, first.code)
        world.tokens["cus"] = issued.token
        return world

    def add(self, person_id: str, *roles: Role, days: int = 365, **changes: Any) -> str:
        """Create an account (custodian acting), register a key for deciders; return its token."""
        spec = replace(account(person_id, *roles, today=self.cp.today(), days=days), **changes)
        token = enrol(self.cp, create_account(self.cp, self.tokens["cus"], spec).code).token
        self.tokens[person_id] = token
        if {Role.APPROVER, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN} & set(roles):
            key = Ed25519PrivateKey.generate()
            register_key(self.cp, token, key.public_key())
            self.keys[person_id] = key
        return token
