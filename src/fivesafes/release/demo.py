"""The release path of ``make demo``: request → automatic checks → two reviewers → publish.

The demo environment has no real people, so :func:`demo_people` makes them: an analyst on an
approved demo project, an approver who approved it, and two output checkers with their own
signing keys. Everything still goes through the same gates, signatures and ledger as real use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

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
    register_key,
    submit_project,
)
from fivesafes.release.model import Verdict as Vote
from fivesafes.release.office import ReleaseOffice
from fivesafes.release.publish import Publication, publish_release
from fivesafes.release.requests import check_request_files, request_release
from fivesafes.release.reviews import review_release
from fivesafes.store.config import DataDir

DEMO_PROJECT = "asthma-prevalence-demo"
SAFE_VERSION_EXCEPTION = "Demo: the checker's safe version (small cells suppressed) is published."


@dataclass(frozen=True)
class DemoPeople:
    """Tokens of the demo analyst and the two demo output checkers, with the checkers' keys."""

    analyst: str
    checkers: tuple[tuple[str, Ed25519PrivateKey], ...]


def _person(person_id: str, role: Role, cp: ControlPlane) -> NewAccount:
    return NewAccount(
        person_id=person_id,
        public_name=person_id.replace("-", " ").title(),
        organisation="Demo Environment",
        roles=frozenset({role}),
        expires_on=cp.today() + timedelta(days=365),
        trained_on=cp.today() - timedelta(days=1),
    )


def demo_people(
    cp: ControlPlane, project_id: str = DEMO_PROJECT, custodian_token: str | None = None
) -> DemoPeople:
    """Create the demo's people and approve its project. Without ``custodian_token`` a demo
    custodian is created first, which only works in an environment with no accounts yet."""
    custodian = (
        custodian_token
        or create_account(cp, None, _person("demo-custodian", Role.DATA_CUSTODIAN, cp)).token
    )
    tokens = {
        person: create_account(cp, custodian, _person(person, role, cp)).token
        for person, role in (
            ("demo-analyst", Role.ANALYST),
            ("demo-approver", Role.APPROVER),
            ("demo-checker-a", Role.OUTPUT_CHECKER),
            ("demo-checker-b", Role.OUTPUT_CHECKER),
        )
    }
    deciders = ("demo-approver", "demo-checker-a", "demo-checker-b")
    keys = {person: Ed25519PrivateKey.generate() for person in deciders}
    for person, key in keys.items():
        register_key(cp, tokens[person], key.public_key())
    form = Application(
        title="Asthma prevalence by age, sex and deprivation (demo)",
        purpose=Purpose.RESEARCH,
        purpose_description="How common recorded asthma is, by age band, sex and deprivation.",
        public_benefit="Shows where asthma services are most needed.",
        legal_basis="Demo environment: synthetic data only",
        datasets={
            "patients": ("patient_id", "sex", "date_of_birth", "date_of_death"),
            "practice_registrations": ("patient_id", "start_date", "end_date", "imd_decile"),
            "clinical_events": ("patient_id", "date", "snomedct_code"),
        },
        members=("demo-analyst",),
        repository="examples/asthma-prevalence",
        planned_outputs=("asthma prevalence tables and a chart",),
        organisation="Demo Environment",
    )
    submit_project(cp, tokens["demo-analyst"], project_id, form)
    decide(
        cp,
        tokens["demo-approver"],
        project_id,
        Verdict.APPROVE,
        "Demo project on synthetic data.",
        keys["demo-approver"],
        until=cp.today() + timedelta(days=365),
    )
    checkers = tuple((tokens[p], keys[p]) for p in ("demo-checker-a", "demo-checker-b"))
    return DemoPeople(tokens["demo-analyst"], checkers)


def demo_release(
    data_dir: DataDir,
    study: Path,
    files: Sequence[str],
    project_id: str = DEMO_PROJECT,
    people: DemoPeople | None = None,
) -> Publication:
    """Request ``files`` of the study (already submitted against the store), let the two demo
    checkers approve, publish, and return where the release is."""
    with ControlPlane.open(data_dir) as cp:
        office = ReleaseOffice(cp, data_dir)
        people = people or demo_people(cp, project_id)
        checks = check_request_files(office, project_id, study, files)
        exceptions = {c.path: SAFE_VERSION_EXCEPTION for c in checks if c.needs_exception}
        release_id, _ = request_release(
            office,
            people.analyst,
            project_id,
            study,
            files,
            "Demo: asthma prevalence by age band, sex and deprivation for the public summary.",
            exceptions,
        )
        for token, key in people.checkers:
            review_release(office, token, release_id, Vote.APPROVE, "Checked table and chart.", key)
        return publish_release(office, people.analyst, release_id)


def describe_publication(publication: Publication) -> str:
    """What ``make demo`` prints: where the release is, and each released table in full."""
    lines = [f"released {publication.release_id} to {publication.folder}"]
    for path, digest in publication.files.items():
        lines.append(f"  {path}  sha256 {digest[:16]}…")
        if path.endswith(".csv"):
            text = (publication.folder / path).read_text(encoding="utf-8")
            lines += ["    " + line for line in text.splitlines()]
    lines.append(f"  summary: {publication.folder / 'summary.png'}")
    return "\n".join(lines)
