"""Reuse a study from the open library: give a new project the code of a commit that ran.

An analyst who finds a study in the library (:mod:`.library`) can start a new project with the
same code. The environment makes a new repository under its data directory,
``repositories/<name>.git``, whose one commit (on ``main``) holds the plain files of that commit,
blob by blob, so an application can name it and a job can be fetched from it by commit like any
other. It holds no history: an earlier commit was never public, and may hold what was
committed by mistake. Links and submodules are left out, as in the library's download.

Only analysts may (they are the ones who apply for projects: ``submit_project``); anyone else
is refused, and the refusal logged. It is a recoverable operation (:mod:`fivesafes.ledger
.intents`) whose outcome is a ``reuse`` entry in the ledger, public by project and commit.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment.library import TreeEntry, git_tree, plain_files, ran_commit
from fivesafes.environment.refusals import RefusalKind, Refused, refusing
from fivesafes.environment.studies import run_git, said
from fivesafes.failpoints import failpoint
from fivesafes.governance import Action
from fivesafes.ledger.intents import Intent
from fivesafes.ledger.schema import ENTRY_KINDS

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment
    from fivesafes.store.config import DataDir

REUSED = "repositories"
"""Under the data directory: the repositories a reuse makes, ``<name>.git``."""
REUSE = "reuse"
"""The ledger kind of a reuse: the outcome entry of its recoverable operation."""


@dataclass(frozen=True)
class Reused:
    """A new repository seeded from a commit that ran: where it is and its one commit."""

    repository: str
    project_id: str
    commit: str
    seeded: str
    ledger_index: int


def _git_out(into: Path, *args: str, stdin: bytes | None = None) -> str:
    done = run_git(*args, cwd=into, stdin=stdin)
    if done.returncode != 0:
        raise Refused(f"cannot seed the repository: {said(done)}", RefusalKind.UNAVAILABLE)
    return done.stdout.decode().strip()


def _seed(folder: Path, entries: tuple[TreeEntry, ...], into: Path, note: str) -> str:
    """A new bare repository at ``into`` whose one commit (on ``main``) holds the plain files of
    the listed tree, blob by blob and folder by folder; its commit id."""
    _git_out(into.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(into))
    folders: dict[str, list[str]] = {"": []}
    for entry, data in plain_files(folder, entries):
        blob = _git_out(into, "hash-object", "-w", "--stdin", stdin=data)
        parent, _, name = entry.path.rpartition("/")
        folders.setdefault(parent, []).append(f"{entry.mode} blob {blob}\t{name}")
        while parent:  # each folder above it is a tree too
            parent = parent.rpartition("/")[0]
            folders.setdefault(parent, [])
    made: dict[str, str] = {}
    for path in sorted(folders, key=lambda p: (p != "", p.count("/")), reverse=True):
        subs = [(s, t) for s, t in made.items() if s and s.rpartition("/")[0] == path]
        lines = folders[path] + [f"040000 tree {t}\t{s.rpartition('/')[2]}" for s, t in subs]
        made[path] = _git_out(into, "mktree", "-z", stdin="".join(f"{x}\0" for x in lines).encode())
    who = ("-c", "user.name=fivesafes library", "-c", "user.email=library@fivesafes.invalid")
    seeded = _git_out(into, *who, "commit-tree", made[""], "-m", note)
    _git_out(into, "update-ref", "refs/heads/main", seeded)
    return seeded


def reuse(env: Environment, credential: str, project_id: str, commit: str) -> Reused:
    """Give a new project the code of a commit that ran: a new repository under the data
    directory holding that commit's files as its one commit, for an application to name. For
    analysts (who apply for projects); refused, and logged, for anyone else.

    A recoverable operation: the repository is made in a staging folder (noted in the lock
    first), the ``intent`` is logged, the folder is renamed into place, and the ``reuse``
    entry logged; recovery settles a kill in between by whether the repository is there."""
    with refusing(env.cp, "reuse_study"):
        with env.cp.transaction() as session:
            me = env.cp.authenticate(session, credential, Action.SUBMIT_PROJECT)
        ran_commit(env, project_id, commit)
        folder, entries = git_tree(env, project_id, commit)
        name = f"{project_id}-{commit[:12]}-{secrets.token_hex(4)}"
        root = env.data_dir.root / REUSED
        root.mkdir(mode=0o700, exist_ok=True)
        final = root / f"{name}.git"
        resolve = partial(reuse_committed, env.data_dir)
        with env.cp.operation(REUSE, name, resolve) as operation:
            staging = operation.scratch(root / f".{name}.staging")
            note = f"The study of project {project_id} at commit {commit}, from its open library"
            seeded = _seed(folder, entries, staging, note)
            subject = ENTRY_KINDS[REUSE].subject(
                project_id=project_id, commit=commit, repository=name, seeded=seeded
            )
            operation.intend(subject, me.person_id)
            failpoint("reuse.after-intent")
            staging.rename(final)
            failpoint("reuse.after-rename")
            receipt = operation.commit()
        return Reused(str(final), project_id, commit, seeded, receipt.index)


def reuse_committed(data_dir: DataDir, intent: Intent) -> bool:
    """Recovery's look: is the repository an intent announced in place? If not, its staging
    folder is removed, so an abandoned reuse leaves nothing behind."""
    name = str(intent.outcome["repository"])
    root = data_dir.root / REUSED
    if (root / f"{name}.git").is_dir():
        return True
    shutil.rmtree(root / f".{name}.staging", ignore_errors=True)
    return False
