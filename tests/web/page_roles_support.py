"""A world for the property that no role reaches a signed-in page it lacks: a copy of the
portal's world (its people: custodian 'cus', approver 'val', output checkers 'chk1' and 'chk2',
analyst 'ana' on the approved projects and analyst 'bea' on none) with a project of its own whose
approved application names the study's real repository, so a job can be submitted by commit
(one ran at the study's commit, which the open library holds to reuse), and a draft application
of ana's. Copied so the pages this property posts to (each a success for
someone) leave the other tests' world as it was."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from portal_support import Portal

from environment.environment_support import GRANT
from fivesafes.environment import Environment, applications, jobs, projects
from fivesafes.governance import Verdict
from fivesafes.store.config import DataDir
from fivesafes.web.applying import TEXT
from governance.governance_support import application

PEOPLE = ("cus", "val", "chk1", "chk2", "ana", "bea")
STUDY = "roles-study"
"""The project whose approved application names the study's repository."""


def saved_form(title: str) -> dict[str, Any]:
    """The form the pages post (a project id and a title, nothing else) in the shape the
    environment keeps a draft."""
    empty: dict[str, Any] = {name: "" for name in TEXT}
    return empty | {"title": title, "members": [], "planned_outputs": [], "datasets": {}}


@dataclass(frozen=True)
class RolesWorld:
    data_dir: DataDir
    tokens: dict[str, str]
    keys: dict[str, bytes]
    """The deciders' signing keys as the PEM files they keep (output checkers', approver's)."""
    job_id: str
    release_id: str
    commit: str
    draft_id: str

    def key(self, who: str, usual: str) -> bytes:
        """The key file ``who`` would choose: their own, else ``usual``'s (which is not theirs
        to sign with, for the environment to refuse)."""
        return self.keys.get(who, self.keys[usual])

    def signer(self, who: str, usual: str) -> Ed25519PrivateKey:
        key = load_pem_private_key(self.key(who, usual), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key


def build_roles_world(portal: Portal, root: Path) -> RolesWorld:
    shutil.copytree(portal.data_dir.root, root / "data")
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    tokens = dict(portal.tokens)
    with Environment.open(data_dir) as env:
        form = application(
            "ana", datasets=GRANT, title="Roles study", repository=str(portal.repository)
        )
        projects.apply(env, tokens["ana"], STUDY, form)
        signer = load_pem_private_key(portal.keys["val"], password=None)
        assert isinstance(signer, Ed25519PrivateKey)
        until = env.cp.today() + timedelta(days=30)
        projects.decision(env, tokens["val"], STUDY, Verdict.APPROVE, "ok", signer, until)
        ran = jobs.submit_commit(env, tokens["ana"], STUDY, portal.commit)  # in the library
        assert jobs.wait(env, tokens["ana"], ran.job_id).state == "succeeded"
        draft = applications.save(env, tokens["ana"], None, "roles-draft", saved_form("Roles"))
    return RolesWorld(
        data_dir,
        tokens,
        dict(portal.keys),
        portal.job_id,
        portal.release_id,
        portal.commit,
        draft.draft_id,
    )
