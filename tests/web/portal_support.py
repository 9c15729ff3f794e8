"""A small world for the portal's tests, made through the environment layer as its people would
make it: an approved project with a real job run in the sandbox and a release of its output
signed by two output checkers and published; a second project still waiting for a decision; a
third sent back for changes and resubmitted. Six people are loaded, so every count of people is
under the disclosure threshold: the catalogue must show none of them exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from environment.environment_support import (
    DEFINITION,
    PROJECT,
    People,
    approved_world,
    open_with_custodian,
)
from environment.library_support import DESCRIBE, METHODS, commit_all
from environment.library_support import EXTRACT_AND_DESCRIBE as STUDY_YAML
from fivesafes.environment import jobs, projects, releases
from fivesafes.governance import Role, Verdict
from fivesafes.release import Verdict as Vote
from fivesafes.store.config import DataDir
from governance.governance_support import application
from jobs.jobs_support import write_project

WAITING, REVISED = "cold-homes", "falls-audit"
OUTPUT = METHODS


@dataclass(frozen=True)
class Portal:
    data_dir: DataDir
    tokens: dict[str, str]
    job_id: str
    release_id: str
    commit: str
    """The study's git commit the job ran."""
    keys: dict[str, bytes]
    """The output checkers' and the approver's signing keys, as the PEM files they keep."""
    repository: Path
    """The study's git repository: what a new application may name, for jobs by commit."""


def build_portal_world(root: Path) -> Portal:
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people = approved_world(open_with_custodian(data_dir), root)
    env, tokens = people.env, people.tokens
    try:
        for checker in ("chk1", "chk2"):
            people.add(checker, Role.OUTPUT_CHECKER)
        people.delegate("chk1", "chk2")
        people.add("bea", Role.ANALYST)  # an analyst on no project, to be refused
        files = {"analysis/study.py": DEFINITION, "analysis/describe.py": DESCRIBE}
        folder = write_project(root / "study", STUDY_YAML, files)
        commit = commit_all(folder, "study")
        job = jobs.wait(env, tokens["ana"], jobs.submit(env, tokens["ana"], PROJECT, folder).job_id)
        assert job.state == "succeeded", job.record.error
        release_id = released(people, PROJECT, job.job_id, OUTPUT)
        projects.apply(env, tokens["ana"], WAITING, application("ana", title="Cold homes and COPD"))
        projects.apply(env, tokens["ana"], REVISED, application("ana", title="Falls audit"))
        val = people.keys["val"]
        projects.decision(env, tokens["val"], REVISED, Verdict.REQUEST_CHANGES, "say more", val)
        projects.revise(env, tokens["ana"], REVISED, application("ana", title="Falls audit"))
        until = env.cp.today() + timedelta(days=60)
        projects.decision(env, tokens["val"], REVISED, Verdict.APPROVE, "fine", val, until)
    finally:
        env.close()
    pems = {c: _pem(people.keys[c]) for c in ("chk1", "chk2", "val")}
    return Portal(data_dir, dict(tokens), job.job_id, release_id, commit, pems, folder)


def released(people: People, project: str, job_id: str, output: str) -> str:
    """``output`` of the job requested by 'ana', approved by output checkers 'chk1' and 'chk2'
    (already added) and published; the release's id."""
    env, tokens = people.env, people.tokens
    checks = releases.check(env, tokens["ana"], project, job_id, [output])
    exceptions = {c.path: "a note of the method, no figures" for c in checks if c.needs_exception}
    made = releases.request(env, tokens["ana"], project, job_id, [output], "report", exceptions)
    for checker in ("chk1", "chk2"):
        releases.review(
            env, tokens[checker], made.release_id, Vote.APPROVE, "ok", people.keys[checker]
        )
    releases.publish(env, tokens["ana"], made.release_id)
    return made.release_id


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
