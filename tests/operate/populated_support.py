"""An environment with something in every part a backup must carry: a store, a control plane
with people and an approved project, a signed release published from it (released files and
their release history), job entries in the ledger, and a pseudonym key on its own volume."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from release_support import PROJECT, SAFE_COUNTS, People, approved_project, counts_csv, held_job

from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import ControlPlane
from fivesafes.release import (
    ReleaseOffice,
    Verdict,
    publish_release,
    request_release,
    review_release,
)
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import create_key


def file_digests(root: Path, *also: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (and of ``also``), by path relative to ``root``."""
    found = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    found.update({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in also})
    return found


@dataclass
class Populated:
    data_dir: DataDir
    people: People
    release_folder: Path


def populate(root: Path, url: str | None = None) -> Populated:
    """Build the environment under ``root``: data in ``root/data``, key in ``root/vault``."""
    data_dir = DataDir(root / "data", root / "vault" / "pseudonym.key")
    create_key(data_dir.key_file)  # as `fivesafes environment init` makes it, with its settings
    with Store.open(data_dir) as store:
        store.con.execute("CHECKPOINT")
    write_settings(data_dir.root, Settings("Test environment"))
    with ControlPlane.open(data_dir, url=url) as cp:
        office = ReleaseOffice(cp, data_dir)
        people = approved_project(office)
        study = held_job(data_dir, cp=cp)
        study.write("output/table.csv", counts_csv(SAFE_COUNTS))
        study.record_job("summarise", ["output/table.csv"])
        rid, _ = request_release(
            office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], "report"
        )
        for checker in ("chk1", "chk2"):
            review_release(
                office, people.token(checker), rid, Verdict.APPROVE, "ok", people.key(checker)
            )
        folder = publish_release(office, people.token("ana"), rid).folder
    return Populated(data_dir, people, folder)
