"""The open library's world for the portal's tests: the library world of the environment's
tests (a real job run at one commit of a real repository, with hostile commits around it) and
a release of the job's method note, published after two output checkers approved it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portal_support import released

from environment.codelists_support import GRANT
from environment.environment_support import open_with_custodian
from environment.library_support import METHODS, Library, library_world
from fivesafes.governance import Role
from fivesafes.store.config import DataDir

PROJECT = "codes"


@dataclass(frozen=True)
class LibraryPortal:
    data_dir: DataDir
    tokens: dict[str, str]
    library: Library
    release_id: str

    def commit_page(self, commit: str | None = None) -> str:
        return f"/library/{PROJECT}/{commit or self.library.ran}/"


def build_library_portal(root: Path) -> LibraryPortal:
    people = open_with_custodian(DataDir(root / "data", root / "data" / "keys" / "pseudonym.key"))
    try:
        made = library_world(people, root)
        for checker in ("chk1", "chk2"):
            people.add(checker, Role.OUTPUT_CHECKER)
        people.delegate("chk1", "chk2", datasets=GRANT)
        release_id = released(people, PROJECT, made.job_id, METHODS)
    finally:
        people.env.close()
    return LibraryPortal(people.env.data_dir, dict(people.tokens), made, release_id)
