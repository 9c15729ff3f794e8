"""Closing a project at its end (SATRE 1.4.04): archive, then delete, its outputs and
workspaces, with the deletion in the ledger.

A finished project's released outputs, its release history (the true counts behind what it
released) and its job workspaces are kept no longer than needed, but not destroyed unseen
either: they are first sealed into one archive under the backup key (the organisation keeps it
for as long as its retention policy says, and can destroy the key to destroy it), the archive's
SHA-256 is recorded with the closure — in the control plane and in a public ledger entry — and
only then is every file overwritten and removed. A closed project can do nothing more: its
jobs and release requests are refused, naming the closure
(:func:`fivesafes.governance.project_records.project_problem`).

A kill after the closure is recorded and before the files are gone leaves a closed project
with files still to remove; closing it again removes them and records nothing twice.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fivesafes.environment.backup import BackupError, file_sha256
from fivesafes.environment.decommission import shred
from fivesafes.environment.sealed import SealingWriter
from fivesafes.governance import ControlPlane
from fivesafes.governance.operating_tables import ProjectClosure
from fivesafes.governance.roles import Action
from fivesafes.governance.tables import Project
from fivesafes.release.office import HISTORY_FOLDER, RELEASED_FOLDER
from fivesafes.store.config import DataDir


@dataclass(frozen=True)
class ProjectClosed:
    project_id: str
    archive_sha256: str
    files_removed: int


def project_folders(data_dir: DataDir, project_id: str) -> list[Path]:
    """What the environment itself keeps for a project: its released outputs and history."""
    return [
        data_dir.root / RELEASED_FOLDER / project_id,
        data_dir.root / HISTORY_FOLDER / project_id,
    ]


def _files(folders: dict[str, Path]) -> list[tuple[Path, str]]:
    """Every file of ``folders`` (by the name each has in the archive), with that name."""
    found = []
    for prefix, folder in folders.items():
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    found.append((path, f"{prefix}/{path.relative_to(folder).as_posix()}"))
    return found


def _seal(files: list[tuple[Path, str]], key: bytes, archive: Path) -> str:
    partial = archive.with_name(archive.name + ".partial")
    with partial.open("xb") as raw:
        partial.chmod(0o600)
        sealer = SealingWriter(raw, key)
        with tarfile.open(fileobj=sealer, mode="w|") as tar:  # type: ignore[call-overload]
            for path, name in files:
                tar.add(path, arcname=name, recursive=False)
        sealer.close()
    partial.rename(archive)
    return file_sha256(archive)


def close_project(
    cp: ControlPlane,
    credential: str,
    data_dir: DataDir,
    project_id: str,
    key: bytes,
    archive: Path,
    workspaces: Sequence[Path] = (),
) -> ProjectClosed:
    """Archive ``project_id``'s outputs, history and ``workspaces`` into ``archive`` (sealed
    with ``key``), record the closure, then delete them (a data custodian)."""
    archive = archive.resolve()
    if archive.is_relative_to(data_dir.root):
        raise BackupError("the archive of a closed project must be outside the data directory")
    folders = {
        f.relative_to(data_dir.root).as_posix(): f for f in project_folders(data_dir, project_id)
    }
    folders.update({f"workspaces/{i}-{w.name}": w.resolve() for i, w in enumerate(workspaces)})
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.OPERATE)
        if session.get(Project, project_id) is None:
            raise ValueError(f"no project {project_id}")
        closed = session.get(ProjectClosure, project_id)
    files = _files(folders)
    if closed is None:
        if archive.exists():
            raise BackupError(f"{archive} exists: an archive never overwrites another")
        digest = _seal(files, key, archive)
        with cp.transaction() as session:
            session.add(
                ProjectClosure(
                    project_id=project_id,
                    closed_by=me.person_id,
                    closed_at=cp.now(),
                    archive_sha256=digest,
                )
            )
            subject = {
                "project_id": project_id,
                "change": "closed",
                "archive_sha256": digest,
                "removed": len(files),
            }
            cp.log("project_record", subject, me.person_id)
    else:
        digest = closed.archive_sha256
    for path, _ in files:
        shred(path)
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
    return ProjectClosed(project_id, digest, len(files))
