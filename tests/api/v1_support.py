"""A world for the management API's tests: the API tests' population and accounts, plus an
approver, two output checkers, a second analyst off the project, and project ``heat`` approved
with its study in a git repository the environment can clone (its application names it)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from api_support import World, build_world
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from environment.environment_support import GRANT, PROJECT, People, study
from fivesafes.environment import Environment, projects
from fivesafes.governance import Role, Verdict
from fivesafes.store.config import DataDir
from governance.governance_support import application

V1 = "/api/v1"
FIVESAFES = str(Path(sys.executable).parent / "fivesafes")
PROBLEM = "application/problem+json"
DECIDERS = (("val", Role.APPROVER), ("oc1", Role.OUTPUT_CHECKER), ("oc2", Role.OUTPUT_CHECKER))
OTHERS = (("ben", Role.ANALYST),)
"""``ben``: an analyst on no project. ``pat`` (a patient) is the stranger to all of it."""


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


BY_SEX = """
import csv
from collections import Counter
rows = list(csv.DictReader(open("output/dataset.csv")))
counts = Counter(r["sex"] for r in rows)
with open("output/count.csv", "w") as out:
    out.write("sex,people\\n" + "".join(f"{k},{n}\\n" for k, n in sorted(counts.items())))
"""


def study_repository(folder: Path) -> tuple[Path, str]:
    """The project's study (extract, then people by sex) committed to a new repository."""
    study(folder)
    (folder / "analysis" / "count.py").write_text(BY_SEX)
    git(folder, "init", "--quiet")
    git(folder, "add", ".")
    git(folder, "-c", "user.name=Ana", "-c", "user.email=ana@example.org", "commit", "-qm", "study")
    return folder, git(folder, "rev-parse", "HEAD")


@dataclass
class V1World:
    world: World
    repository: Path
    commit: str
    tokens: dict[str, str]
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_v1_world(root: Path) -> V1World:
    world = build_world(root, n_per_practice=12)  # enough people for counts that pass
    repository, commit = study_repository(root / "repository")
    with Environment.open(world.data_dir) as env:
        people = People(env, dict(world.tokens), custodian="cara")
        for who, role in DECIDERS + OTHERS:
            people.add(who, role)
        form = application("ana", datasets=GRANT)
        form = type(form)(**{**form.__dict__, "repository": str(repository)})
        projects.apply(env, people.tokens["ana"], PROJECT, form)
        until = env.cp.today() + timedelta(days=30)
        val = people.tokens["val"]
        projects.decision(env, val, PROJECT, Verdict.APPROVE, "ok", people.keys["val"], until)
        people.delegate("oc1", "oc2")
    return V1World(world, repository, commit, people.tokens, people.keys)


def problem_of(answer: httpx.Response) -> dict[str, object]:
    """The RFC 9457 body every management error has."""
    assert answer.headers["content-type"].startswith(PROBLEM), answer.text
    body: dict[str, object] = answer.json()
    assert body["status"] == answer.status_code and body["detail"]
    return body


def work_the_queue(data_dir: DataDir) -> None:
    """A real worker, as the environment runs one, until no job is waiting."""
    done = subprocess.run(
        [FIVESAFES, "worker", "--data-dir", str(data_dir.root), "--until-empty", "--poll", "0.2"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def application_form(
    *members: str, repository: str = "https://example.org/study"
) -> dict[str, Any]:
    """The one application form as the API takes it, for the members named."""
    return {
        "title": "Steps and sleep",
        "purpose": "research",
        "purpose_description": "Whether people who walk more sleep longer.",
        "public_benefit": "Better advice on activity.",
        "legal_basis": "UK GDPR 6(1)(e) and 9(2)(j)",
        "datasets": {k: list(v) for k, v in GRANT.items()},
        "members": list(members),
        "repository": repository,
        "planned_outputs": ["people by sex"],
        "organisation": "Test University",
    }
